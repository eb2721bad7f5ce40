"""SQL of enrolment: a learner's seat in a cohort (one cohort per program)."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime

from dracarys.curriculum.enrolment.models import Enrolment, MyEnrolment
from dracarys.db import Connection, record_or_none, records

_ENROLMENT = """SELECT cohort_id, program_id, user_id, amount_minor, rtrim(currency) AS currency,
                       escrow_id, enrolled_at
                FROM cohort_enrolments"""


async def enrolment(conn: Connection, cohort_id: uuid.UUID, user_id: uuid.UUID) -> Enrolment | None:
    row = await conn.fetchrow(
        f"{_ENROLMENT} WHERE cohort_id = $1 AND user_id = $2", cohort_id, user_id
    )
    return record_or_none(Enrolment, row)


async def program_enrolment(
    conn: Connection, program_id: uuid.UUID, user_id: uuid.UUID
) -> Enrolment | None:
    row = await conn.fetchrow(
        f"{_ENROLMENT} WHERE program_id = $1 AND user_id = $2", program_id, user_id
    )
    return record_or_none(Enrolment, row)


async def enrolments_of_user(conn: Connection, user_id: uuid.UUID) -> list[MyEnrolment]:
    rows = await conn.fetch(
        """SELECT e.program_id, p.title AS program_title, e.cohort_id, c.title AS cohort_title,
                  c.starts_at, c.ends_at, e.amount_minor, rtrim(e.currency) AS currency,
                  e.enrolled_at
           FROM cohort_enrolments e
           JOIN cohorts c ON c.id = e.cohort_id JOIN programs p ON p.id = e.program_id
           WHERE e.user_id = $1
           ORDER BY c.starts_at DESC""",
        user_id,
    )
    return records(MyEnrolment, rows)


async def members_of(
    conn: Connection, cohort_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, list[uuid.UUID]]:
    rows = await conn.fetch(
        """SELECT cohort_id, user_id FROM cohort_enrolments
           WHERE cohort_id = ANY($1::uuid[]) ORDER BY enrolled_at""",
        list(cohort_ids),
    )
    members: dict[uuid.UUID, list[uuid.UUID]] = {c: [] for c in cohort_ids}
    for row in rows:
        members[row["cohort_id"]].append(row["user_id"])
    return members


async def insert_enrolment(
    conn: Connection,
    *,
    cohort_id: uuid.UUID,
    user_id: uuid.UUID,
    program_id: uuid.UUID,
    amount_minor: int,
    currency: str,
    escrow_id: uuid.UUID | None,
    now: datetime,
) -> None:
    await conn.execute(
        """INSERT INTO cohort_enrolments (cohort_id, user_id, program_id, amount_minor, currency,
               escrow_id, enrolled_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7)""",
        cohort_id,
        user_id,
        program_id,
        amount_minor,
        currency,
        escrow_id,
        now,
    )


async def delete_enrolment(conn: Connection, cohort_id: uuid.UUID, user_id: uuid.UUID) -> None:
    await conn.execute(
        "DELETE FROM cohort_enrolments WHERE cohort_id = $1 AND user_id = $2", cohort_id, user_id
    )


async def insert_unlock(
    conn: Connection,
    *,
    user_id: uuid.UUID,
    program_id: uuid.UUID,
    redemption_id: uuid.UUID,
    at: datetime,
) -> bool:
    """False when the member had unlocked the program already."""
    inserted = await conn.fetchval(
        """INSERT INTO program_unlocks (user_id, program_id, redemption_id, unlocked_at)
           VALUES ($1, $2, $3, $4) ON CONFLICT (user_id, program_id) DO NOTHING
           RETURNING true""",
        user_id,
        program_id,
        redemption_id,
        at,
    )
    return bool(inserted)


async def unlocked(conn: Connection, program_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT true FROM program_unlocks WHERE program_id = $1 AND user_id = $2",
            program_id,
            user_id,
        )
    )


async def cohort_pairs(conn: Connection, user_id: uuid.UUID) -> set[tuple[uuid.UUID, uuid.UUID]]:
    """(program owner, member) of every enrolment in a cohort, `user_id` on either side."""
    rows = await conn.fetch(
        """SELECT DISTINCT p.owner_id, e.user_id
             FROM cohort_enrolments e JOIN programs p ON p.id = e.program_id
            WHERE (p.owner_id = $1 OR e.user_id = $1) AND p.owner_id <> e.user_id""",
        user_id,
    )
    return {(r["owner_id"], r["user_id"]) for r in rows}
