"""The course builder: a mentor's programs, cohorts, modules and lessons (Markdown rendered
and sanitised once, on save), their order, uploaded images, and the recordings of cohort
live sessions linked to lessons. Only a program's mentor (or an admin) changes it."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import anyio
import msgspec

from dracarys.curriculum.courses import store
from dracarys.curriculum.courses.models import (
    AssetView,
    Cohort,
    CohortInput,
    CohortView,
    Lesson,
    LessonBrief,
    LessonInput,
    LessonOutline,
    LessonView,
    MarkdownPreview,
    MarkdownPreviewInput,
    Module,
    ModuleInput,
    ModuleOutline,
    Program,
    ProgramInput,
    ProgramView,
    RecordingLink,
)
from dracarys.curriculum.rendering import render_markdown
from dracarys.db import Connection, transaction
from dracarys.errors import Forbidden, InvalidInput, NotFound
from dracarys.files import sniff_file_type
from dracarys.identity import CurrentUser, Role, display_names
from dracarys.platform import Platform

# Images and charts a lesson may embed.
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})


# ---- permissions ----------------------------------------------------------------------


def program_fields(
    actor: CurrentUser, data: ProgramInput, *, was_onboarding: bool = False
) -> dict[str, Any]:
    """The columns a program input sets. Only an admin makes a program an onboarding
    program (or stops it being one), and an onboarding program is free."""
    onboarding = was_onboarding if data.onboarding is None else data.onboarding
    if onboarding != was_onboarding and actor.role is not Role.ADMIN:
        raise Forbidden("only an admin decides which programs newcomers are offered")
    if onboarding and data.price_minor != 0:
        raise InvalidInput("an onboarding program is free: set its price to 0", field="price_minor")
    fields = msgspec.to_builtins(data)
    fields["topics"] = sorted(set(fields["topics"]))
    fields["onboarding"] = onboarding
    return dict(fields)


def ensure_builder(actor: CurrentUser, owner_id: uuid.UUID) -> None:
    if actor.id != owner_id and actor.role is not Role.ADMIN:
        raise Forbidden("only the program's mentor changes it")


async def program_for_builder(
    conn: Connection, actor: CurrentUser, program_id: uuid.UUID
) -> Program:
    program = await store.program(conn, program_id)
    if program is None:
        raise NotFound("no such program", field="program_id")
    ensure_builder(actor, program.owner_id)
    return program


async def module_for_builder(conn: Connection, actor: CurrentUser, module_id: uuid.UUID) -> Module:
    module = await store.module(conn, module_id)
    if module is None:
        raise NotFound("no such module", field="module_id")
    ensure_builder(actor, module.owner_id)
    return module


# ---- views ----------------------------------------------------------------------------


def _program_view(program: Program, owner_name: str) -> ProgramView:
    return ProgramView(
        id=program.id,
        owner_id=program.owner_id,
        owner_name=owner_name,
        title=program.title,
        description=program.description,
        difficulty=program.difficulty,
        price_minor=program.price_minor,
        currency=program.currency,
        published=program.published,
        topics=program.topics,
        onboarding=program.onboarding,
    )


def _cohort_view(cohort: Cohort) -> CohortView:
    return CohortView(
        id=cohort.id,
        program_id=cohort.program_id,
        title=cohort.title,
        starts_at=cohort.starts_at,
        ends_at=cohort.ends_at,
        capacity=cohort.capacity,
        enrolled=cohort.enrolled,
    )


def lesson_brief(lesson: LessonOutline) -> LessonBrief:
    return LessonBrief(
        id=lesson.id,
        title=lesson.title,
        position=lesson.position,
        estimated_minutes=lesson.estimated_minutes,
    )


async def lesson_view(conn: Connection, lesson: Lesson) -> LessonView:
    recordings = await store.recordings_of_lesson(conn, lesson.id)
    return LessonView(
        id=lesson.id,
        module_id=lesson.module_id,
        program_id=lesson.program_id,
        title=lesson.title,
        position=lesson.position,
        estimated_minutes=lesson.estimated_minutes,
        body_markdown=lesson.body_markdown,
        body_html=lesson.body_html,
        recordings=[
            RecordingLink(
                session_id=r.session_id,
                title=r.title,
                starts_at=r.starts_at,
                recording_url=r.recording_url,
            )
            for r in recordings
        ],
    )


# ---- programs -------------------------------------------------------------------------


async def create_program(platform: Platform, actor: CurrentUser, data: ProgramInput) -> ProgramView:
    if actor.role not in (Role.MENTOR, Role.ADMIN):
        raise Forbidden("only mentors build programs")
    program_id = uuid.uuid4()
    async with transaction(platform.pool) as conn:
        await store.insert_program(
            conn,
            program_id=program_id,
            owner_id=actor.id,
            fields=program_fields(actor, data),
            now=platform.clock.now(),
        )
    return await program_outline(platform, actor, program_id)


async def update_program(
    platform: Platform, actor: CurrentUser, program_id: uuid.UUID, data: ProgramInput
) -> ProgramView:
    async with transaction(platform.pool) as conn:
        program = await program_for_builder(conn, actor, program_id)
        fields = program_fields(actor, data, was_onboarding=program.onboarding)
        await store.update_program(conn, program_id, fields)
    return await program_outline(platform, actor, program_id)


async def list_programs(platform: Platform, actor: CurrentUser | None) -> list[ProgramView]:
    async with platform.pool.acquire() as conn:
        programs = await store.programs(conn, owner_id=actor.id if actor else None, limit=200)
        names = await display_names(conn, platform.settings, {p.owner_id for p in programs})
        cohorts = await store.cohorts_of_programs(conn, [p.id for p in programs])
    views = []
    for program in programs:
        view = _program_view(program, names.get(program.owner_id, ""))
        # The catalogue shows when each program's cohorts run and how many seats are left.
        view.cohorts = [_cohort_view(c) for c in cohorts if c.program_id == program.id]
        views.append(view)
    return views


async def program_by_title(platform: Platform, owner_id: uuid.UUID, title: str) -> Program | None:
    async with platform.pool.acquire() as conn:
        return await store.program_by_title(conn, owner_id, title)


async def program_of(conn: Connection, program_id: uuid.UUID) -> Program | None:
    return await store.program(conn, program_id)


async def program_outline(
    platform: Platform, actor: CurrentUser | None, program_id: uuid.UUID
) -> ProgramView:
    async with platform.pool.acquire() as conn:
        program = await store.program(conn, program_id)
        visible = program is not None and (
            program.published
            or (actor is not None and (actor.id == program.owner_id or actor.is_staff))
        )
        if program is None or not visible:
            raise NotFound("no such program", field="program_id")
        modules = await store.modules_of(conn, program_id)
        lessons = await store.lessons_of_program(conn, program_id)
        items = await store.module_items(conn, program_id)
        cohorts = await store.cohorts_of(conn, program_id)
        names = await display_names(conn, platform.settings, [program.owner_id])
    view = _program_view(program, names.get(program.owner_id, ""))
    view.total_minutes = sum(lesson.estimated_minutes for lesson in lessons)
    view.cohorts = [_cohort_view(c) for c in cohorts]
    view.modules = [
        ModuleOutline(
            id=m.id,
            title=m.title,
            position=m.position,
            lessons=[lesson_brief(lesson) for lesson in lessons if lesson.module_id == m.id],
            assessment_ids=[i.id for i in items if i.module_id == m.id and i.kind == "assessment"],
            assignment_ids=[i.id for i in items if i.module_id == m.id and i.kind == "assignment"],
        )
        for m in modules
    ]
    return view


def preview_markdown(data: MarkdownPreviewInput) -> MarkdownPreview:
    """What a lesson's Markdown will look like to learners, before it is saved."""
    return MarkdownPreview(body_html=render_markdown(data.body_markdown))


async def lessons_of_program(conn: Connection, program_id: uuid.UUID) -> list[LessonOutline]:
    """The program's lessons in study order."""
    return await store.lessons_of_program(conn, program_id)


# ---- cohorts --------------------------------------------------------------------------


async def create_cohort(
    platform: Platform, actor: CurrentUser, program_id: uuid.UUID, data: CohortInput
) -> CohortView:
    if data.ends_at <= data.starts_at:
        raise InvalidInput("a cohort ends after it starts", field="ends_at")
    cohort_id = uuid.uuid4()
    async with transaction(platform.pool) as conn:
        await program_for_builder(conn, actor, program_id)
        await store.insert_cohort(
            conn,
            cohort_id=cohort_id,
            program_id=program_id,
            title=data.title,
            starts_at=data.starts_at,
            ends_at=data.ends_at,
            capacity=data.capacity,
            now=platform.clock.now(),
        )
        cohort = await store.cohort(conn, cohort_id)
    assert cohort is not None
    return _cohort_view(cohort)


async def cohort_of(conn: Connection, cohort_id: uuid.UUID, *, lock: bool = False) -> Cohort | None:
    """A cohort with its program's owner, price and head count; `lock` holds the cohort's
    row until the transaction ends, so joiners take turns."""
    if lock:
        await store.lock_cohort(conn, cohort_id)
    return await store.cohort(conn, cohort_id)


# ---- modules and lessons --------------------------------------------------------------


async def create_module(
    platform: Platform, actor: CurrentUser, program_id: uuid.UUID, data: ModuleInput
) -> ModuleOutline:
    module_id = uuid.uuid4()
    async with transaction(platform.pool) as conn:
        await program_for_builder(conn, actor, program_id)
        await store.insert_module(
            conn,
            module_id=module_id,
            program_id=program_id,
            title=data.title,
            now=platform.clock.now(),
        )
        module = await store.module(conn, module_id)
    assert module is not None
    return ModuleOutline(
        id=module_id,
        title=module.title,
        position=module.position,
        lessons=[],
        assessment_ids=[],
        assignment_ids=[],
    )


async def rename_module(
    platform: Platform, actor: CurrentUser, module_id: uuid.UUID, data: ModuleInput
) -> ProgramView:
    async with transaction(platform.pool) as conn:
        module = await module_for_builder(conn, actor, module_id)
        await store.rename_module(conn, module_id, data.title)
    return await program_outline(platform, actor, module.program_id)


async def reorder_modules(
    platform: Platform, actor: CurrentUser, program_id: uuid.UUID, ids: list[uuid.UUID]
) -> ProgramView:
    async with transaction(platform.pool) as conn:
        await program_for_builder(conn, actor, program_id)
        current = {m.id for m in await store.modules_of(conn, program_id)}
        if set(ids) != current or len(ids) != len(current):
            raise InvalidInput("list every module of the program exactly once", field="ids")
        await store.set_positions(conn, "program_modules", ids)
    return await program_outline(platform, actor, program_id)


async def reorder_lessons(
    platform: Platform, actor: CurrentUser, module_id: uuid.UUID, ids: list[uuid.UUID]
) -> ProgramView:
    async with transaction(platform.pool) as conn:
        module = await module_for_builder(conn, actor, module_id)
        current = set(await store.lessons_of_module(conn, module_id))
        if set(ids) != current or len(ids) != len(current):
            raise InvalidInput("list every lesson of the module exactly once", field="ids")
        await store.set_positions(conn, "lessons", ids)
    return await program_outline(platform, actor, module.program_id)


async def create_lesson(
    platform: Platform, actor: CurrentUser, module_id: uuid.UUID, data: LessonInput
) -> LessonView:
    lesson_id = uuid.uuid4()
    html = render_markdown(data.body_markdown)
    async with transaction(platform.pool) as conn:
        await module_for_builder(conn, actor, module_id)
        await store.insert_lesson(
            conn,
            lesson_id=lesson_id,
            module_id=module_id,
            title=data.title,
            body_markdown=data.body_markdown,
            body_html=html,
            estimated_minutes=data.estimated_minutes,
            now=platform.clock.now(),
        )
        lesson = await store.lesson(conn, lesson_id)
        assert lesson is not None
        return await lesson_view(conn, lesson)


async def update_lesson(
    platform: Platform, actor: CurrentUser, lesson_id: uuid.UUID, data: LessonInput
) -> LessonView:
    html = render_markdown(data.body_markdown)
    async with transaction(platform.pool) as conn:
        lesson = await store.lesson(conn, lesson_id)
        if lesson is None:
            raise NotFound("no such lesson", field="lesson_id")
        ensure_builder(actor, lesson.owner_id)
        await store.update_lesson(
            conn,
            lesson_id,
            title=data.title,
            body_markdown=data.body_markdown,
            body_html=html,
            estimated_minutes=data.estimated_minutes,
            now=platform.clock.now(),
        )
        updated = await store.lesson(conn, lesson_id)
        assert updated is not None
        return await lesson_view(conn, updated)


async def lesson_of(conn: Connection, lesson_id: uuid.UUID) -> Lesson | None:
    return await store.lesson(conn, lesson_id)


# ---- recordings -----------------------------------------------------------------------


async def link_lesson_recording(
    conn: Connection,
    cohort: Cohort,
    *,
    lesson_id: uuid.UUID,
    session_id: uuid.UUID,
    title: str,
    starts_at: datetime,
    recording_url: str,
    now: datetime,
) -> None:
    """Show a cohort live session's recording on a lesson of the cohort's program (a lesson
    of any other program is refused)."""
    if await store.lesson_program_id(conn, lesson_id) != cohort.program_id:
        raise InvalidInput("the lesson is not in this cohort's program", field="lesson_id")
    await store.link_recording(
        conn,
        session_id=session_id,
        lesson_id=lesson_id,
        title=title,
        starts_at=starts_at,
        recording_url=recording_url,
        now=now,
    )


# ---- uploads --------------------------------------------------------------------------


def _asset_dir(platform: Platform) -> Path:
    return platform.settings.data_path / "curriculum" / "assets"


async def upload_asset(
    platform: Platform, actor: CurrentUser, program_id: uuid.UUID, content: bytes
) -> AssetView:
    limit = platform.settings.curriculum_upload_max_bytes
    if len(content) > limit:
        raise InvalidInput(f"the file is larger than {limit} bytes", field="file")
    sniffed = sniff_file_type(content)
    if sniffed is None or sniffed.content_type not in IMAGE_TYPES:
        raise InvalidInput("upload a PNG, JPEG, GIF or WebP image", field="file")
    content_type, extension = sniffed
    asset_id = uuid.uuid4()
    stored_name = f"{asset_id.hex}.{extension}"
    async with transaction(platform.pool) as conn:
        await program_for_builder(conn, actor, program_id)
        folder = anyio.Path(_asset_dir(platform))
        await folder.mkdir(parents=True, exist_ok=True)
        await (folder / stored_name).write_bytes(content)
        await store.insert_asset(
            conn,
            asset_id=asset_id,
            program_id=program_id,
            uploaded_by=actor.id,
            content_type=content_type,
            size_bytes=len(content),
            stored_name=stored_name,
            sha256=hashlib.sha256(content).hexdigest(),
            now=platform.clock.now(),
        )
    url = f"/api/v1/lesson-assets/{asset_id}"
    return AssetView(
        id=asset_id,
        url=url,
        content_type=content_type,
        size_bytes=len(content),
        markdown=f"![chart]({url})",
    )


async def read_asset(platform: Platform, asset_id: uuid.UUID) -> tuple[bytes, str]:
    async with platform.pool.acquire() as conn:
        asset = await store.asset(conn, asset_id)
    if asset is None:
        raise NotFound("no such file", field="asset_id")
    path = anyio.Path(_asset_dir(platform)) / asset.stored_name
    if not await path.exists():
        raise NotFound("no such file", field="asset_id")
    return await path.read_bytes(), asset.content_type
