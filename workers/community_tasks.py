"""The community's scheduled jobs: recompute every member's trust level from reputation
and activity (what links, images and posts a day each may use), and renew premium group
memberships whose paid time has run out (or end them). Thin: they call the community's service."""

from __future__ import annotations

from typing import Any

from taskiq import AsyncBroker, AsyncTaskiqDecoratedTask

from dracarys import community
from workers.broker import PlatformJob, register_cron_jobs

RECOMPUTE_TRUST_LEVELS = "community.recompute_trust_levels"
RENEW_PREMIUM_MEMBERSHIPS = "community.renew_premium_memberships"

_JOBS: dict[str, tuple[PlatformJob, str]] = {
    # Hourly: a member who earned a level gets it within the hour.
    RECOMPUTE_TRUST_LEVELS: (community.recompute_trust_levels, "43 * * * *"),
    # Every five minutes: a premium membership renews in the last hour of its paid time
    # (so a few missed runs leave no gap), and a lapsed one leaves the group within five
    # minutes (access itself ends the instant the paid time does).
    RENEW_PREMIUM_MEMBERSHIPS: (community.renew_premium_memberships, "*/5 * * * *"),
}


def register_community_tasks(
    broker: AsyncBroker,
) -> dict[str, AsyncTaskiqDecoratedTask[Any, Any]]:
    return register_cron_jobs(broker, _JOBS)
