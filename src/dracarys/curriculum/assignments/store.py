"""SQL of assignments and their submissions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from dracarys.curriculum.assignments.models import Assignment, Submission, SubmissionToReview
from dracarys.db import Connection, record_or_none, records


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


async def assignment(conn: Connection, assignment_id: uuid.UUID) -> Assignment | None:
    row = await conn.fetchrow(
        """SELECT a.id, a.module_id, m.program_id, p.owner_id, a.title, a.instructions,
                  a.rubric
           FROM assignments a
           JOIN program_modules m ON m.id = a.module_id JOIN programs p ON p.id = m.program_id
           WHERE a.id = $1""",
        assignment_id,
    )
    return record_or_none(Assignment, row)


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


_SUBMISSION = """s.id, s.assignment_id, s.user_id, s.body, s.submitted_at, s.scores,
                 s.total_points, s.max_points, s.feedback, s.reviewed_at"""


async def submission(conn: Connection, submission_id: uuid.UUID) -> SubmissionToReview | None:
    row = await conn.fetchrow(
        f"""SELECT {_SUBMISSION}, a.rubric, p.owner_id
            FROM assignment_submissions s
            JOIN assignments a ON a.id = s.assignment_id
            JOIN program_modules m ON m.id = a.module_id
            JOIN programs p ON p.id = m.program_id
            WHERE s.id = $1""",
        submission_id,
    )
    return record_or_none(SubmissionToReview, row)


async def submissions_of(
    conn: Connection, assignment_id: uuid.UUID, user_id: uuid.UUID | None
) -> list[Submission]:
    rows = await conn.fetch(
        f"""SELECT {_SUBMISSION} FROM assignment_submissions s
            WHERE s.assignment_id = $1 AND ($2::uuid IS NULL OR s.user_id = $2)
            ORDER BY s.submitted_at""",
        assignment_id,
        user_id,
    )
    return records(Submission, rows)


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
