"""The wallet's scheduled jobs: escrow auto-release, holdback release, weekly payouts,
their retries and the reconciliation of those in flight past the deadline, M-Pesa status
queries for lost callbacks, failing card deposits whose checkout never opened, and
pending-transfer expiry (the monthly mentor bonus is `workers.mentor_bonus_tasks`). Thin:
each calls one wallet service. And the wallet's consumer of redeemed points."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import msgspec
from taskiq import AsyncBroker, AsyncTaskiqDecoratedTask

from dracarys import points, wallet
from dracarys.db import Connection
from dracarys.outbox import Event
from dracarys.platform import Platform
from workers.broker import PlatformJob, register_cron_jobs
from workers.social_tasks import weekly_payouts

_JOBS: dict[str, tuple[PlatformJob, str]] = {
    "wallet.release_due_escrows": (wallet.release_due_escrows, "*/5 * * * *"),
    "wallet.release_due_holdbacks": (wallet.release_due_holdbacks, "19 * * * *"),
    # Mentors' balances and affiliates' commissions (see `workers.social_tasks`).
    "wallet.weekly_payouts": (weekly_payouts, "0 6 * * 1"),
    "wallet.retry_payouts": (wallet.retry_due_payouts, "*/10 * * * *"),
    "wallet.reconcile_payouts": (wallet.reconcile_payouts_in_flight, "*/5 * * * *"),
    "wallet.settle_stale_mpesa": (wallet.settle_stale_mpesa_deposits, "*/2 * * * *"),
    "wallet.fail_unopened_card_deposits": (wallet.fail_unopened_card_deposits, "*/5 * * * *"),
    "wallet.expire_pending_transfers": (wallet.expire_timed_out_transfers, "*/15 * * * *"),
}


def register_wallet_tasks(broker: AsyncBroker) -> dict[str, AsyncTaskiqDecoratedTask[Any, Any]]:
    return register_cron_jobs(broker, _JOBS)


async def credit_redeemed_points(
    conn: Connection, platform: Platform, batch: Sequence[Event]
) -> None:
    """Consumer `wallet.points_credit`: each released redemption (points' payload) lands
    in the wallet once, and the wallet answers `points.credit_landed`."""
    for event in batch:
        redeemed = msgspec.convert(event.payload, points.PointsRedeemedForCredit)
        await wallet.credit_redeemed_points(
            conn,
            user_id=uuid.UUID(redeemed.user_id),
            redemption_id=uuid.UUID(redeemed.redemption_id),
            amount_minor=redeemed.amount_minor,
            currency=redeemed.currency,
            purpose=redeemed.purpose,
            now=platform.clock.now(),
        )
