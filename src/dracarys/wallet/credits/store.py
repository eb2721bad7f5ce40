"""The SQL of mentor bonuses paid (one per mentor and month)."""

from __future__ import annotations

import uuid
from datetime import datetime

from dracarys.db import Connection


async def insert_mentor_bonus(
    conn: Connection,
    *,
    mentor_id: uuid.UUID,
    month: str,
    amount_minor: int,
    currency: str,
    avg_rating: float,
    attendance_bps: int,
    transfer_id: uuid.UUID,
    now: datetime,
) -> bool:
    inserted = await conn.fetchval(
        """INSERT INTO mentor_bonuses (mentor_id, month, amount_minor, currency, avg_rating,
               attendance_bps, transfer_id, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (mentor_id, month) DO NOTHING RETURNING true""",
        mentor_id,
        month,
        amount_minor,
        currency,
        avg_rating,
        attendance_bps,
        transfer_id,
        now,
    )
    return bool(inserted)
