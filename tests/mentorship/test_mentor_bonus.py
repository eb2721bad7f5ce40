"""Mentorship feeds the wallet's monthly mentor bonus (the job `workers` composes of the
two): average rating and attendance."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg

from dracarys.identity import Role
from dracarys.platform import Platform
from tests.support import balance
from workers.mentor_bonus_tasks import pay_last_months_mentor_bonuses


async def _session(
    pool: asyncpg.Pool,
    mentor_id: uuid.UUID,
    starts_at: datetime,
    bookings: list[tuple[uuid.UUID, bool, int | None]],
) -> None:
    """A session with confirmed bookings: (mentee, attended, rating the mentee gave)."""
    session_id = uuid.uuid4()
    await pool.execute(
        """INSERT INTO mentor_sessions (id, mentor_id, kind, title, starts_at, ends_at,
                                        capacity, room_name, created_at, status)
           VALUES ($1, $2, 'group', 'Risk clinic', $3::timestamptz,
                   $3::timestamptz + interval '1 hour', 10, $4, $3::timestamptz, 'completed')""",
        session_id,
        mentor_id,
        starts_at,
        f"room-{session_id.hex}",
    )
    for mentee_id, attended, rating in bookings:
        await pool.execute(
            """INSERT INTO session_bookings (id, session_id, mentee_id, status, attended_at,
                                             idempotency_key, created_at)
               VALUES ($1, $2, $3, 'confirmed', CASE WHEN $4 THEN $5::timestamptz END, $6,
                       $5::timestamptz)""",
            uuid.uuid4(),
            session_id,
            mentee_id,
            attended,
            starts_at,
            uuid.uuid4().hex,
        )
        if rating is not None:
            await pool.execute(
                """INSERT INTO session_reviews (session_id, rater_id, rated_id, rating, created_at)
                   VALUES ($1, $2, $3, $4, $5)""",
                session_id,
                mentee_id,
                mentor_id,
                rating,
                starts_at,
            )


async def test_bonus_goes_to_the_mentor_above_4_7_with_80_percent_attendance(
    platform: Platform, pool: asyncpg.Pool, make_user: object
) -> None:
    star = await make_user(role=Role.MENTOR)  # type: ignore[operator]
    absent = await make_user(role=Role.MENTOR)  # type: ignore[operator]
    mentees = [await make_user() for _ in range(5)]  # type: ignore[operator]
    december = datetime(2025, 12, 10, 9, tzinfo=UTC)
    # star: 5 bookings, 4 attended (80 %), ratings 5, 5, 5, 4: average 4.75
    await _session(
        pool,
        star.id,
        december,
        [
            (m.id, i < 4, r)
            for i, (m, r) in enumerate(zip(mentees, [5, 5, 5, 4, None], strict=True))
        ],
    )
    # absent: rated 5 but only 1 of 2 attended (50 %)
    await _session(
        pool, absent.id, december, [(mentees[0].id, True, 5), (mentees[1].id, False, None)]
    )
    # a session in January does not count towards December
    await _session(pool, absent.id, december + timedelta(days=40), [(mentees[2].id, True, 5)])

    platform.clock.set(datetime(2026, 1, 3, tzinfo=UTC))  # type: ignore[attr-defined]
    assert await pay_last_months_mentor_bonuses(platform) == [star.id]
    assert await pay_last_months_mentor_bonuses(platform) == []  # once per month
    bonus = platform.settings.wallet_mentor_bonus_kes_minor
    assert (await balance(pool, star.id))[0] == bonus
    assert (await balance(pool, absent.id))[0] == 0
