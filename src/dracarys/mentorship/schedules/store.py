"""SQL of the mentor's offer: availability schedules, session types, and the live
sessions that already hold the mentor's time."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime
from typing import Any

from dracarys.db import Connection, record_or_none, records
from dracarys.mentorship.schedules.models import AvailabilitySchedule, BusySession, SessionType

# ---- schedules ------------------------------------------------------------------------

_SCHEDULE = """SELECT id, mentor_id, name, timezone, is_default, weekly_hours, date_overrides
               FROM availability_schedules"""


async def clear_default_schedule(conn: Connection, mentor_id: uuid.UUID) -> None:
    await conn.execute(
        "UPDATE availability_schedules SET is_default = false WHERE mentor_id = $1 AND is_default",
        mentor_id,
    )


async def count_schedules(conn: Connection, mentor_id: uuid.UUID) -> int:
    count: int = await conn.fetchval(
        "SELECT count(*) FROM availability_schedules WHERE mentor_id = $1", mentor_id
    )
    return count


async def insert_schedule(
    conn: Connection,
    *,
    schedule_id: uuid.UUID,
    mentor_id: uuid.UUID,
    name: str,
    timezone: str,
    is_default: bool,
    weekly_hours: list[dict[str, Any]],
    date_overrides: list[dict[str, Any]],
    now: datetime,
) -> None:
    await conn.execute(
        """INSERT INTO availability_schedules
               (id, mentor_id, name, timezone, is_default, weekly_hours, date_overrides,
                created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
        schedule_id,
        mentor_id,
        name,
        timezone,
        is_default,
        weekly_hours,
        date_overrides,
        now,
    )


async def update_schedule(
    conn: Connection,
    schedule_id: uuid.UUID,
    *,
    name: str,
    timezone: str,
    is_default: bool,
    weekly_hours: list[dict[str, Any]],
    date_overrides: list[dict[str, Any]],
) -> None:
    await conn.execute(
        """UPDATE availability_schedules
           SET name = $2, timezone = $3, is_default = $4, weekly_hours = $5, date_overrides = $6
           WHERE id = $1""",
        schedule_id,
        name,
        timezone,
        is_default,
        weekly_hours,
        date_overrides,
    )


async def schedule(conn: Connection, schedule_id: uuid.UUID) -> AvailabilitySchedule | None:
    row = await conn.fetchrow(f"{_SCHEDULE} WHERE id = $1", schedule_id)
    return record_or_none(AvailabilitySchedule, row)


async def schedules_of(conn: Connection, mentor_id: uuid.UUID) -> list[AvailabilitySchedule]:
    rows = await conn.fetch(
        f"{_SCHEDULE} WHERE mentor_id = $1 ORDER BY is_default DESC, created_at", mentor_id
    )
    return records(AvailabilitySchedule, rows)


async def default_schedules(
    conn: Connection, mentor_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, AvailabilitySchedule]:
    rows = await conn.fetch(
        f"{_SCHEDULE} WHERE mentor_id = ANY($1::uuid[]) AND is_default", list(mentor_ids)
    )
    return {s.mentor_id: s for s in records(AvailabilitySchedule, rows)}


# ---- session types --------------------------------------------------------------------

_SESSION_TYPE = """SELECT id, mentor_id, title, kind, duration_minutes, price_minor,
                          rtrim(currency) AS currency, capacity, schedule_id,
                          min_notice_minutes, active
                   FROM session_types"""


async def insert_session_type(
    conn: Connection,
    *,
    type_id: uuid.UUID,
    mentor_id: uuid.UUID,
    title: str,
    kind: str,
    duration_minutes: int,
    price_minor: int,
    currency: str,
    capacity: int,
    schedule_id: uuid.UUID | None,
    min_notice_minutes: int,
    now: datetime,
) -> None:
    await conn.execute(
        """INSERT INTO session_types (id, mentor_id, title, kind, duration_minutes, price_minor,
               currency, capacity, schedule_id, min_notice_minutes, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)""",
        type_id,
        mentor_id,
        title,
        kind,
        duration_minutes,
        price_minor,
        currency,
        capacity,
        schedule_id,
        min_notice_minutes,
        now,
    )


async def session_type(conn: Connection, type_id: uuid.UUID) -> SessionType | None:
    return record_or_none(
        SessionType, await conn.fetchrow(f"{_SESSION_TYPE} WHERE id = $1", type_id)
    )


async def session_types_by_id(
    conn: Connection, type_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, SessionType]:
    """The session types, withdrawn ones too (a package or booking keeps naming its type)."""
    rows = await conn.fetch(f"{_SESSION_TYPE} WHERE id = ANY($1::uuid[])", list(set(type_ids)))
    return {t.id: t for t in records(SessionType, rows)}


async def session_types_of(
    conn: Connection, mentor_ids: Collection[uuid.UUID]
) -> list[SessionType]:
    rows = await conn.fetch(
        f"{_SESSION_TYPE} WHERE mentor_id = ANY($1::uuid[]) AND active ORDER BY created_at",
        list(mentor_ids),
    )
    return records(SessionType, rows)


# ---- the mentor's booked time ---------------------------------------------------------


async def busy_sessions(
    conn: Connection, mentor_id: uuid.UUID, start: datetime, end: datetime
) -> list[BusySession]:
    """The mentor's live sessions overlapping [start, end), with their seats taken."""
    rows = await conn.fetch(
        """SELECT s.session_type_id, s.starts_at, s.ends_at, s.capacity,
                  (SELECT count(*) FROM session_bookings b
                   WHERE b.session_id = s.id AND b.status <> 'cancelled') AS booked
           FROM mentor_sessions s
           WHERE s.mentor_id = $1 AND s.status <> 'cancelled'
             AND s.starts_at < $3 AND s.ends_at > $2
           ORDER BY s.starts_at""",
        mentor_id,
        start,
        end,
    )
    return records(BusySession, rows)
