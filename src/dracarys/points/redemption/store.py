"""SQL of redemptions and of the credits owed to the wallet for released ones."""

from __future__ import annotations

import uuid
from datetime import datetime

from dracarys.db import Connection, record_or_none, records
from dracarys.points.redemption.models import RedemptionRecord

_COLUMNS = (
    "id, user_id, points, target, target_ref, value_minor, currency, status, discount_code, "
    "request_hash, created_at, release_at, discount_expires_at"
)


async def redemption_by_key(
    conn: Connection, user_id: uuid.UUID, key: str
) -> RedemptionRecord | None:
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM points_redemptions WHERE user_id = $1 AND idempotency_key = $2",
        user_id,
        key,
    )
    return record_or_none(RedemptionRecord, row)


async def redemptions_of_user(
    conn: Connection, user_id: uuid.UUID, limit: int
) -> list[RedemptionRecord]:
    rows = await conn.fetch(
        f"""SELECT {_COLUMNS} FROM points_redemptions WHERE user_id = $1
            ORDER BY created_at DESC, id DESC LIMIT $2""",
        user_id,
        limit,
    )
    return records(RedemptionRecord, rows)


async def insert_redemption(
    conn: Connection,
    *,
    id: uuid.UUID,
    user_id: uuid.UUID,
    points: int,
    target: str,
    target_ref: str | None,
    value_minor: int,
    currency: str,
    status: str,
    discount_code: str | None,
    discount_expires_at: datetime | None,
    idempotency_key: str,
    request_hash: str,
    created_at: datetime,
    release_at: datetime | None,
) -> RedemptionRecord | None:
    """The new redemption; None if the user has one under the key already."""
    row = await conn.fetchrow(
        f"""INSERT INTO points_redemptions (id, user_id, points, target, target_ref, value_minor,
                                            currency, status, discount_code, idempotency_key,
                                            request_hash, created_at, release_at,
                                            discount_expires_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
            ON CONFLICT (user_id, idempotency_key) DO NOTHING RETURNING {_COLUMNS}""",
        id,
        user_id,
        points,
        target,
        target_ref,
        value_minor,
        currency,
        status,
        discount_code,
        idempotency_key,
        request_hash,
        created_at,
        release_at,
        discount_expires_at,
    )
    return record_or_none(RedemptionRecord, row)


async def set_redemption_entry(
    conn: Connection, redemption_id: uuid.UUID, entry_id: uuid.UUID
) -> None:
    await conn.execute(
        "UPDATE points_redemptions SET ledger_entry_id = $2 WHERE id = $1", redemption_id, entry_id
    )


async def due_held_redemptions(
    conn: Connection, now: datetime, limit: int
) -> list[RedemptionRecord]:
    """Held redemptions whose hold is over, locked; those another run holds are skipped."""
    rows = await conn.fetch(
        f"""SELECT {_COLUMNS} FROM points_redemptions WHERE status = 'held' AND release_at <= $1
            ORDER BY release_at LIMIT $2 FOR UPDATE SKIP LOCKED""",
        now,
        limit,
    )
    return records(RedemptionRecord, rows)


async def release_redemption(conn: Connection, redemption_id: uuid.UUID, at: datetime) -> None:
    await conn.execute(
        "UPDATE points_redemptions SET status = 'released', released_at = $2 WHERE id = $1",
        redemption_id,
        at,
    )


async def insert_wallet_credit(
    conn: Connection,
    *,
    redemption_id: uuid.UUID,
    user_id: uuid.UUID,
    amount_minor: int,
    currency: str,
    purpose: str,
    at: datetime,
) -> None:
    await conn.execute(
        """INSERT INTO points_wallet_credits (redemption_id, user_id, amount_minor, currency,
                                              purpose, created_at)
           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING""",
        redemption_id,
        user_id,
        amount_minor,
        currency,
        purpose,
        at,
    )


async def mark_credit_landed(conn: Connection, redemption_id: uuid.UUID, at: datetime) -> bool:
    status = await conn.execute(
        """UPDATE points_wallet_credits SET status = 'landed', landed_at = $2
           WHERE redemption_id = $1 AND status = 'pending'""",
        redemption_id,
        at,
    )
    return status.endswith(" 1")
