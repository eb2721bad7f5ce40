"""SQL for mentorship: schedules, session types, sessions and bookings, reviews,
reminders, calendar feed tokens, mentor languages, discovery and matches."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from dracarys.db import Connection

Row = asyncpg.Record


# ---- schedules ------------------------------------------------------------------------


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


async def schedule(conn: Connection, schedule_id: uuid.UUID) -> Row | None:
    row: Row | None = await conn.fetchrow(
        "SELECT * FROM availability_schedules WHERE id = $1", schedule_id
    )
    return row


async def schedules_of(conn: Connection, mentor_id: uuid.UUID) -> list[Row]:
    return list(
        await conn.fetch(
            """SELECT * FROM availability_schedules WHERE mentor_id = $1
               ORDER BY is_default DESC, created_at""",
            mentor_id,
        )
    )


async def default_schedules(
    conn: Connection, mentor_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Row]:
    rows = await conn.fetch(
        "SELECT * FROM availability_schedules WHERE mentor_id = ANY($1::uuid[]) AND is_default",
        list(mentor_ids),
    )
    return {r["mentor_id"]: r for r in rows}


# ---- session types --------------------------------------------------------------------


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


async def session_type(conn: Connection, type_id: uuid.UUID) -> Row | None:
    row: Row | None = await conn.fetchrow("SELECT * FROM session_types WHERE id = $1", type_id)
    return row


async def session_types_of(conn: Connection, mentor_ids: Sequence[uuid.UUID]) -> list[Row]:
    return list(
        await conn.fetch(
            """SELECT * FROM session_types WHERE mentor_id = ANY($1::uuid[]) AND active
               ORDER BY created_at""",
            list(mentor_ids),
        )
    )


# ---- sessions -------------------------------------------------------------------------

_SESSION_COLUMNS = """s.*, (SELECT count(*) FROM session_bookings b
                           WHERE b.session_id = s.id AND b.status <> 'cancelled') AS booked"""


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


async def session(conn: Connection, session_id: uuid.UUID) -> Row | None:
    row: Row | None = await conn.fetchrow(
        f"SELECT {_SESSION_COLUMNS} FROM mentor_sessions s WHERE s.id = $1", session_id
    )
    return row


async def lock_session(conn: Connection, session_id: uuid.UUID) -> Row | None:
    row: Row | None = await conn.fetchrow(
        "SELECT * FROM mentor_sessions WHERE id = $1 FOR UPDATE", session_id
    )
    return row


async def lock_open_session_of_type(
    conn: Connection, session_type_id: uuid.UUID, starts_at: datetime
) -> Row | None:
    row: Row | None = await conn.fetchrow(
        """SELECT * FROM mentor_sessions
           WHERE session_type_id = $1 AND starts_at = $2 AND status = 'scheduled'
           FOR UPDATE""",
        session_type_id,
        starts_at,
    )
    return row


async def busy_sessions(
    conn: Connection, mentor_id: uuid.UUID, start: datetime, end: datetime
) -> list[Row]:
    return list(
        await conn.fetch(
            f"""SELECT {_SESSION_COLUMNS} FROM mentor_sessions s
                WHERE s.mentor_id = $1 AND s.status <> 'cancelled'
                  AND s.starts_at < $3 AND s.ends_at > $2
                ORDER BY s.starts_at""",
            mentor_id,
            start,
            end,
        )
    )


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
    """Raises asyncpg.ExclusionViolationError when the new time is taken."""
    await conn.execute(
        "UPDATE mentor_sessions SET starts_at = $2, ends_at = $3 WHERE id = $1",
        session_id,
        starts_at,
        ends_at,
    )


async def mark_mentor_joined(conn: Connection, session_id: uuid.UUID, now: datetime) -> None:
    await conn.execute(
        """UPDATE mentor_sessions SET mentor_joined_at = coalesce(mentor_joined_at, $2)
           WHERE id = $1""",
        session_id,
        now,
    )


async def set_recording(
    conn: Connection, session_id: uuid.UUID, recording_url: str, lesson_id: uuid.UUID
) -> None:
    await conn.execute(
        "UPDATE mentor_sessions SET recording_url = $2, lesson_id = $3 WHERE id = $1",
        session_id,
        recording_url,
        lesson_id,
    )


async def cohort_sessions(conn: Connection, cohort_id: uuid.UUID) -> list[Row]:
    return list(
        await conn.fetch(
            f"""SELECT {_SESSION_COLUMNS} FROM mentor_sessions s WHERE s.cohort_id = $1
                ORDER BY s.starts_at""",
            cohort_id,
        )
    )


async def recordings_of_lesson(conn: Connection, lesson_id: uuid.UUID) -> list[Row]:
    return list(
        await conn.fetch(
            """SELECT id, title, starts_at, recording_url FROM mentor_sessions
               WHERE lesson_id = $1 AND recording_url IS NOT NULL ORDER BY starts_at""",
            lesson_id,
        )
    )


# ---- bookings -------------------------------------------------------------------------


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


async def booking(conn: Connection, booking_id: uuid.UUID) -> Row | None:
    row: Row | None = await conn.fetchrow(
        "SELECT * FROM session_bookings WHERE id = $1", booking_id
    )
    return row


async def lock_booking(conn: Connection, booking_id: uuid.UUID) -> Row | None:
    row: Row | None = await conn.fetchrow(
        "SELECT * FROM session_bookings WHERE id = $1 FOR UPDATE", booking_id
    )
    return row


async def booking_by_key(conn: Connection, mentee_id: uuid.UUID, key: str) -> Row | None:
    row: Row | None = await conn.fetchrow(
        "SELECT * FROM session_bookings WHERE mentee_id = $1 AND idempotency_key = $2",
        mentee_id,
        key,
    )
    return row


async def live_booking_of(
    conn: Connection, session_id: uuid.UUID, mentee_id: uuid.UUID
) -> Row | None:
    row: Row | None = await conn.fetchrow(
        """SELECT * FROM session_bookings
           WHERE session_id = $1 AND mentee_id = $2 AND status <> 'cancelled'""",
        session_id,
        mentee_id,
    )
    return row


async def live_bookings_of_session(conn: Connection, session_id: uuid.UUID) -> list[Row]:
    return list(
        await conn.fetch(
            """SELECT * FROM session_bookings WHERE session_id = $1 AND status <> 'cancelled'
               ORDER BY created_at FOR UPDATE""",
            session_id,
        )
    )


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


async def bookings_of_mentee(conn: Connection, mentee_id: uuid.UUID) -> list[Row]:
    return list(
        await conn.fetch(
            """SELECT * FROM session_bookings WHERE mentee_id = $1
               ORDER BY created_at DESC LIMIT 200""",
            mentee_id,
        )
    )


async def calendar_sessions(conn: Connection, user_id: uuid.UUID, since: datetime) -> list[Row]:
    """Sessions the user runs or has a live booking for, from `since` on."""
    return list(
        await conn.fetch(
            f"""SELECT {_SESSION_COLUMNS} FROM mentor_sessions s
                WHERE s.ends_at >= $2 AND (
                    s.mentor_id = $1 OR EXISTS (
                        SELECT 1 FROM session_bookings b WHERE b.session_id = s.id
                          AND b.mentee_id = $1 AND b.status = 'confirmed'))
                ORDER BY s.starts_at LIMIT 500""",
            user_id,
            since,
        )
    )


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
) -> bool:
    done = await conn.fetchval(
        """INSERT INTO session_reviews (session_id, rater_id, rated_id, rating, comment,
               created_at)
           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING session_id""",
        session_id,
        rater_id,
        rated_id,
        rating,
        comment,
        now,
    )
    return done is not None


async def reviews_of(conn: Connection, rated_id: uuid.UUID, limit: int) -> list[Row]:
    return list(
        await conn.fetch(
            """SELECT * FROM session_reviews WHERE rated_id = $1
               ORDER BY created_at DESC LIMIT $2""",
            rated_id,
            limit,
        )
    )


# ---- reminders ------------------------------------------------------------------------


async def due_reminders(
    conn: Connection, *, now: datetime, lead: str, horizon: datetime
) -> list[Row]:
    """Participants of scheduled sessions starting in (now, horizon] not yet reminded: the
    mentor, mentees with a confirmed seat and, for cohort live sessions, every member."""
    return list(
        await conn.fetch(
            """WITH due AS (
                   SELECT s.id, s.mentor_id, s.starts_at, s.title, s.cohort_id
                   FROM mentor_sessions s
                   WHERE s.status = 'scheduled' AND s.starts_at > $1 AND s.starts_at <= $2),
               participants AS (
                   SELECT d.id AS session_id, d.mentor_id AS user_id, d.starts_at, d.title
                   FROM due d
                   WHERE d.cohort_id IS NOT NULL OR EXISTS (
                       SELECT 1 FROM session_bookings b
                       WHERE b.session_id = d.id AND b.status = 'confirmed')
                   UNION
                   SELECT d.id, b.mentee_id, d.starts_at, d.title
                   FROM due d JOIN session_bookings b ON b.session_id = d.id
                   WHERE b.status = 'confirmed'
                   UNION
                   SELECT d.id, e.user_id, d.starts_at, d.title
                   FROM due d JOIN cohort_enrolments e ON e.cohort_id = d.cohort_id)
               SELECT p.* FROM participants p
               WHERE NOT EXISTS (SELECT 1 FROM session_reminders r
                                 WHERE r.session_id = p.session_id AND r.user_id = p.user_id
                                   AND r.lead = $3)
               ORDER BY p.starts_at LIMIT 1000""",
            now,
            horizon,
            lead,
        )
    )


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


# ---- calendar feed --------------------------------------------------------------------


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


async def user_of_feed_token(conn: Connection, token_hash: bytes) -> uuid.UUID | None:
    user_id: uuid.UUID | None = await conn.fetchval(
        """SELECT t.user_id FROM calendar_feed_tokens t JOIN users u ON u.id = t.user_id
           WHERE t.token_hash = $1 AND u.status = 'active'""",
        token_hash,
    )
    return user_id


# ---- mentors: languages, discovery, matches -------------------------------------------


async def set_languages(conn: Connection, user_id: uuid.UUID, languages: list[str]) -> None:
    await conn.execute(
        """INSERT INTO mentor_languages (user_id, languages) VALUES ($1, $2)
           ON CONFLICT (user_id) DO UPDATE SET languages = $2""",
        user_id,
        languages,
    )


async def user_role(conn: Connection, user_id: uuid.UUID) -> str | None:
    role: str | None = await conn.fetchval(
        "SELECT role FROM users WHERE id = $1 AND status = 'active'", user_id
    )
    return role


async def visible_mentors(
    conn: Connection,
    *,
    skill: str | None,
    min_price: int | None,
    max_price: int | None,
    min_rating: float | None,
    language: str | None,
    mentor_ids: Sequence[uuid.UUID] | None = None,
    limit: int,
) -> list[Row]:
    """Active mentors a reviewer has taken off probation, filtered in SQL."""
    return list(
        await conn.fetch(
            """SELECT u.id, u.reputation_score, m.specialties, m.hourly_rate_minor,
                      m.currency, m.rating_count, m.rating_sum, m.total_sessions,
                      coalesce(p.headline, '') AS headline, p.trading_style, p.timezone,
                      coalesce(l.languages, '{}') AS languages
               FROM users u
               JOIN mentor_profiles m ON m.user_id = u.id
               LEFT JOIN user_profiles p ON p.user_id = u.id
               LEFT JOIN mentor_languages l ON l.user_id = u.id
               WHERE u.role = 'mentor' AND u.status = 'active' AND NOT m.on_probation
                 AND ($1::text IS NULL OR $1 = ANY(m.specialties))
                 AND ($2::bigint IS NULL OR m.hourly_rate_minor >= $2)
                 AND ($3::bigint IS NULL OR m.hourly_rate_minor <= $3)
                 AND ($4::float8 IS NULL OR (m.rating_count > 0
                      AND m.rating_sum::float8 / m.rating_count >= $4))
                 AND ($5::text IS NULL OR $5 = ANY(l.languages))
                 AND ($6::uuid[] IS NULL OR u.id = ANY($6))
               ORDER BY u.reputation_score DESC, m.rating_count DESC, u.id
               LIMIT $7""",
            skill,
            min_price,
            max_price,
            min_rating,
            language,
            list(mentor_ids) if mentor_ids is not None else None,
            limit,
        )
    )


async def upsert_quiz(
    conn: Connection, user_id: uuid.UUID, answers: dict[str, Any], now: datetime
) -> None:
    await conn.execute(
        """INSERT INTO match_quizzes (user_id, answers, updated_at) VALUES ($1, $2, $3)
           ON CONFLICT (user_id) DO UPDATE SET answers = $2, updated_at = $3""",
        user_id,
        answers,
        now,
    )


async def quiz_of(conn: Connection, user_id: uuid.UUID) -> dict[str, Any] | None:
    answers: dict[str, Any] | None = await conn.fetchval(
        "SELECT answers FROM match_quizzes WHERE user_id = $1", user_id
    )
    return answers


async def replace_matches(
    conn: Connection,
    mentee_id: uuid.UUID,
    matches: list[tuple[uuid.UUID, int, list[str]]],
    now: datetime,
) -> None:
    await conn.execute("DELETE FROM mentor_matches WHERE mentee_id = $1", mentee_id)
    await conn.executemany(
        """INSERT INTO mentor_matches (mentee_id, mentor_id, score, reasons, computed_at)
           VALUES ($1, $2, $3, $4, $5)""",
        [(mentee_id, mentor_id, score, reasons, now) for mentor_id, score, reasons in matches],
    )


async def mentor_months(conn: Connection, start: datetime, end: datetime) -> list[Row]:
    """Per mentor, for sessions that started in [start, end): the average rating mentees
    gave and the share of confirmed bookings that were attended, in basis points."""
    return list(
        await conn.fetch(
            """WITH month_sessions AS (
                   SELECT id, mentor_id FROM mentor_sessions
                   WHERE status <> 'cancelled' AND starts_at >= $1 AND starts_at < $2),
               attendance AS (
                   SELECT s.mentor_id,
                          count(*) AS booked,
                          count(b.attended_at) AS attended
                   FROM month_sessions s JOIN session_bookings b ON b.session_id = s.id
                   WHERE b.status = 'confirmed'
                   GROUP BY s.mentor_id),
               ratings AS (
                   SELECT s.mentor_id, avg(r.rating)::float8 AS avg_rating
                   FROM month_sessions s JOIN session_reviews r
                        ON r.session_id = s.id AND r.rated_id = s.mentor_id
                   GROUP BY s.mentor_id)
               SELECT a.mentor_id, r.avg_rating,
                      (a.attended * 10000 / a.booked)::int AS attendance_bps
               FROM attendance a JOIN ratings r USING (mentor_id)""",
            start,
            end,
        )
    )
