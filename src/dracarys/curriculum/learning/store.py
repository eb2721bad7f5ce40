"""SQL of a learner's completed lessons."""

from __future__ import annotations

import uuid
from datetime import datetime

from dracarys.db import Connection


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
