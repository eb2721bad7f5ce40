"""The SQL of Stripe's events seen, card refunds and chargebacks."""

from __future__ import annotations

import uuid
from datetime import datetime

from dracarys.db import Connection, record, record_or_none, records
from dracarys.wallet.cards.models import CardRefund, Chargeback

# ---- Stripe events --------------------------------------------------------------------


async def record_stripe_event(
    conn: Connection, event_id: str, event_type: str, now: datetime
) -> bool:
    """True the first time an event id is seen; a concurrent duplicate waits for the
    first insert to commit and then sees it."""
    inserted = await conn.fetchval(
        """INSERT INTO stripe_events (id, type, received_at) VALUES ($1, $2, $3)
           ON CONFLICT (id) DO NOTHING RETURNING true""",
        event_id,
        event_type,
        now,
    )
    return bool(inserted)


# ---- card refunds ---------------------------------------------------------------------


async def insert_card_refund(
    conn: Connection,
    *,
    refund_id: uuid.UUID,
    deposit_id: uuid.UUID,
    amount_minor: int,
    currency: str,
    pending_transfer_id: uuid.UUID,
    now: datetime,
) -> None:
    await conn.execute(
        """INSERT INTO stripe_refunds (id, deposit_id, amount_minor, currency, status,
               pending_transfer_id, created_at, updated_at)
           VALUES ($1, $2, $3, $4, 'pending', $5, $6, $6)""",
        refund_id,
        deposit_id,
        amount_minor,
        currency,
        pending_transfer_id,
        now,
    )


async def lock_card_refund(conn: Connection, refund_id: uuid.UUID) -> CardRefund | None:
    row = await conn.fetchrow(
        """SELECT r.id, r.deposit_id, r.amount_minor, r.currency, r.status,
                  r.pending_transfer_id, d.user_id
           FROM stripe_refunds r JOIN wallet_deposits d ON d.id = r.deposit_id
           WHERE r.id = $1 FOR UPDATE OF r""",
        refund_id,
    )
    return record_or_none(CardRefund, row)


async def set_card_refund(
    conn: Connection,
    refund_id: uuid.UUID,
    *,
    status: str,
    stripe_refund_id: str | None,
    now: datetime,
) -> None:
    await conn.execute(
        """UPDATE stripe_refunds SET status = $2,
               stripe_refund_id = coalesce($3, stripe_refund_id), updated_at = $4
           WHERE id = $1""",
        refund_id,
        status,
        stripe_refund_id,
        now,
    )


async def refunded_of_deposit(conn: Connection, deposit_id: uuid.UUID) -> int:
    return int(
        await conn.fetchval(
            """SELECT coalesce(sum(amount_minor), 0) FROM stripe_refunds
               WHERE deposit_id = $1 AND status <> 'failed'""",
            deposit_id,
        )
    )


# ---- chargebacks ----------------------------------------------------------------------

_CHARGEBACK_COLUMNS = (
    "id, deposit_id, user_id, amount_minor, currency, reason, status, held_minor,"
    " hold_transfer_id, unrecovered_minor, created_at, updated_at"
)


async def lock_chargeback(conn: Connection, chargeback_id: str) -> Chargeback | None:
    row = await conn.fetchrow(
        f"SELECT {_CHARGEBACK_COLUMNS} FROM card_chargebacks WHERE id = $1 FOR UPDATE",
        chargeback_id,
    )
    return record_or_none(Chargeback, row)


async def insert_chargeback(
    conn: Connection,
    *,
    chargeback_id: str,
    deposit_id: uuid.UUID,
    user_id: uuid.UUID,
    amount_minor: int,
    currency: str,
    reason: str,
    held_minor: int,
    hold_transfer_id: uuid.UUID | None,
    now: datetime,
) -> Chargeback:
    row = await conn.fetchrow(
        f"""INSERT INTO card_chargebacks (id, deposit_id, user_id, amount_minor, currency,
               reason, status, held_minor, hold_transfer_id, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, 'open', $7, $8, $9, $9)
           RETURNING {_CHARGEBACK_COLUMNS}""",
        chargeback_id,
        deposit_id,
        user_id,
        amount_minor,
        currency,
        reason,
        held_minor,
        hold_transfer_id,
        now,
    )
    assert row is not None  # INSERT ... RETURNING always returns the row
    return record(Chargeback, row)


async def close_chargeback(
    conn: Connection, chargeback_id: str, *, status: str, unrecovered_minor: int, now: datetime
) -> None:
    await conn.execute(
        """UPDATE card_chargebacks SET status = $2, unrecovered_minor = $3, updated_at = $4
            WHERE id = $1""",
        chargeback_id,
        status,
        unrecovered_minor,
        now,
    )


async def recent_chargebacks(conn: Connection, limit: int) -> list[Chargeback]:
    """Open chargebacks first, then the most recently changed."""
    rows = await conn.fetch(
        f"""SELECT {_CHARGEBACK_COLUMNS} FROM card_chargebacks
            ORDER BY status <> 'open', updated_at DESC LIMIT $1""",
        limit,
    )
    return records(Chargeback, rows)
