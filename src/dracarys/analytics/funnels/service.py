"""Funnels with steps chosen on the page: any ordered list of the stream's topics."""

from __future__ import annotations

from datetime import timedelta

from dracarys.analytics.events.service import ANALYTICS_TOPICS, current_fact_frame
from dracarys.analytics.funnels.compute import funnel_counts
from dracarys.analytics.funnels.models import Funnel, FunnelQuery, FunnelStep
from dracarys.analytics.kpis.compute import ratio
from dracarys.errors import InvalidInput
from dracarys.platform import Platform

MAX_STEPS = 8


def check_query(query: FunnelQuery) -> None:
    """The query's bounds (taken from the URL, so not checked by the body decoder) and
    that every step is a topic of the stream."""
    if not 2 <= len(query.steps) <= MAX_STEPS:
        raise InvalidInput(f"Choose two to {MAX_STEPS} steps.", field="steps")
    for index, topic in enumerate(query.steps):
        if topic not in ANALYTICS_TOPICS:
            raise InvalidInput(
                f"Step {index + 1} is not an event analytics records: choose one of the "
                "listed events.",
                field=f"steps[{index}]",
            )
    if query.until <= query.since:
        raise InvalidInput("The period must end after it starts.", field="until")


async def funnel(platform: Platform, query: FunnelQuery) -> Funnel:
    check_query(query)
    window = timedelta(days=query.window_days)
    events = await current_fact_frame(platform, query.until + window)
    counts = funnel_counts(events, query.steps, query.since, query.until, window)
    return Funnel(
        since=query.since,
        until=query.until,
        window_days=query.window_days,
        steps=[
            FunnelStep(
                topic=topic,
                members=members,
                from_previous=ratio(members, counts[index - 1]) if index else None,
                from_first=ratio(members, counts[0]),
            )
            for index, (topic, members) in enumerate(zip(query.steps, counts, strict=True))
        ],
    )


def topics() -> list[str]:
    """The topics a funnel step may be, sorted."""
    return sorted(ANALYTICS_TOPICS)
