"""Analytics' scheduled jobs: every night, the day that has just ended goes to the
warehouse folder as Hive-partitioned Parquet (see `dracarys.analytics` for the layout);
every ten minutes, the KPIs' columnar cache takes in the events settled since."""

from __future__ import annotations

from typing import Any

from taskiq import AsyncBroker, AsyncTaskiqDecoratedTask

from dracarys import analytics
from workers.broker import PlatformJob, register_cron_jobs

EXPORT_WAREHOUSE_DAY = "analytics.export_warehouse_day"
WARM_FACT_CACHE = "analytics.warm_fact_cache"

_JOBS: dict[str, tuple[PlatformJob, str]] = {
    # After midnight UTC, once the outbox relay has had time to deliver the day's events.
    EXPORT_WAREHOUSE_DAY: (analytics.export_yesterday, "20 2 * * *"),
    # The first dashboard after a deploy would otherwise read every event from PostgreSQL
    # (about 30 s at 10 million); the data folder is shared by the API and the workers.
    WARM_FACT_CACHE: (analytics.warm_fact_cache, "*/10 * * * *"),
}


def register_analytics_tasks(
    broker: AsyncBroker,
) -> dict[str, AsyncTaskiqDecoratedTask[Any, Any]]:
    return register_cron_jobs(broker, _JOBS)
