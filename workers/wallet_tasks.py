"""The wallet's scheduled jobs: escrow auto-release, holdback release, weekly payouts,
their retries and the reconciliation of those in flight past the deadline, M-Pesa status
queries for lost callbacks and pending-transfer expiry (the monthly mentor bonus is
`workers.mentor_bonus_tasks`). Thin: each calls one wallet service."""

from __future__ import annotations

from typing import Any

from taskiq import AsyncBroker, AsyncTaskiqDecoratedTask

from dracarys.db import Connection
from dracarys.outbox import Event
from dracarys.wallet import escrow, payouts, service
from workers.broker import Delivery, PlatformJob, register_cron_jobs

_JOBS: dict[str, tuple[PlatformJob, str]] = {
    "wallet.release_due_escrows": (escrow.release_due_escrows, "*/5 * * * *"),
    "wallet.release_due_holdbacks": (escrow.release_due_holdbacks, "19 * * * *"),
    "wallet.weekly_payouts": (payouts.run_weekly_payouts, "0 6 * * 1"),
    "wallet.retry_payouts": (payouts.retry_due_payouts, "*/10 * * * *"),
    "wallet.reconcile_payouts": (payouts.reconcile_payouts_in_flight, "*/5 * * * *"),
    "wallet.settle_stale_mpesa": (service.settle_stale_mpesa_deposits, "*/2 * * * *"),
    "wallet.expire_pending_transfers": (service.expire_timed_out_transfers, "*/15 * * * *"),
}


def register_wallet_tasks(broker: AsyncBroker) -> dict[str, AsyncTaskiqDecoratedTask[Any, Any]]:
    return register_cron_jobs(broker, _JOBS)


async def on_points_redeemed_for_credit(conn: Connection, event: Event, delivery: Delivery) -> None:
    """Consumer `wallet.points_credit`: redeemed points land as wallet credit."""
    await service.on_points_redeemed_for_credit(conn, event, delivery.platform.clock.now())
