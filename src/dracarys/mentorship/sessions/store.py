"""SQL of sessions on a mentor's calendar and the seats booked in them, their reviews and
the reminders sent. A mentor's sessions never overlap: the database's exclusion
constraint refuses the second (asyncpg.ExclusionViolationError)."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime

from dracarys.db import Connection, record_or_none, records
from dracarys.mentorship.sessions.models import (
    DueSession,
    MentorSession,
    Review,
    SeatRecord,
    SessionBooking,
)

# ---- sessions -------------------------------------------------------------------------

_SESSION = """SELECT s.id, s.mentor_id, s.session_type_id, s.kind, s.title, s.starts_at,
                     s.ends_at, s.capacity, s.price_minor, rtrim(s.currency) AS currency,
                     s.status, s.room_name, s.cohort_id, s.lesson_id, s.recording_url,
                     s.mentor_joined_at,
                     (SELECT count(*) FROM session_bookings b
                      WHERE b.session_id = s.id AND b.status <> 'cancelled') AS booked
              FROM mentor_sessions s"""


async def insert_session(
    conn: Connection,
    *,
    session_id: uuid.UUID,
    mentor_id: uuid.UUID,
    session_type_id: uuid.UUID | None,
    kind: str,
    title: str,
    starts_at: datetime,
    ends_at: datetime,
    capacity: int,
    price_minor: int,
    currency: str,
    room_name: str,
    cohort_id: uuid.UUID | None,
    now: datetime,
) -> None:
    """Raises asyncpg.ExclusionViolationError when the mentor is busy at that time."""
    await conn.execute(
        """INSERT INTO mentor_sessions (id, mentor_id, session_type_id, kind, title, starts_at,
               ends_at, capacity, price_minor, currency, room_name, cohort_id, created_at, span)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'empty')""",
        session_id,
        mentor_id,
        session_type_id,
        kind,
        title,
        starts_at,
        ends_at,
        capacity,
        price_minor,
        currency,
        room_name,
        cohort_id,
        now,
    )


async def session(conn: Connection, session_id: uuid.UUID) -> MentorSession | None:
    row = await conn.fetchrow(f"{_SESSION} WHERE s.id = $1", session_id)
    return record_or_none(MentorSession, row)


async def lock_session(conn: Connection, session_id: uuid.UUID) -> MentorSession | None:
    row = await conn.fetchrow(f"{_SESSION} WHERE s.id = $1 FOR UPDATE OF s", session_id)
    return record_or_none(MentorSession, row)


async def lock_open_session_of_type(
    conn: Connection, session_type_id: uuid.UUID, starts_at: datetime
) -> MentorSession | None:
    row = await conn.fetchrow(
        f"""{_SESSION}
            WHERE s.session_type_id = $1 AND s.starts_at = $2 AND s.status = 'scheduled'
            FOR UPDATE OF s""",
        session_type_id,
        starts_at,
    )
    return record_or_none(MentorSession, row)


async def cohort_sessions(conn: Connection, cohort_id: uuid.UUID) -> list[MentorSession]:
    rows = await conn.fetch(f"{_SESSION} WHERE s.cohort_id = $1 ORDER BY s.starts_at", cohort_id)
    return records(MentorSession, rows)


async def sessions_of_mentor(
    conn: Connection, mentor_id: uuid.UUID, start: datetime, end: datetime
) -> list[MentorSession]:
    """The mentor's sessions starting in [start, end), cancelled ones included."""
    rows = await conn.fetch(
        f"""{_SESSION} WHERE s.mentor_id = $1 AND s.starts_at >= $2 AND s.starts_at < $3
            ORDER BY s.starts_at LIMIT 500""",
        mentor_id,
        start,
        end,
    )
    return records(MentorSession, rows)


async def ended_scheduled_sessions(
    conn: Connection, ended_by: datetime, limit: int
) -> list[uuid.UUID]:
    """Sessions still scheduled that ended by `ended_by`, earliest first."""
    rows = await conn.fetch(
        """SELECT id FROM mentor_sessions WHERE status = 'scheduled' AND ends_at <= $1
           ORDER BY ends_at LIMIT $2""",
        ended_by,
        limit,
    )
    return [r["id"] for r in rows]


async def live_booking_count(conn: Connection, session_id: uuid.UUID) -> int:
    count: int = await conn.fetchval(
        "SELECT count(*) FROM session_bookings WHERE session_id = $1 AND status <> 'cancelled'",
        session_id,
    )
    return count


async def set_session_status(
    conn: Connection, session_id: uuid.UUID, status: str, now: datetime
) -> None:
    await conn.execute(
        """UPDATE mentor_sessions SET status = $2,
               completed_at = CASE WHEN $2 = 'completed' THEN $3 ELSE completed_at END
           WHERE id = $1""",
        session_id,
        status,
        now,
    )


async def move_session(
    conn: Connection, session_id: uuid.UUID, starts_at: datetime, ends_at: datetime
) -> None:
    """Raises asyncpg.ExclusionViolationError when the new time is taken. Reminders
    already sent for the old time are forgotten, so the new time is reminded of."""
    await conn.execute(
        "UPDATE mentor_sessions SET starts_at = $2, ends_at = $3 WHERE id = $1",
        session_id,
        starts_at,
        ends_at,
    )
    await conn.execute("DELETE FROM session_reminders WHERE session_id = $1", session_id)


async def mark_mentor_joined(conn: Connection, session_id: uuid.UUID, now: datetime) -> None:
    await conn.execute(
        """UPDATE mentor_sessions SET mentor_joined_at = coalesce(mentor_joined_at, $2)
           WHERE id = $1""",
        session_id,
        now,
    )


async def set_recording(
    conn: Connection, session_id: uuid.UUID, recording_url: str, lesson_id: uuid.UUID | None
) -> None:
    await conn.execute(
        "UPDATE mentor_sessions SET recording_url = $2, lesson_id = $3 WHERE id = $1",
        session_id,
        recording_url,
        lesson_id,
    )


# ---- bookings -------------------------------------------------------------------------

_BOOKING = """SELECT id, session_id, mentee_id, status, amount_minor, rtrim(currency) AS currency,
                     escrow_id, refunded_minor, joined_at
              FROM session_bookings"""


async def insert_booking(
    conn: Connection,
    *,
    booking_id: uuid.UUID,
    session_id: uuid.UUID,
    mentee_id: uuid.UUID,
    status: str,
    amount_minor: int,
    currency: str,
    idempotency_key: str,
    now: datetime,
) -> None:
    await conn.execute(
        """INSERT INTO session_bookings (id, session_id, mentee_id, status, amount_minor,
               currency, idempotency_key, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
        booking_id,
        session_id,
        mentee_id,
        status,
        amount_minor,
        currency,
        idempotency_key,
        now,
    )


async def confirm_booking(
    conn: Connection, booking_id: uuid.UUID, escrow_id: uuid.UUID | None
) -> None:
    await conn.execute(
        "UPDATE session_bookings SET status = 'confirmed', escrow_id = $2 WHERE id = $1",
        booking_id,
        escrow_id,
    )


async def booking(conn: Connection, booking_id: uuid.UUID) -> SessionBooking | None:
    return record_or_none(
        SessionBooking, await conn.fetchrow(f"{_BOOKING} WHERE id = $1", booking_id)
    )


async def lock_booking(conn: Connection, booking_id: uuid.UUID) -> SessionBooking | None:
    row = await conn.fetchrow(f"{_BOOKING} WHERE id = $1 FOR UPDATE", booking_id)
    return record_or_none(SessionBooking, row)


async def booking_by_key(conn: Connection, mentee_id: uuid.UUID, key: str) -> SessionBooking | None:
    row = await conn.fetchrow(
        f"{_BOOKING} WHERE mentee_id = $1 AND idempotency_key = $2", mentee_id, key
    )
    return record_or_none(SessionBooking, row)


async def live_booking_of(
    conn: Connection, session_id: uuid.UUID, mentee_id: uuid.UUID
) -> SessionBooking | None:
    row = await conn.fetchrow(
        f"{_BOOKING} WHERE session_id = $1 AND mentee_id = $2 AND status <> 'cancelled'",
        session_id,
        mentee_id,
    )
    return record_or_none(SessionBooking, row)


async def live_bookings_of_session(conn: Connection, session_id: uuid.UUID) -> list[SessionBooking]:
    """Locked, in the order they were made."""
    rows = await conn.fetch(
        f"""{_BOOKING} WHERE session_id = $1 AND status <> 'cancelled'
            ORDER BY created_at FOR UPDATE""",
        session_id,
    )
    return records(SessionBooking, rows)


async def bookings_of_mentee(conn: Connection, mentee_id: uuid.UUID) -> list[SessionBooking]:
    rows = await conn.fetch(
        f"{_BOOKING} WHERE mentee_id = $1 ORDER BY created_at DESC LIMIT 200", mentee_id
    )
    return records(SessionBooking, rows)


async def seats_of_sessions(
    conn: Connection, session_ids: Collection[uuid.UUID]
) -> list[SeatRecord]:
    """Every booking of the sessions (cancelled ones too), with its attendance."""
    rows = await conn.fetch(
        """SELECT id, session_id, mentee_id, status, joined_at, attended_at
           FROM session_bookings WHERE session_id = ANY($1::uuid[])
           ORDER BY created_at""",
        list(session_ids),
    )
    return records(SeatRecord, rows)


async def cancel_booking(
    conn: Connection,
    booking_id: uuid.UUID,
    *,
    cancelled_by: uuid.UUID,
    refunded_minor: int,
    now: datetime,
) -> None:
    await conn.execute(
        """UPDATE session_bookings SET status = 'cancelled', cancelled_by = $2,
               refunded_minor = $3, cancelled_at = $4
           WHERE id = $1""",
        booking_id,
        cancelled_by,
        refunded_minor,
        now,
    )


async def mark_booking_joined(conn: Connection, booking_id: uuid.UUID, now: datetime) -> None:
    await conn.execute(
        "UPDATE session_bookings SET joined_at = coalesce(joined_at, $2) WHERE id = $1",
        booking_id,
        now,
    )


async def mark_attended(conn: Connection, booking_id: uuid.UUID, now: datetime) -> bool:
    """True the first time only."""
    done = await conn.fetchval(
        """UPDATE session_bookings SET attended_at = $2
           WHERE id = $1 AND attended_at IS NULL RETURNING id""",
        booking_id,
        now,
    )
    return done is not None


# ---- reviews --------------------------------------------------------------------------


async def insert_review(
    conn: Connection,
    *,
    session_id: uuid.UUID,
    rater_id: uuid.UUID,
    rated_id: uuid.UUID,
    rating: int,
    comment: str,
    now: datetime,
    recommend: int | None = None,
) -> bool:
    done = await conn.fetchval(
        """INSERT INTO session_reviews (session_id, rater_id, rated_id, rating, comment,
               created_at, recommend)
           VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING RETURNING session_id""",
        session_id,
        rater_id,
        rated_id,
        rating,
        comment,
        now,
        recommend,
    )
    return done is not None


async def ratings_given(
    conn: Connection, rater_id: uuid.UUID, session_ids: Collection[uuid.UUID]
) -> dict[tuple[uuid.UUID, uuid.UUID], int]:
    """(session, rated person) → the rating `rater_id` gave there."""
    rows = await conn.fetch(
        """SELECT session_id, rated_id, rating FROM session_reviews
           WHERE rater_id = $1 AND session_id = ANY($2::uuid[])""",
        rater_id,
        list(session_ids),
    )
    return {(r["session_id"], r["rated_id"]): int(r["rating"]) for r in rows}


async def reviews_of(conn: Connection, rated_id: uuid.UUID, limit: int) -> list[Review]:
    rows = await conn.fetch(
        """SELECT rated_id, rating, comment, created_at FROM session_reviews
           WHERE rated_id = $1 ORDER BY created_at DESC LIMIT $2""",
        rated_id,
        limit,
    )
    return records(Review, rows)


# ---- reminders ------------------------------------------------------------------------


async def due_sessions(
    conn: Connection,
    *,
    start: datetime,
    end: datetime,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[DueSession]:
    """Scheduled sessions starting in (start, end], in (starts_at, id) order after
    `after`, with the mentees holding a confirmed seat."""
    rows = await conn.fetch(
        """SELECT s.id, s.mentor_id, s.title, s.starts_at, s.cohort_id,
                  coalesce(array_agg(b.mentee_id ORDER BY b.created_at)
                           FILTER (WHERE b.mentee_id IS NOT NULL), '{}') AS mentee_ids
           FROM mentor_sessions s
           LEFT JOIN session_bookings b ON b.session_id = s.id AND b.status = 'confirmed'
           WHERE s.status = 'scheduled' AND s.starts_at > $1 AND s.starts_at <= $2
             AND ($3::timestamptz IS NULL OR (s.starts_at, s.id) > ($3, $4::uuid))
           GROUP BY s.id
           ORDER BY s.starts_at, s.id LIMIT $5""",
        start,
        end,
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )
    return records(DueSession, rows)


async def reminded(
    conn: Connection, session_ids: Collection[uuid.UUID], lead: str
) -> set[tuple[uuid.UUID, uuid.UUID]]:
    """(session, user) pairs already reminded with this lead."""
    rows = await conn.fetch(
        """SELECT session_id, user_id FROM session_reminders
           WHERE session_id = ANY($1::uuid[]) AND lead = $2""",
        list(session_ids),
        lead,
    )
    return {(r["session_id"], r["user_id"]) for r in rows}


async def record_reminder(
    conn: Connection, session_id: uuid.UUID, user_id: uuid.UUID, lead: str, now: datetime
) -> bool:
    done = await conn.fetchval(
        """INSERT INTO session_reminders (session_id, user_id, lead, sent_at)
           VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING session_id""",
        session_id,
        user_id,
        lead,
        now,
    )
    return done is not None


# ---- who is linked by a booking (chat) ------------------------------------------------


async def booking_pairs(conn: Connection, user_id: uuid.UUID) -> set[tuple[uuid.UUID, uuid.UUID]]:
    """(mentor, mentee) of every live booking `user_id` takes part in, either side."""
    rows = await conn.fetch(
        """SELECT DISTINCT s.mentor_id, b.mentee_id
             FROM session_bookings b JOIN mentor_sessions s ON s.id = b.session_id
            WHERE b.status <> 'cancelled' AND (s.mentor_id = $1 OR b.mentee_id = $1)""",
        user_id,
    )
    return {(r["mentor_id"], r["mentee_id"]) for r in rows}
