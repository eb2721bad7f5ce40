"""Withdrawal holds, inside the caller's transaction: another domain places one under its
own reference and releases it by the same reference; the payouts service refuses to open
a payout while any is active (`refuse_if_held`)."""

from __future__ import annotations

import uuid
from datetime import datetime

from dracarys.db import Connection, xact_lock
from dracarys.errors import Conflict
from dracarys.wallet.holds import store
from dracarys.wallet.holds.models import WithdrawalHold


class WithdrawalsHeld(Conflict):
    """The user's withdrawals are held (a 409 naming the wallet)."""


async def place_withdrawal_hold(
    conn: Connection, user_id: uuid.UUID, reason: str, reference: str, *, now: datetime
) -> bool:
    """Hold the user's withdrawals until `reference` releases them; True if this placed
    a new hold, False if one under this reference was already active."""
    # Taken by a withdrawal too: a hold placed while one is being opened waits for it.
    await xact_lock(conn, "withdraw-limit", user_id)
    placed = await store.insert_hold(
        conn, hold_id=uuid.uuid4(), user_id=user_id, reason=reason, reference=reference, now=now
    )
    return placed is not None


async def release_withdrawal_hold(
    conn: Connection, user_id: uuid.UUID, reference: str, *, now: datetime
) -> bool:
    """Release the hold placed under `reference`; True if one was active."""
    return await store.release_hold(conn, user_id, reference, now) is not None


async def withdrawal_holds(conn: Connection, user_id: uuid.UUID) -> list[WithdrawalHold]:
    """The user's active holds, oldest first."""
    return await store.active_holds(conn, user_id)


async def refuse_if_held(conn: Connection, user_id: uuid.UUID) -> None:
    if await store.active_holds(conn, user_id):
        raise WithdrawalsHeld(
            "Withdrawals from this wallet are on hold while our compliance team reviews "
            "recent activity. We will release them as soon as the review is done.",
            field="wallet_id",
        )
