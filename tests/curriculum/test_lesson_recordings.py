"""Recordings of cohort live sessions belong to the lesson they are linked to: recordings
linked before the curriculum kept them itself (migration 0720) stay on their lessons."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from dracarys.app import create_app
from dracarys.clock import ManualClock
from dracarys.db.migrate import migrate
from dracarys.identity.access import Role
from tests.conftest import database_migrated_without, make_settings
from tests.support import AppClient, create_user

LESSON_RECORDINGS_MIGRATION = 720


async def test_recordings_linked_before_the_upgrade_stay_on_their_lessons(tmp_path: Any) -> None:
    clock = ManualClock()
    starts = datetime(2025, 12, 1, 15, 0, tzinfo=UTC)
    program, module, lesson, cohort, session = (uuid.uuid4() for _ in range(5))
    async with database_migrated_without({LESSON_RECORDINGS_MIGRATION}) as dsn:
        settings = make_settings(dsn, tmp_path)
        pool = await asyncpg.create_pool(dsn, min_size=1, max_size=4)
        try:
            mentor = await create_user(pool, settings, clock, role=Role.MENTOR)
            async with pool.acquire() as conn:
                # As the code before migration 0720 wrote them: the recording on the session.
                await conn.execute(
                    """INSERT INTO programs (id, owner_id, title, created_at)
                       VALUES ($1, $2, 'Options', $3)""",
                    program,
                    mentor.id,
                    starts,
                )
                await conn.execute(
                    """INSERT INTO program_modules (id, program_id, title, position, created_at)
                       VALUES ($1, $2, 'Basics', 1, $3)""",
                    module,
                    program,
                    starts,
                )
                await conn.execute(
                    """INSERT INTO lessons (id, module_id, title, position, estimated_minutes,
                                            created_at, updated_at)
                       VALUES ($1, $2, 'Calls', 1, 10, $3, $3)""",
                    lesson,
                    module,
                    starts,
                )
                await conn.execute(
                    """INSERT INTO cohorts (id, program_id, title, starts_at, ends_at, capacity,
                                            created_at)
                       VALUES ($1, $2, 'Cohort 1', $3, $4, 10, $3)""",
                    cohort,
                    program,
                    starts,
                    starts + timedelta(days=30),
                )
                await conn.execute(
                    """INSERT INTO mentor_sessions (id, mentor_id, kind, title, starts_at, ends_at,
                           capacity, room_name, cohort_id, lesson_id, recording_url, status,
                           created_at, completed_at, span)
                       VALUES ($1, $2, 'group', 'Live: calls', $3, $4, 10, 'room-1', $5, $6,
                               'https://videos.example.com/r/1', 'completed', $3, $4, 'empty')""",
                    session,
                    mentor.id,
                    starts,
                    starts + timedelta(hours=1),
                    cohort,
                    lesson,
                )
                await migrate(conn)
            async with AppClient(create_app(settings, clock=clock)) as client:
                shown = await client.get(f"/api/v1/lessons/{lesson}", headers=mentor.headers)
        finally:
            await pool.close()

    assert shown.status_code == 200, shown.text
    assert shown.json()["recordings"] == [
        {
            "session_id": str(session),
            "title": "Live: calls",
            "starts_at": "2025-12-01T15:00:00Z",
            "recording_url": "https://videos.example.com/r/1",
        }
    ]
