"""SQL of calendar sync: feed tokens (stored hashed) and the sessions a feed lists."""

from __future__ import annotations

import uuid
from datetime import datetime

from dracarys.db import Connection, record_or_none, records
from dracarys.mentorship.calendar.models import CalendarEntry

_ENTRY = """SELECT s.id, s.mentor_id, s.title, s.starts_at, s.ends_at, s.status, s.room_name,
                   s.created_at
            FROM mentor_sessions s"""


async def entry(conn: Connection, session_id: uuid.UUID) -> CalendarEntry | None:
    return record_or_none(
        CalendarEntry, await conn.fetchrow(f"{_ENTRY} WHERE s.id = $1", session_id)
    )


async def is_booked_by(conn: Connection, session_id: uuid.UUID, mentee_id: uuid.UUID) -> bool:
    """Whether the mentee holds a seat (held or confirmed) in the session."""
    found = await conn.fetchval(
        """SELECT 1 FROM session_bookings
           WHERE session_id = $1 AND mentee_id = $2 AND status <> 'cancelled'""",
        session_id,
        mentee_id,
    )
    return found is not None


async def entries_of(conn: Connection, user_id: uuid.UUID, since: datetime) -> list[CalendarEntry]:
    """Sessions the user runs or has a confirmed seat in, ending from `since` on."""
    rows = await conn.fetch(
        f"""{_ENTRY}
            WHERE s.ends_at >= $2 AND (
                s.mentor_id = $1 OR EXISTS (
                    SELECT 1 FROM session_bookings b WHERE b.session_id = s.id
                      AND b.mentee_id = $1 AND b.status = 'confirmed'))
            ORDER BY s.starts_at LIMIT 500""",
        user_id,
        since,
    )
    return records(CalendarEntry, rows)


async def set_feed_token(
    conn: Connection, user_id: uuid.UUID, token_hash: bytes, now: datetime
) -> None:
    await conn.execute(
        """INSERT INTO calendar_feed_tokens (user_id, token_hash, created_at)
           VALUES ($1, $2, $3)
           ON CONFLICT (user_id) DO UPDATE SET token_hash = $2, created_at = $3""",
        user_id,
        token_hash,
        now,
    )


async def owner_of_feed_token(conn: Connection, token_hash: bytes) -> uuid.UUID | None:
    user_id: uuid.UUID | None = await conn.fetchval(
        "SELECT user_id FROM calendar_feed_tokens WHERE token_hash = $1", token_hash
    )
    return user_id
