"""Learning a program: reading its lessons (enrolled learners; the owner and staff may
read along), completing them, and progress — lessons done, time left, the next lesson,
assessments passed and the certificate once earned."""

from __future__ import annotations

import math
import uuid

from dracarys.curriculum import events
from dracarys.curriculum.assessments.service import assessments_passed, certificate_of
from dracarys.curriculum.courses.models import LessonView
from dracarys.curriculum.courses.service import (
    lesson_brief,
    lesson_of,
    lesson_view,
    lessons_of_program,
)
from dracarys.curriculum.enrolment.service import ensure_learner, is_learner
from dracarys.curriculum.learning import store
from dracarys.curriculum.learning.models import ProgressView
from dracarys.db import Connection, transaction
from dracarys.errors import Forbidden, NotFound
from dracarys.identity import CurrentUser, timezone_of
from dracarys.outbox import emit_event
from dracarys.platform import Platform


async def get_lesson(platform: Platform, actor: CurrentUser, lesson_id: uuid.UUID) -> LessonView:
    async with platform.pool.acquire() as conn:
        lesson = await lesson_of(conn, lesson_id)
        if lesson is None:
            raise NotFound("no such lesson", field="lesson_id")
        await ensure_learner(conn, actor, lesson.program_id, lesson.owner_id)
        return await lesson_view(conn, lesson)


async def _progress(
    conn: Connection, platform: Platform, user_id: uuid.UUID, program_id: uuid.UUID
) -> ProgressView:
    lessons = await lessons_of_program(conn, program_id)
    done = await store.completed_lessons(conn, user_id, program_id)
    passed, assessments = await assessments_passed(conn, user_id, program_id)
    remaining = [lesson for lesson in lessons if lesson.id not in done]
    total = len(lessons)
    return ProgressView(
        program_id=program_id,
        # Floor, so 100% means every lesson is done.
        percent_complete=math.floor(100 * (total - len(remaining)) / total) if total else 0,
        completed_lessons=total - len(remaining),
        total_lessons=total,
        minutes_remaining=sum(lesson.estimated_minutes for lesson in remaining),
        next_lesson=lesson_brief(remaining[0]) if remaining else None,
        passed_assessments=passed,
        total_assessments=assessments,
        certificate=await certificate_of(conn, platform, user_id, program_id),
        completed_lesson_ids=[lesson.id for lesson in lessons if lesson.id in done],
    )


async def progress(platform: Platform, actor: CurrentUser, program_id: uuid.UUID) -> ProgressView:
    async with platform.pool.acquire() as conn:
        if not await is_learner(conn, program_id, actor.id):
            raise NotFound("you are not enrolled in this program", field="program_id")
        return await _progress(conn, platform, actor.id, program_id)


async def complete_lesson(
    platform: Platform, actor: CurrentUser, lesson_id: uuid.UUID
) -> ProgressView:
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        lesson = await lesson_of(conn, lesson_id)
        if lesson is None:
            raise NotFound("no such lesson", field="lesson_id")
        if not await ensure_learner(conn, actor, lesson.program_id, lesson.owner_id):
            raise Forbidden("only enrolled learners complete lessons")
        if await store.insert_completion(conn, actor.id, lesson_id, now):
            await emit_event(
                conn,
                events.LessonCompleted(
                    user_id=actor.id,
                    lesson_id=lesson_id,
                    lesson_title=lesson.title,
                    # Points counts learning days in the learner's own zone.
                    timezone=await timezone_of(conn, actor.id),
                ),
            )
        return await _progress(conn, platform, actor.id, lesson.program_id)
