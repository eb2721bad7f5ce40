"""The social domain's scheduled jobs: re-check verified follows on the platforms whose
APIs can answer (a follow found gone is revoked and its points taken back). Thin: one
social service."""

from __future__ import annotations

from typing import Any

from taskiq import AsyncBroker, AsyncTaskiqDecoratedTask

from dracarys.social import recheck_follows
from workers.broker import PlatformJob, register_cron_jobs

RECHECK_FOLLOWS = "social.recheck_follows"

_JOBS: dict[str, tuple[PlatformJob, str]] = {
    # Hourly: each follow is due `DRACARYS_SOCIAL_RECHECK_HOURS` after its last check, so
    # the checks spread over the day instead of arriving together.
    RECHECK_FOLLOWS: (recheck_follows, "31 * * * *"),
}


def register_social_tasks(broker: AsyncBroker) -> dict[str, AsyncTaskiqDecoratedTask[Any, Any]]:
    return register_cron_jobs(broker, _JOBS)
