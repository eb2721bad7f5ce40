"""The SQL of withdrawal holds."""

from __future__ import annotations

import uuid
from datetime import datetime

from dracarys.db import Connection, record_or_none, records
from dracarys.wallet.holds.models import WithdrawalHold

_COLUMNS = "id, user_id, reason, reference, placed_at, released_at"


async def insert_hold(
    conn: Connection,
    *,
    hold_id: uuid.UUID,
    user_id: uuid.UUID,
    reason: str,
    reference: str,
    now: datetime,
) -> WithdrawalHold | None:
    """The new hold, or None when this (user, reference) already has an active one."""
    row = await conn.fetchrow(
        f"""INSERT INTO withdrawal_holds (id, user_id, reason, reference, placed_at)
            VALUES ($1, $2, $3, $4, $5)
            ON CONFLICT (user_id, reference) WHERE released_at IS NULL DO NOTHING
            RETURNING {_COLUMNS}""",
        hold_id,
        user_id,
        reason,
        reference,
        now,
    )
    return record_or_none(WithdrawalHold, row)


async def release_hold(
    conn: Connection, user_id: uuid.UUID, reference: str, now: datetime
) -> WithdrawalHold | None:
    row = await conn.fetchrow(
        f"""UPDATE withdrawal_holds SET released_at = $3
            WHERE user_id = $1 AND reference = $2 AND released_at IS NULL
            RETURNING {_COLUMNS}""",
        user_id,
        reference,
        now,
    )
    return record_or_none(WithdrawalHold, row)


async def active_holds(conn: Connection, user_id: uuid.UUID) -> list[WithdrawalHold]:
    rows = await conn.fetch(
        f"""SELECT {_COLUMNS} FROM withdrawal_holds
            WHERE user_id = $1 AND released_at IS NULL ORDER BY placed_at""",
        user_id,
    )
    return records(WithdrawalHold, rows)
