"""SQL of onboarding: programs a member could be suggested, the onboarding cohorts (those
of programs flagged `onboarding`), and who answered "not now" to the offer."""

from __future__ import annotations

import uuid
from datetime import datetime

from dracarys.curriculum.onboarding.models import CandidateProgram, OnboardingCohort
from dracarys.db import Connection, record_or_none, records

_SEATS_TAKEN = "(SELECT count(*) FROM cohort_enrolments e WHERE e.cohort_id = c.id)"


async def candidate_programs(
    conn: Connection, user_id: uuid.UUID, now: datetime, limit: int
) -> list[CandidateProgram]:
    """Published programs other than onboarding ones, leaving out the member's own and
    those they are enrolled in, each with its next cohort that has room."""
    rows = await conn.fetch(
        f"""SELECT p.id, p.title, p.description, p.difficulty, p.price_minor,
                   rtrim(p.currency) AS currency, p.topics,
                   coalesce((SELECT sum(l.estimated_minutes)
                             FROM lessons l JOIN program_modules m ON m.id = l.module_id
                             WHERE m.program_id = p.id), 0) AS total_minutes,
                   nc.id AS cohort_id, nc.title AS cohort_title,
                   nc.starts_at AS cohort_starts_at, nc.seats_left AS cohort_seats_left
            FROM programs p
            LEFT JOIN LATERAL (
                SELECT c.id, c.title, c.starts_at, c.capacity - {_SEATS_TAKEN} AS seats_left
                FROM cohorts c
                WHERE c.program_id = p.id AND c.ends_at > $2 AND c.capacity > {_SEATS_TAKEN}
                ORDER BY c.starts_at < $2, c.starts_at
                LIMIT 1
            ) nc ON true
            WHERE p.published AND NOT p.onboarding AND p.owner_id <> $1
              AND NOT EXISTS (SELECT 1 FROM cohort_enrolments e
                              WHERE e.program_id = p.id AND e.user_id = $1)
            ORDER BY p.created_at DESC
            LIMIT $3""",
        user_id,
        now,
        limit,
    )
    return records(CandidateProgram, rows)


_ONBOARDING_COHORT = f"""SELECT c.id, c.program_id, p.title AS program_title,
                                p.description AS program_description, c.title, c.starts_at,
                                c.ends_at, c.capacity, {_SEATS_TAKEN} AS enrolled
                         FROM cohorts c JOIN programs p ON p.id = c.program_id"""


async def joined_onboarding_cohort(conn: Connection, user_id: uuid.UUID) -> OnboardingCohort | None:
    row = await conn.fetchrow(
        f"""{_ONBOARDING_COHORT}
            JOIN cohort_enrolments mine ON mine.cohort_id = c.id AND mine.user_id = $1
            WHERE p.onboarding
            ORDER BY mine.enrolled_at DESC
            LIMIT 1""",
        user_id,
    )
    return record_or_none(OnboardingCohort, row)


async def open_onboarding_cohort(
    conn: Connection, user_id: uuid.UUID, now: datetime
) -> OnboardingCohort | None:
    """The onboarding cohort to offer: one with room that has not ended, the soonest to
    start first, else the one running now; never one of the member's own programs."""
    row = await conn.fetchrow(
        f"""{_ONBOARDING_COHORT}
            WHERE p.onboarding AND p.published AND p.owner_id <> $1
              AND c.ends_at > $2 AND c.capacity > {_SEATS_TAKEN}
            ORDER BY c.starts_at < $2, c.starts_at, c.id
            LIMIT 1""",
        user_id,
        now,
    )
    return record_or_none(OnboardingCohort, row)


async def declined_at(conn: Connection, user_id: uuid.UUID) -> datetime | None:
    value: datetime | None = await conn.fetchval(
        "SELECT declined_at FROM onboarding_cohort_declines WHERE user_id = $1", user_id
    )
    return value


async def record_decline(conn: Connection, user_id: uuid.UUID, now: datetime) -> None:
    await conn.execute(
        """INSERT INTO onboarding_cohort_declines (user_id, declined_at) VALUES ($1, $2)
           ON CONFLICT (user_id) DO UPDATE SET declined_at = $2""",
        user_id,
        now,
    )
