"""The admin domain's scheduled job: the last hour's points issuance against the same
hour of the 14 days before, alerting staff when unusual. Thin: it calls admin's service."""

from __future__ import annotations

from typing import Any

from taskiq import AsyncBroker, AsyncTaskiqDecoratedTask

from dracarys import admin
from workers.broker import PlatformJob, register_cron_jobs

CHECK_POINTS_ISSUANCE = "admin.check_points_issuance"

_JOBS: dict[str, tuple[PlatformJob, str]] = {
    # Five minutes past each hour: the hour just ended, its awards tallied by then.
    CHECK_POINTS_ISSUANCE: (admin.check_points_issuance, "5 * * * *"),
}


def register_admin_tasks(broker: AsyncBroker) -> dict[str, AsyncTaskiqDecoratedTask[Any, Any]]:
    return register_cron_jobs(broker, _JOBS)
