"""SQL of assessments: questions, learners' attempts, and certificates."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from dracarys.curriculum.assessments.models import Assessment, Attempt, Certificate
from dracarys.db import Connection, record_or_none, records

# ---- assessments and attempts ---------------------------------------------------------


async def insert_assessment(
    conn: Connection,
    *,
    assessment_id: uuid.UUID,
    module_id: uuid.UUID,
    title: str,
    pass_mark_percent: int,
    max_attempts: int,
    questions: list[dict[str, Any]],
    now: datetime,
) -> None:
    await conn.execute(
        """INSERT INTO assessments (id, module_id, title, pass_mark_percent, max_attempts,
               questions, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7)""",
        assessment_id,
        module_id,
        title,
        pass_mark_percent,
        max_attempts,
        questions,
        now,
    )


async def update_assessment(
    conn: Connection,
    assessment_id: uuid.UUID,
    *,
    title: str,
    pass_mark_percent: int,
    max_attempts: int,
    questions: list[dict[str, Any]],
) -> None:
    await conn.execute(
        """UPDATE assessments SET title = $2, pass_mark_percent = $3, max_attempts = $4,
               questions = $5
           WHERE id = $1""",
        assessment_id,
        title,
        pass_mark_percent,
        max_attempts,
        questions,
    )


async def attempt_count(conn: Connection, assessment_id: uuid.UUID) -> int:
    count: int = await conn.fetchval(
        "SELECT count(*) FROM assessment_attempts WHERE assessment_id = $1", assessment_id
    )
    return count


_LOCKS = {None: "", "share": " FOR SHARE OF a", "update": " FOR UPDATE OF a"}


async def assessment(
    conn: Connection, assessment_id: uuid.UUID, *, lock: Literal["share", "update"] | None = None
) -> Assessment | None:
    """`lock`: "share" while grading an attempt, "update" while editing, so an attempt is
    graded against the questions the edit's check saw."""
    row = await conn.fetchrow(
        f"""SELECT a.id, a.module_id, m.program_id, p.owner_id, a.title, a.pass_mark_percent,
                   a.max_attempts, a.questions
            FROM assessments a
            JOIN program_modules m ON m.id = a.module_id JOIN programs p ON p.id = m.program_id
            WHERE a.id = $1{_LOCKS[lock]}""",
        assessment_id,
    )
    return record_or_none(Assessment, row)


async def assessment_ids_of_program(conn: Connection, program_id: uuid.UUID) -> list[uuid.UUID]:
    rows = await conn.fetch(
        """SELECT a.id FROM assessments a
           JOIN program_modules m ON m.id = a.module_id
           WHERE m.program_id = $1 ORDER BY m.position, a.created_at""",
        program_id,
    )
    return [r["id"] for r in rows]


async def attempts(conn: Connection, assessment_id: uuid.UUID, user_id: uuid.UUID) -> list[Attempt]:
    rows = await conn.fetch(
        """SELECT attempt_no, passed FROM assessment_attempts
           WHERE assessment_id = $1 AND user_id = $2 ORDER BY attempt_no""",
        assessment_id,
        user_id,
    )
    return records(Attempt, rows)


async def insert_attempt(
    conn: Connection,
    *,
    attempt_id: uuid.UUID,
    assessment_id: uuid.UUID,
    user_id: uuid.UUID,
    attempt_no: int,
    answers: dict[str, Any],
    score_percent: int,
    passed: bool,
    now: datetime,
) -> None:
    await conn.execute(
        """INSERT INTO assessment_attempts (id, assessment_id, user_id, attempt_no, answers,
               score_percent, passed, submitted_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
        attempt_id,
        assessment_id,
        user_id,
        attempt_no,
        answers,
        score_percent,
        passed,
        now,
    )


async def passed_assessments(
    conn: Connection, user_id: uuid.UUID, program_id: uuid.UUID
) -> set[uuid.UUID]:
    rows = await conn.fetch(
        """SELECT DISTINCT t.assessment_id FROM assessment_attempts t
           JOIN assessments a ON a.id = t.assessment_id
           JOIN program_modules m ON m.id = a.module_id
           WHERE t.user_id = $1 AND m.program_id = $2 AND t.passed""",
        user_id,
        program_id,
    )
    return {r["assessment_id"] for r in rows}


# ---- certificates ---------------------------------------------------------------------


async def insert_certificate(
    conn: Connection,
    *,
    certificate_id: uuid.UUID,
    program_id: uuid.UUID,
    user_id: uuid.UUID,
    now: datetime,
) -> bool:
    done = await conn.fetchval(
        """INSERT INTO certificates (id, program_id, user_id, granted_at) VALUES ($1, $2, $3, $4)
           ON CONFLICT (program_id, user_id) DO NOTHING RETURNING id""",
        certificate_id,
        program_id,
        user_id,
        now,
    )
    return done is not None


_CERTIFICATE = """SELECT c.id, c.program_id, p.title AS program_title, c.user_id, c.granted_at
                  FROM certificates c JOIN programs p ON p.id = c.program_id"""


async def certificate(conn: Connection, certificate_id: uuid.UUID) -> Certificate | None:
    row = await conn.fetchrow(f"{_CERTIFICATE} WHERE c.id = $1", certificate_id)
    return record_or_none(Certificate, row)


async def certificate_of(
    conn: Connection, program_id: uuid.UUID, user_id: uuid.UUID
) -> Certificate | None:
    row = await conn.fetchrow(
        f"{_CERTIFICATE} WHERE c.program_id = $1 AND c.user_id = $2", program_id, user_id
    )
    return record_or_none(Certificate, row)
