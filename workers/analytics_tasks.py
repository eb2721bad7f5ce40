"""Analytics' scheduled job: every night, the day that has just ended goes to the
warehouse folder as Hive-partitioned Parquet (see `dracarys.analytics` for the layout)."""

from __future__ import annotations

from typing import Any

from taskiq import AsyncBroker, AsyncTaskiqDecoratedTask

from dracarys import analytics
from workers.broker import PlatformJob, register_cron_jobs

EXPORT_WAREHOUSE_DAY = "analytics.export_warehouse_day"

_JOBS: dict[str, tuple[PlatformJob, str]] = {
    # After midnight UTC, once the outbox relay has had time to deliver the day's events.
    EXPORT_WAREHOUSE_DAY: (analytics.export_yesterday, "20 2 * * *"),
}


def register_analytics_tasks(
    broker: AsyncBroker,
) -> dict[str, AsyncTaskiqDecoratedTask[Any, Any]]:
    return register_cron_jobs(broker, _JOBS)
