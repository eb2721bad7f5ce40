"""The points domain's background side: its outbox consumers (given the delivering
worker's platform) and its scheduled jobs — post pending awards whose refund window
closed, release held redemptions, expire stale points, refresh rolling tiers, flag
shared-device clusters and reconcile the ledger. Thin: each calls one points service."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from taskiq import AsyncBroker, AsyncTaskiqDecoratedTask

from dracarys.db import Connection
from dracarys.outbox import Event
from dracarys.points import handlers, notifications, reconcile, service
from workers.broker import Delivery, PlatformJob, register_cron_jobs

POST_PENDING = "points.post_pending"
RELEASE_REDEMPTIONS = "points.release_redemptions"
EXPIRE = "points.expire"
REFRESH_TIERS = "points.refresh_tiers"
FLAG_CLUSTERS = "points.flag_clusters"
RECONCILE = "points.reconcile"

_JOBS: dict[str, tuple[PlatformJob, str]] = {
    POST_PENDING: (service.post_due_pending, "*/10 * * * *"),
    RELEASE_REDEMPTIONS: (service.release_held_redemptions, "7 * * * *"),
    EXPIRE: (service.expire_points, "23 2 * * *"),
    REFRESH_TIERS: (service.refresh_tiers, "41 2 * * *"),
    FLAG_CLUSTERS: (service.flag_shared_clusters, "13 * * * *"),
    RECONCILE: (reconcile.reconcile, "5 3 * * *"),
}


async def on_points_event(conn: Connection, event: Event, delivery: Delivery) -> None:
    """Consumer `points.award`: awards, voids, logins, badges, wallet feedback."""
    await handlers.handle_event(conn, delivery.platform, event)


async def on_points_events(conn: Connection, batch: Sequence[Event], delivery: Delivery) -> None:
    """The same consumer, a whole batch at once (set-based awards)."""
    await handlers.handle_events(conn, delivery.platform, batch)


async def on_points_awarded(conn: Connection, event: Event, delivery: Delivery) -> None:
    """Consumer `points.leaderboard`: `points.awarded` → leaderboards."""
    await handlers.count_award(conn, delivery.platform, event)


async def on_points_awarded_batch(
    conn: Connection, batch: Sequence[Event], delivery: Delivery
) -> None:
    await handlers.count_awards(conn, delivery.platform, batch)


async def on_points_awarded_notify(conn: Connection, event: Event, delivery: Delivery) -> None:
    """Consumer `points.notify`: award e-mails and live notifications."""
    await notifications.notify_awards(conn, delivery.platform, [event])


async def on_points_awarded_notify_batch(
    conn: Connection, batch: Sequence[Event], delivery: Delivery
) -> None:
    await notifications.notify_awards(conn, delivery.platform, batch)


def register_points_tasks(broker: AsyncBroker) -> dict[str, AsyncTaskiqDecoratedTask[Any, Any]]:
    return register_cron_jobs(broker, _JOBS)
