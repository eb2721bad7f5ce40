"""The points domain's scheduled jobs: post pending awards whose refund window closed,
release held redemptions, expire stale points, refresh rolling tiers, flag shared-device
clusters and reconcile the ledger. Thin: each is one points service. (Its outbox
consumers are listed in `workers.consumers`.)"""

from __future__ import annotations

from typing import Any

from taskiq import AsyncBroker, AsyncTaskiqDecoratedTask

from dracarys import points
from workers.broker import PlatformJob, register_cron_jobs

POST_PENDING = "points.post_pending"
RELEASE_REDEMPTIONS = "points.release_redemptions"
EXPIRE = "points.expire"
REFRESH_TIERS = "points.refresh_tiers"
FLAG_CLUSTERS = "points.flag_clusters"
RECONCILE = "points.reconcile"

_JOBS: dict[str, tuple[PlatformJob, str]] = {
    POST_PENDING: (points.post_due_pending, "*/10 * * * *"),
    RELEASE_REDEMPTIONS: (points.release_held_redemptions, "7 * * * *"),
    EXPIRE: (points.expire_points, "23 2 * * *"),
    REFRESH_TIERS: (points.refresh_tiers, "41 2 * * *"),
    FLAG_CLUSTERS: (points.flag_shared_clusters, "13 * * * *"),
    RECONCILE: (points.reconcile, "5 3 * * *"),
}


def register_points_tasks(broker: AsyncBroker) -> dict[str, AsyncTaskiqDecoratedTask[Any, Any]]:
    return register_cron_jobs(broker, _JOBS)
