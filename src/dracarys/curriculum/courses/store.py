"""SQL of the course builder: programs, cohorts, modules, lessons, uploaded images and the
recordings linked to lessons."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any, Literal

from dracarys.curriculum.courses.models import (
    Asset,
    Cohort,
    Lesson,
    LessonOutline,
    LessonRecording,
    Module,
    ModuleItem,
    Program,
)
from dracarys.db import Connection, record_or_none, records

# ---- programs -------------------------------------------------------------------------

_PROGRAM = """SELECT id, owner_id, title, description, difficulty, price_minor,
                     rtrim(currency) AS currency, published, topics, onboarding
              FROM programs"""


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
               currency, published, topics, onboarding, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)""",
        program_id,
        owner_id,
        fields["title"],
        fields["description"],
        fields["difficulty"],
        fields["price_minor"],
        fields["currency"],
        fields["published"],
        fields["topics"],
        fields["onboarding"],
        now,
    )


async def update_program(conn: Connection, program_id: uuid.UUID, fields: dict[str, Any]) -> None:
    await conn.execute(
        """UPDATE programs SET title = $2, description = $3, difficulty = $4, price_minor = $5,
               currency = $6, published = $7, topics = $8, onboarding = $9 WHERE id = $1""",
        program_id,
        fields["title"],
        fields["description"],
        fields["difficulty"],
        fields["price_minor"],
        fields["currency"],
        fields["published"],
        fields["topics"],
        fields["onboarding"],
    )


async def program(conn: Connection, program_id: uuid.UUID) -> Program | None:
    return record_or_none(Program, await conn.fetchrow(f"{_PROGRAM} WHERE id = $1", program_id))


async def programs(conn: Connection, *, owner_id: uuid.UUID | None, limit: int) -> list[Program]:
    """Published programs, plus every program of `owner_id`."""
    rows = await conn.fetch(
        f"""{_PROGRAM} WHERE published OR owner_id = $1
            ORDER BY created_at DESC LIMIT $2""",
        owner_id,
        limit,
    )
    return records(Program, rows)


async def program_by_title(conn: Connection, owner_id: uuid.UUID, title: str) -> Program | None:
    row = await conn.fetchrow(f"{_PROGRAM} WHERE owner_id = $1 AND title = $2", owner_id, title)
    return record_or_none(Program, row)


# ---- cohorts --------------------------------------------------------------------------


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


_COHORT = """SELECT c.id, c.program_id, c.title, c.starts_at, c.ends_at, c.capacity,
                    p.owner_id, p.price_minor, rtrim(p.currency) AS currency,
                    p.title AS program_title, p.onboarding,
                    (SELECT count(*) FROM cohort_enrolments e WHERE e.cohort_id = c.id)
                        AS enrolled
             FROM cohorts c JOIN programs p ON p.id = c.program_id"""


async def cohort(conn: Connection, cohort_id: uuid.UUID) -> Cohort | None:
    return record_or_none(Cohort, await conn.fetchrow(f"{_COHORT} WHERE c.id = $1", cohort_id))


async def lock_cohort(conn: Connection, cohort_id: uuid.UUID) -> None:
    await conn.execute("SELECT 1 FROM cohorts WHERE id = $1 FOR UPDATE", cohort_id)


async def cohorts_of(conn: Connection, program_id: uuid.UUID) -> list[Cohort]:
    rows = await conn.fetch(f"{_COHORT} WHERE c.program_id = $1 ORDER BY c.starts_at", program_id)
    return records(Cohort, rows)


async def cohorts_of_programs(conn: Connection, program_ids: Collection[uuid.UUID]) -> list[Cohort]:
    """Every cohort of these programs, earliest start first (the catalogue's one query)."""
    rows = await conn.fetch(
        f"{_COHORT} WHERE c.program_id = ANY($1::uuid[]) ORDER BY c.starts_at", list(program_ids)
    )
    return records(Cohort, rows)


# ---- modules and lessons --------------------------------------------------------------

_MODULE = """SELECT m.id, m.program_id, p.owner_id, m.title, m.position
             FROM program_modules m JOIN programs p ON p.id = m.program_id"""


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


async def rename_module(conn: Connection, module_id: uuid.UUID, title: str) -> None:
    await conn.execute("UPDATE program_modules SET title = $2 WHERE id = $1", module_id, title)


async def module(conn: Connection, module_id: uuid.UUID) -> Module | None:
    return record_or_none(Module, await conn.fetchrow(f"{_MODULE} WHERE m.id = $1", module_id))


async def modules_of(conn: Connection, program_id: uuid.UUID) -> list[Module]:
    rows = await conn.fetch(
        f"{_MODULE} WHERE m.program_id = $1 ORDER BY m.position, m.created_at", program_id
    )
    return records(Module, rows)


async def set_positions(
    conn: Connection, table: Literal["program_modules", "lessons"], ids: Sequence[uuid.UUID]
) -> None:
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


async def lesson(conn: Connection, lesson_id: uuid.UUID) -> Lesson | None:
    row = await conn.fetchrow(
        """SELECT l.id, l.module_id, m.program_id, p.owner_id, l.title, l.position,
                  l.estimated_minutes, l.body_markdown, l.body_html
           FROM lessons l
           JOIN program_modules m ON m.id = l.module_id JOIN programs p ON p.id = m.program_id
           WHERE l.id = $1""",
        lesson_id,
    )
    return record_or_none(Lesson, row)


async def lesson_program_id(conn: Connection, lesson_id: uuid.UUID) -> uuid.UUID | None:
    program_id: uuid.UUID | None = await conn.fetchval(
        """SELECT m.program_id FROM lessons l JOIN program_modules m ON m.id = l.module_id
           WHERE l.id = $1""",
        lesson_id,
    )
    return program_id


async def lessons_of_program(conn: Connection, program_id: uuid.UUID) -> list[LessonOutline]:
    """In study order: module position, then lesson position."""
    rows = await conn.fetch(
        """SELECT l.id, l.module_id, l.title, l.position, l.estimated_minutes
           FROM lessons l JOIN program_modules m ON m.id = l.module_id
           WHERE m.program_id = $1
           ORDER BY m.position, m.created_at, l.position, l.created_at""",
        program_id,
    )
    return records(LessonOutline, rows)


async def lessons_of_module(conn: Connection, module_id: uuid.UUID) -> list[uuid.UUID]:
    return [
        r["id"] for r in await conn.fetch("SELECT id FROM lessons WHERE module_id = $1", module_id)
    ]


async def module_items(conn: Connection, program_id: uuid.UUID) -> list[ModuleItem]:
    """Every assessment and assignment in the program, by module."""
    rows = await conn.fetch(
        """SELECT a.module_id, 'assessment' AS kind, a.id FROM assessments a
           JOIN program_modules m ON m.id = a.module_id WHERE m.program_id = $1
           UNION ALL
           SELECT s.module_id, 'assignment', s.id FROM assignments s
           JOIN program_modules m ON m.id = s.module_id WHERE m.program_id = $1""",
        program_id,
    )
    return records(ModuleItem, rows)


# ---- recordings linked to lessons -----------------------------------------------------


async def link_recording(
    conn: Connection,
    *,
    session_id: uuid.UUID,
    lesson_id: uuid.UUID,
    title: str,
    starts_at: datetime,
    recording_url: str,
    now: datetime,
) -> None:
    """A session links one recording to one lesson: linking it again moves it."""
    await conn.execute(
        """INSERT INTO lesson_recordings (session_id, lesson_id, title, starts_at,
               recording_url, linked_at)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (session_id) DO UPDATE SET lesson_id = $2, title = $3, starts_at = $4,
               recording_url = $5, linked_at = $6""",
        session_id,
        lesson_id,
        title,
        starts_at,
        recording_url,
        now,
    )


async def recordings_of_lesson(conn: Connection, lesson_id: uuid.UUID) -> list[LessonRecording]:
    rows = await conn.fetch(
        """SELECT session_id, title, starts_at, recording_url FROM lesson_recordings
           WHERE lesson_id = $1 ORDER BY starts_at""",
        lesson_id,
    )
    return records(LessonRecording, rows)


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


async def asset(conn: Connection, asset_id: uuid.UUID) -> Asset | None:
    row = await conn.fetchrow(
        """SELECT id, program_id, content_type, size_bytes, stored_name FROM lesson_assets
           WHERE id = $1""",
        asset_id,
    )
    return record_or_none(Asset, row)
