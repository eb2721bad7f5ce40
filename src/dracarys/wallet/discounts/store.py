"""The SQL of discount codes."""

from __future__ import annotations

import uuid
from datetime import datetime

from dracarys.db import Connection, record, record_or_none, records
from dracarys.wallet.discounts.models import DiscountCode, PaysFor

_COLUMNS = (
    "code, redemption_id, user_id, value_minor, currency, created_at, expires_at, "
    "used_at, used_for, applied_minor, pays_for"
)


async def insert_discount_code(
    conn: Connection,
    *,
    code: str,
    redemption_id: uuid.UUID,
    user_id: uuid.UUID,
    value_minor: int,
    currency: str,
    created_at: datetime,
    expires_at: datetime,
    pays_for: PaysFor = PaysFor.ANYTHING,
) -> DiscountCode:
    row = await conn.fetchrow(
        f"""INSERT INTO discount_codes (code, redemption_id, user_id, value_minor, currency,
                                        created_at, expires_at, pays_for)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {_COLUMNS}""",
        code,
        redemption_id,
        user_id,
        value_minor,
        currency,
        created_at,
        expires_at,
        pays_for.value,
    )
    assert row is not None  # INSERT ... RETURNING always returns the row
    return record(DiscountCode, row)


async def discount_code(conn: Connection, code: str, *, lock: bool = False) -> DiscountCode | None:
    """The discount code, whoever owns it; `lock` holds its row until the transaction
    ends, so of two purchases spending it the second waits and then finds it spent."""
    locking = "FOR UPDATE" if lock else ""
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM discount_codes WHERE code = $1 {locking}", code
    )
    return record_or_none(DiscountCode, row)


async def discount_codes_of_redemptions(
    conn: Connection, redemption_ids: list[uuid.UUID]
) -> dict[uuid.UUID, DiscountCode]:
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM discount_codes WHERE redemption_id = ANY($1::uuid[])",
        redemption_ids,
    )
    return {code.redemption_id: code for code in records(DiscountCode, rows)}


async def discount_codes_of(conn: Connection, user_id: uuid.UUID) -> list[DiscountCode]:
    """The user's discount codes, newest first."""
    rows = await conn.fetch(
        f"""SELECT {_COLUMNS} FROM discount_codes WHERE user_id = $1
            ORDER BY created_at DESC""",
        user_id,
    )
    return records(DiscountCode, rows)


async def mark_discount_used(
    conn: Connection, code: str, *, used_for: str, applied_minor: int, at: datetime
) -> bool:
    """Spend the code; False when it was spent already (the caller holds its row lock)."""
    status = await conn.execute(
        """UPDATE discount_codes SET used_at = $2, used_for = $3, applied_minor = $4
           WHERE code = $1 AND used_at IS NULL""",
        code,
        at,
        used_for,
        applied_minor,
    )
    return status.endswith(" 1")
