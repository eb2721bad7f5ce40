"""The wallet's scheduled jobs: escrow auto-release, holdback release, weekly payouts and
their retries, M-Pesa status queries for lost callbacks, pending-transfer expiry and the
monthly mentor bonus. Thin: each calls one wallet service."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from taskiq import AsyncBroker, AsyncTaskiqDecoratedTask, Context, TaskiqDepends

from dracarys.db import Connection
from dracarys.messaging.service import delivery_platform
from dracarys.outbox import Event
from dracarys.platform import Platform
from dracarys.wallet import escrow, service

_JOBS: dict[str, tuple[Callable[[Platform], Awaitable[Any]], str]] = {
    "wallet.release_due_escrows": (escrow.release_due_escrows, "*/5 * * * *"),
    "wallet.release_due_holdbacks": (escrow.release_due_holdbacks, "19 * * * *"),
    "wallet.weekly_payouts": (service.run_weekly_payouts, "0 6 * * 1"),
    "wallet.retry_payouts": (service.retry_due_payouts, "*/10 * * * *"),
    "wallet.settle_stale_mpesa": (service.settle_stale_mpesa_deposits, "*/2 * * * *"),
    "wallet.expire_pending_transfers": (service.expire_timed_out_transfers, "*/15 * * * *"),
    "wallet.mentor_bonuses": (service.run_monthly_mentor_bonuses, "0 7 1 * *"),
}


def _task(job: Callable[[Platform], Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    async def run(context: Annotated[Context, TaskiqDepends()]) -> Any:
        platform: Platform = context.state.platform
        result = await job(platform)
        return result if isinstance(result, int) else len(result)

    run.__name__ = job.__name__
    return run


def register_wallet_tasks(broker: AsyncBroker) -> dict[str, AsyncTaskiqDecoratedTask[Any, Any]]:
    return {
        name: broker.register_task(_task(job), task_name=name, schedule=[{"cron": cron}])
        for name, (job, cron) in _JOBS.items()
    }


async def on_points_redeemed_for_credit(conn: Connection, event: Event) -> None:
    """Consumer `wallet.points_credit`: redeemed points land as wallet credit."""
    await service.on_points_redeemed_for_credit(conn, event, delivery_platform().clock.now())
