"""SQL of assignments and their submissions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from dracarys.curriculum.assignments.models import (
    Assignment,
    Attachment,
    SubmissionToReview,
)
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


async def update_assignment(
    conn: Connection,
    assignment_id: uuid.UUID,
    *,
    title: str,
    instructions: str,
    rubric: list[dict[str, Any]],
) -> None:
    await conn.execute(
        "UPDATE assignments SET title = $2, instructions = $3, rubric = $4 WHERE id = $1",
        assignment_id,
        title,
        instructions,
        rubric,
    )


async def graded_count(conn: Connection, assignment_id: uuid.UUID) -> int:
    count: int = await conn.fetchval(
        """SELECT count(*) FROM assignment_submissions
           WHERE assignment_id = $1 AND reviewed_at IS NOT NULL""",
        assignment_id,
    )
    return count


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
    attachment_id: uuid.UUID | None,
    now: datetime,
) -> None:
    await conn.execute(
        """INSERT INTO assignment_submissions
               (id, assignment_id, user_id, body, submitted_at, attachment_id)
           VALUES ($1, $2, $3, $4, $5, $6)""",
        submission_id,
        assignment_id,
        user_id,
        body,
        now,
        attachment_id,
    )


async def insert_attachment(
    conn: Connection,
    *,
    attachment_id: uuid.UUID,
    assignment_id: uuid.UUID,
    user_id: uuid.UUID,
    file_name: str,
    content_type: str,
    size_bytes: int,
    stored_name: str,
    sha256: str,
    now: datetime,
) -> None:
    await conn.execute(
        """INSERT INTO assignment_attachments (id, assignment_id, user_id, file_name,
               content_type, size_bytes, stored_name, sha256, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)""",
        attachment_id,
        assignment_id,
        user_id,
        file_name,
        content_type,
        size_bytes,
        stored_name,
        sha256,
        now,
    )


async def attachment(conn: Connection, attachment_id: uuid.UUID) -> Attachment | None:
    row = await conn.fetchrow(
        """SELECT f.id, f.assignment_id, f.user_id, f.file_name, f.content_type, f.size_bytes,
                  f.stored_name, p.owner_id
           FROM assignment_attachments f
           JOIN assignments a ON a.id = f.assignment_id
           JOIN program_modules m ON m.id = a.module_id JOIN programs p ON p.id = m.program_id
           WHERE f.id = $1""",
        attachment_id,
    )
    return record_or_none(Attachment, row)


_SUBMISSION = """s.id, s.assignment_id, s.user_id, s.body, s.submitted_at, s.scores,
                 s.total_points, s.max_points, s.feedback, s.reviewed_at,
                 a.title AS assignment_title, p.title AS program_title,
                 f.id AS attachment_id, f.file_name AS attachment_name,
                 f.content_type AS attachment_content_type,
                 f.size_bytes AS attachment_size_bytes"""
_SUBMISSION_FROM = """assignment_submissions s
            JOIN assignments a ON a.id = s.assignment_id
            JOIN program_modules m ON m.id = a.module_id
            JOIN programs p ON p.id = m.program_id
            LEFT JOIN assignment_attachments f ON f.id = s.attachment_id"""


async def submission(conn: Connection, submission_id: uuid.UUID) -> SubmissionToReview | None:
    row = await conn.fetchrow(
        f"""SELECT {_SUBMISSION}, a.rubric, p.owner_id
            FROM {_SUBMISSION_FROM}
            WHERE s.id = $1""",
        submission_id,
    )
    return record_or_none(SubmissionToReview, row)


async def submissions_of(
    conn: Connection, assignment_id: uuid.UUID, user_id: uuid.UUID | None
) -> list[SubmissionToReview]:
    rows = await conn.fetch(
        f"""SELECT {_SUBMISSION}, a.rubric, p.owner_id FROM {_SUBMISSION_FROM}
            WHERE s.assignment_id = $1 AND ($2::uuid IS NULL OR s.user_id = $2)
            ORDER BY s.submitted_at""",
        assignment_id,
        user_id,
    )
    return records(SubmissionToReview, rows)


async def submissions_for_reviewer(
    conn: Connection, owner_id: uuid.UUID, *, limit: int
) -> list[SubmissionToReview]:
    """Submissions to the owner's programs: those awaiting a score first, oldest first."""
    rows = await conn.fetch(
        f"""SELECT {_SUBMISSION}, a.rubric, p.owner_id FROM {_SUBMISSION_FROM}
            WHERE p.owner_id = $1
            ORDER BY s.reviewed_at IS NOT NULL, s.reviewed_at DESC, s.submitted_at
            LIMIT $2""",
        owner_id,
        limit,
    )
    return records(SubmissionToReview, rows)


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
