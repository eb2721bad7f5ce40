"""SQL for the curriculum: programs, cohorts and enrolments, modules, lessons, uploads,
completions, assessments and attempts, assignments and submissions, certificates."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from dracarys.db import Connection

Row = asyncpg.Record


# ---- programs and cohorts -------------------------------------------------------------


async def insert_program(
    conn: Connection,
    *,
    program_id: uuid.UUID,
    owner_id: uuid.UUID,
    fields: dict[str, Any],
    now: datetime,
) -> None:
    await conn.execute(
        """INSERT INTO programs (id, owner_id, title, description, difficulty, price_minor,
               currency, published, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)""",
        program_id,
        owner_id,
        fields["title"],
        fields["description"],
        fields["difficulty"],
        fields["price_minor"],
        fields["currency"],
        fields["published"],
        now,
    )


async def update_program(conn: Connection, program_id: uuid.UUID, fields: dict[str, Any]) -> None:
    await conn.execute(
        """UPDATE programs SET title = $2, description = $3, difficulty = $4, price_minor = $5,
               currency = $6, published = $7 WHERE id = $1""",
        program_id,
        fields["title"],
        fields["description"],
        fields["difficulty"],
        fields["price_minor"],
        fields["currency"],
        fields["published"],
    )


async def program(conn: Connection, program_id: uuid.UUID) -> Row | None:
    row: Row | None = await conn.fetchrow("SELECT * FROM programs WHERE id = $1", program_id)
    return row


async def programs(conn: Connection, *, owner_id: uuid.UUID | None, limit: int) -> list[Row]:
    """Published programs, plus every program of `owner_id`."""
    return list(
        await conn.fetch(
            """SELECT * FROM programs WHERE published OR owner_id = $1
               ORDER BY created_at DESC LIMIT $2""",
            owner_id,
            limit,
        )
    )


async def program_by_title(conn: Connection, owner_id: uuid.UUID, title: str) -> Row | None:
    row: Row | None = await conn.fetchrow(
        "SELECT * FROM programs WHERE owner_id = $1 AND title = $2", owner_id, title
    )
    return row


async def insert_cohort(
    conn: Connection,
    *,
    cohort_id: uuid.UUID,
    program_id: uuid.UUID,
    title: str,
    starts_at: datetime,
    ends_at: datetime,
    capacity: int,
    now: datetime,
) -> None:
    await conn.execute(
        """INSERT INTO cohorts (id, program_id, title, starts_at, ends_at, capacity, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7)""",
        cohort_id,
        program_id,
        title,
        starts_at,
        ends_at,
        capacity,
        now,
    )


_COHORT = """SELECT c.*, p.owner_id, p.price_minor, p.currency, p.title AS program_title,
                    (SELECT count(*) FROM cohort_enrolments e WHERE e.cohort_id = c.id)
                        AS enrolled
             FROM cohorts c JOIN programs p ON p.id = c.program_id"""


async def cohort(conn: Connection, cohort_id: uuid.UUID) -> Row | None:
    row: Row | None = await conn.fetchrow(f"{_COHORT} WHERE c.id = $1", cohort_id)
    return row


async def lock_cohort(conn: Connection, cohort_id: uuid.UUID) -> None:
    await conn.execute("SELECT 1 FROM cohorts WHERE id = $1 FOR UPDATE", cohort_id)


async def cohorts_of(conn: Connection, program_id: uuid.UUID) -> list[Row]:
    return list(
        await conn.fetch(f"{_COHORT} WHERE c.program_id = $1 ORDER BY c.starts_at", program_id)
    )


async def enrolment(conn: Connection, cohort_id: uuid.UUID, user_id: uuid.UUID) -> Row | None:
    row: Row | None = await conn.fetchrow(
        "SELECT * FROM cohort_enrolments WHERE cohort_id = $1 AND user_id = $2",
        cohort_id,
        user_id,
    )
    return row


async def program_enrolment(
    conn: Connection, program_id: uuid.UUID, user_id: uuid.UUID
) -> Row | None:
    row: Row | None = await conn.fetchrow(
        "SELECT * FROM cohort_enrolments WHERE program_id = $1 AND user_id = $2",
        program_id,
        user_id,
    )
    return row


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


# ---- modules and lessons --------------------------------------------------------------


async def insert_module(
    conn: Connection, *, module_id: uuid.UUID, program_id: uuid.UUID, title: str, now: datetime
) -> None:
    await conn.execute(
        """INSERT INTO program_modules (id, program_id, title, position, created_at)
           VALUES ($1, $2, $3, (SELECT coalesce(max(position), 0) + 1 FROM program_modules
                                WHERE program_id = $2), $4)""",
        module_id,
        program_id,
        title,
        now,
    )


async def module(conn: Connection, module_id: uuid.UUID) -> Row | None:
    row: Row | None = await conn.fetchrow(
        """SELECT m.*, p.owner_id FROM program_modules m JOIN programs p ON p.id = m.program_id
           WHERE m.id = $1""",
        module_id,
    )
    return row


async def modules_of(conn: Connection, program_id: uuid.UUID) -> list[Row]:
    return list(
        await conn.fetch(
            "SELECT * FROM program_modules WHERE program_id = $1 ORDER BY position, created_at",
            program_id,
        )
    )


async def set_positions(conn: Connection, table: str, ids: Sequence[uuid.UUID]) -> None:
    assert table in ("program_modules", "lessons")
    await conn.executemany(
        f"UPDATE {table} SET position = $2 WHERE id = $1",
        [(item, position) for position, item in enumerate(ids, start=1)],
    )


async def insert_lesson(
    conn: Connection,
    *,
    lesson_id: uuid.UUID,
    module_id: uuid.UUID,
    title: str,
    body_markdown: str,
    body_html: str,
    estimated_minutes: int,
    now: datetime,
) -> None:
    await conn.execute(
        """INSERT INTO lessons (id, module_id, title, body_markdown, body_html, position,
               estimated_minutes, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, (SELECT coalesce(max(position), 0) + 1 FROM lessons
                                        WHERE module_id = $2), $6, $7, $7)""",
        lesson_id,
        module_id,
        title,
        body_markdown,
        body_html,
        estimated_minutes,
        now,
    )


async def update_lesson(
    conn: Connection,
    lesson_id: uuid.UUID,
    *,
    title: str,
    body_markdown: str,
    body_html: str,
    estimated_minutes: int,
    now: datetime,
) -> None:
    await conn.execute(
        """UPDATE lessons SET title = $2, body_markdown = $3, body_html = $4,
               estimated_minutes = $5, updated_at = $6 WHERE id = $1""",
        lesson_id,
        title,
        body_markdown,
        body_html,
        estimated_minutes,
        now,
    )


async def lesson(conn: Connection, lesson_id: uuid.UUID) -> Row | None:
    row: Row | None = await conn.fetchrow(
        """SELECT l.*, m.program_id, p.owner_id FROM lessons l
           JOIN program_modules m ON m.id = l.module_id JOIN programs p ON p.id = m.program_id
           WHERE l.id = $1""",
        lesson_id,
    )
    return row


async def lesson_program_id(conn: Connection, lesson_id: uuid.UUID) -> uuid.UUID | None:
    program_id: uuid.UUID | None = await conn.fetchval(
        """SELECT m.program_id FROM lessons l JOIN program_modules m ON m.id = l.module_id
           WHERE l.id = $1""",
        lesson_id,
    )
    return program_id


async def lessons_of_program(conn: Connection, program_id: uuid.UUID) -> list[Row]:
    """In study order: module position, then lesson position."""
    return list(
        await conn.fetch(
            """SELECT l.id, l.module_id, l.title, l.position, l.estimated_minutes
               FROM lessons l JOIN program_modules m ON m.id = l.module_id
               WHERE m.program_id = $1
               ORDER BY m.position, m.created_at, l.position, l.created_at""",
            program_id,
        )
    )


async def lessons_of_module(conn: Connection, module_id: uuid.UUID) -> list[uuid.UUID]:
    return [
        r["id"] for r in await conn.fetch("SELECT id FROM lessons WHERE module_id = $1", module_id)
    ]


# ---- uploads --------------------------------------------------------------------------


async def insert_asset(
    conn: Connection,
    *,
    asset_id: uuid.UUID,
    program_id: uuid.UUID,
    uploaded_by: uuid.UUID,
    content_type: str,
    size_bytes: int,
    stored_name: str,
    sha256: str,
    now: datetime,
) -> None:
    await conn.execute(
        """INSERT INTO lesson_assets (id, program_id, uploaded_by, content_type, size_bytes,
               stored_name, sha256, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
        asset_id,
        program_id,
        uploaded_by,
        content_type,
        size_bytes,
        stored_name,
        sha256,
        now,
    )


async def asset(conn: Connection, asset_id: uuid.UUID) -> Row | None:
    row: Row | None = await conn.fetchrow("SELECT * FROM lesson_assets WHERE id = $1", asset_id)
    return row


# ---- progress -------------------------------------------------------------------------


async def insert_completion(
    conn: Connection, user_id: uuid.UUID, lesson_id: uuid.UUID, now: datetime
) -> bool:
    done = await conn.fetchval(
        """INSERT INTO lesson_completions (user_id, lesson_id, completed_at) VALUES ($1, $2, $3)
           ON CONFLICT DO NOTHING RETURNING lesson_id""",
        user_id,
        lesson_id,
        now,
    )
    return done is not None


async def completed_lessons(
    conn: Connection, user_id: uuid.UUID, program_id: uuid.UUID
) -> set[uuid.UUID]:
    rows = await conn.fetch(
        """SELECT c.lesson_id FROM lesson_completions c JOIN lessons l ON l.id = c.lesson_id
           JOIN program_modules m ON m.id = l.module_id
           WHERE c.user_id = $1 AND m.program_id = $2""",
        user_id,
        program_id,
    )
    return {r["lesson_id"] for r in rows}


async def learner_timezone(conn: Connection, user_id: uuid.UUID) -> str | None:
    """The IANA zone on the learner's identity profile, if they set one."""
    timezone: str | None = await conn.fetchval(
        "SELECT timezone FROM user_profiles WHERE user_id = $1", user_id
    )
    return timezone


# ---- assessments ----------------------------------------------------------------------


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


async def assessment(conn: Connection, assessment_id: uuid.UUID) -> Row | None:
    row: Row | None = await conn.fetchrow(
        """SELECT a.*, m.program_id, p.owner_id FROM assessments a
           JOIN program_modules m ON m.id = a.module_id JOIN programs p ON p.id = m.program_id
           WHERE a.id = $1""",
        assessment_id,
    )
    return row


async def assessments_of_program(conn: Connection, program_id: uuid.UUID) -> list[Row]:
    return list(
        await conn.fetch(
            """SELECT a.id, a.module_id FROM assessments a
               JOIN program_modules m ON m.id = a.module_id
               WHERE m.program_id = $1 ORDER BY m.position, a.created_at""",
            program_id,
        )
    )


async def attempts(conn: Connection, assessment_id: uuid.UUID, user_id: uuid.UUID) -> list[Row]:
    return list(
        await conn.fetch(
            """SELECT attempt_no, passed FROM assessment_attempts
               WHERE assessment_id = $1 AND user_id = $2 ORDER BY attempt_no""",
            assessment_id,
            user_id,
        )
    )


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


# ---- assignments ----------------------------------------------------------------------


async def insert_assignment(
    conn: Connection,
    *,
    assignment_id: uuid.UUID,
    module_id: uuid.UUID,
    title: str,
    instructions: str,
    rubric: list[dict[str, Any]],
    now: datetime,
) -> None:
    await conn.execute(
        """INSERT INTO assignments (id, module_id, title, instructions, rubric, created_at)
           VALUES ($1, $2, $3, $4, $5, $6)""",
        assignment_id,
        module_id,
        title,
        instructions,
        rubric,
        now,
    )


async def assignment(conn: Connection, assignment_id: uuid.UUID) -> Row | None:
    row: Row | None = await conn.fetchrow(
        """SELECT a.*, m.program_id, p.owner_id FROM assignments a
           JOIN program_modules m ON m.id = a.module_id JOIN programs p ON p.id = m.program_id
           WHERE a.id = $1""",
        assignment_id,
    )
    return row


async def module_items(conn: Connection, program_id: uuid.UUID) -> list[Row]:
    """(module_id, kind, id) of every assessment and assignment in the program."""
    return list(
        await conn.fetch(
            """SELECT a.module_id, 'assessment' AS kind, a.id FROM assessments a
               JOIN program_modules m ON m.id = a.module_id WHERE m.program_id = $1
               UNION ALL
               SELECT s.module_id, 'assignment', s.id FROM assignments s
               JOIN program_modules m ON m.id = s.module_id WHERE m.program_id = $1""",
            program_id,
        )
    )


async def insert_submission(
    conn: Connection,
    *,
    submission_id: uuid.UUID,
    assignment_id: uuid.UUID,
    user_id: uuid.UUID,
    body: str,
    now: datetime,
) -> None:
    await conn.execute(
        """INSERT INTO assignment_submissions (id, assignment_id, user_id, body, submitted_at)
           VALUES ($1, $2, $3, $4, $5)""",
        submission_id,
        assignment_id,
        user_id,
        body,
        now,
    )


async def submission(conn: Connection, submission_id: uuid.UUID) -> Row | None:
    row: Row | None = await conn.fetchrow(
        """SELECT s.*, a.rubric, a.program_id, a.owner_id FROM assignment_submissions s
           JOIN (SELECT x.id, x.rubric, m.program_id, p.owner_id FROM assignments x
                 JOIN program_modules m ON m.id = x.module_id
                 JOIN programs p ON p.id = m.program_id) a ON a.id = s.assignment_id
           WHERE s.id = $1""",
        submission_id,
    )
    return row


async def submissions_of(
    conn: Connection, assignment_id: uuid.UUID, user_id: uuid.UUID | None
) -> list[Row]:
    return list(
        await conn.fetch(
            """SELECT * FROM assignment_submissions
               WHERE assignment_id = $1 AND ($2::uuid IS NULL OR user_id = $2)
               ORDER BY submitted_at""",
            assignment_id,
            user_id,
        )
    )


async def set_feedback(
    conn: Connection,
    submission_id: uuid.UUID,
    *,
    scores: dict[str, int],
    total: int,
    maximum: int,
    feedback: str,
    reviewer: uuid.UUID,
    now: datetime,
) -> None:
    await conn.execute(
        """UPDATE assignment_submissions SET scores = $2, total_points = $3, max_points = $4,
               feedback = $5, reviewed_by = $6, reviewed_at = $7 WHERE id = $1""",
        submission_id,
        scores,
        total,
        maximum,
        feedback,
        reviewer,
        now,
    )


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


_CERTIFICATE = """SELECT c.*, p.title AS program_title
                  FROM certificates c JOIN programs p ON p.id = c.program_id"""


async def certificate(conn: Connection, certificate_id: uuid.UUID) -> Row | None:
    row: Row | None = await conn.fetchrow(f"{_CERTIFICATE} WHERE c.id = $1", certificate_id)
    return row


async def certificate_of(conn: Connection, program_id: uuid.UUID, user_id: uuid.UUID) -> Row | None:
    row: Row | None = await conn.fetchrow(
        f"{_CERTIFICATE} WHERE c.program_id = $1 AND c.user_id = $2", program_id, user_id
    )
    return row
