"""SQL of discovery: the languages mentors teach in, mentees' onboarding quizzes and the
matches computed from them. (Mentors' profiles and ratings are identity's.)"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime

import msgspec

from dracarys.db import Connection, record_or_none
from dracarys.mentorship.discovery.models import QuizInput, QuizView


async def set_languages(conn: Connection, user_id: uuid.UUID, languages: list[str]) -> None:
    await conn.execute(
        """INSERT INTO mentor_languages (user_id, languages) VALUES ($1, $2)
           ON CONFLICT (user_id) DO UPDATE SET languages = $2""",
        user_id,
        languages,
    )


async def languages_of(
    conn: Connection, user_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, list[str]]:
    rows = await conn.fetch(
        "SELECT user_id, languages FROM mentor_languages WHERE user_id = ANY($1::uuid[])",
        list(user_ids),
    )
    return {r["user_id"]: list(r["languages"]) for r in rows}


async def speakers_of(conn: Connection, language: str) -> list[uuid.UUID]:
    rows = await conn.fetch(
        "SELECT user_id FROM mentor_languages WHERE $1 = ANY(languages)", language
    )
    return [r["user_id"] for r in rows]


async def upsert_quiz(conn: Connection, user_id: uuid.UUID, quiz: QuizInput, now: datetime) -> None:
    await conn.execute(
        """INSERT INTO match_quizzes (user_id, answers, updated_at) VALUES ($1, $2, $3)
           ON CONFLICT (user_id) DO UPDATE SET answers = $2, updated_at = $3""",
        user_id,
        msgspec.to_builtins(quiz),
        now,
    )


async def quiz_of(conn: Connection, user_id: uuid.UUID) -> QuizInput | None:
    answers = await conn.fetchval("SELECT answers FROM match_quizzes WHERE user_id = $1", user_id)
    return None if answers is None else msgspec.convert(answers, QuizInput)


async def saved_quiz(conn: Connection, user_id: uuid.UUID) -> QuizView | None:
    row = await conn.fetchrow(
        "SELECT answers, updated_at FROM match_quizzes WHERE user_id = $1", user_id
    )
    return record_or_none(QuizView, row)


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
