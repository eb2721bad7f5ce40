"""Funnels over the analytics event stream, in polars: a member enters at their first
event of the first step inside the period, and reaches each next step at their first event
of that step's topic no earlier than the step before, within `window` of entering. One
join per step, over all members at once."""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl


def funnel_counts(
    events: pl.DataFrame,
    steps: list[str],
    since: datetime,
    until: datetime,
    window: timedelta,
) -> list[int]:
    """How many members reached each step, in order. `events` has user_id, topic and
    occurred_at columns."""
    people = events.filter(pl.col("user_id").is_not_null())
    reached = (
        people.filter(
            pl.col("topic") == steps[0],
            pl.col("occurred_at") >= since,
            pl.col("occurred_at") < until,
        )
        .group_by("user_id")
        .agg(pl.col("occurred_at").min().alias("entered_at"))
        .with_columns(pl.col("entered_at").alias("at"))
    )
    counts = [reached.height]
    for topic in steps[1:]:
        reached = (
            reached.join(
                people.filter(pl.col("topic") == topic).select("user_id", "occurred_at"),
                on="user_id",
            )
            .filter(
                pl.col("occurred_at") >= pl.col("at"),
                pl.col("occurred_at") <= pl.col("entered_at") + window,
            )
            .group_by("user_id", "entered_at")
            .agg(pl.col("occurred_at").min().alias("at"))
        )
        counts.append(reached.height)
    return counts
