"""Curriculum rules: the course builder for mentors (programs, cohorts, modules, lessons in
sanitised Markdown, uploads, ordering), enrolment (free or paid into escrow), progress,
auto-graded assessments, assignments with rubric feedback, and certificates whose public
id is signed so a tampered one fails verification."""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import uuid
from datetime import datetime, timedelta
from typing import Any

import anyio
import asyncpg
import msgspec

from dracarys.curriculum import events, store
from dracarys.curriculum.models import (
    AssessmentInput,
    AssessmentView,
    AssetView,
    AssignmentInput,
    AssignmentView,
    AttemptInput,
    AttemptResult,
    CertificateView,
    CohortInput,
    CohortView,
    EnrolmentView,
    FeedbackInput,
    LessonBrief,
    LessonInput,
    LessonView,
    ModuleInput,
    ModuleOutline,
    ProgramInput,
    ProgramView,
    ProgressView,
    QuestionInput,
    QuestionView,
    RecordingLink,
    SubmissionInput,
    SubmissionView,
)
from dracarys.curriculum.rendering import render_markdown
from dracarys.db import Connection, transaction
from dracarys.errors import Conflict, Forbidden, InvalidInput, NotFound
from dracarys.files import sniff_file_type
from dracarys.identity import display_names
from dracarys.identity.access import CurrentUser, Role
from dracarys.mentorship import store as mentorship_store
from dracarys.outbox import emit
from dracarys.platform import Platform
from dracarys.wallet import hold_escrow, refund_escrow

# Paid enrolments sit in escrow until a day after the cohort starts (refundable until then).
ENROLMENT_RELEASE_AFTER_START = timedelta(days=1)
# Images and charts a lesson may embed.
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})


# ---- permissions ----------------------------------------------------------------------


def _ensure_builder(actor: CurrentUser, owner_id: uuid.UUID) -> None:
    if actor.id != owner_id and actor.role is not Role.ADMIN:
        raise Forbidden("only the program's mentor changes it")


async def _program_for_builder(
    conn: Connection, actor: CurrentUser, program_id: uuid.UUID
) -> asyncpg.Record:
    row = await store.program(conn, program_id)
    if row is None:
        raise NotFound("no such program", field="program_id")
    _ensure_builder(actor, row["owner_id"])
    return row


async def _module_for_builder(
    conn: Connection, actor: CurrentUser, module_id: uuid.UUID
) -> asyncpg.Record:
    row = await store.module(conn, module_id)
    if row is None:
        raise NotFound("no such module", field="module_id")
    _ensure_builder(actor, row["owner_id"])
    return row


async def _ensure_learner(
    conn: Connection, actor: CurrentUser, program_id: uuid.UUID, owner_id: uuid.UUID
) -> bool:
    """True for an enrolled learner; the owner and staff may read but are not learners."""
    if await store.program_enrolment(conn, program_id, actor.id) is not None:
        return True
    if actor.id == owner_id or actor.is_staff or actor.role is Role.OBSERVER:
        return False
    raise Forbidden("join a cohort of this program first")


# ---- programs, cohorts, modules, lessons ----------------------------------------------


def _program_view(row: asyncpg.Record) -> ProgramView:
    return ProgramView(
        id=row["id"],
        owner_id=row["owner_id"],
        title=row["title"],
        description=row["description"],
        difficulty=row["difficulty"],
        price_minor=row["price_minor"],
        currency=row["currency"].strip(),
        published=row["published"],
    )


def _cohort_view(row: asyncpg.Record) -> CohortView:
    return CohortView(
        id=row["id"],
        program_id=row["program_id"],
        title=row["title"],
        starts_at=row["starts_at"],
        ends_at=row["ends_at"],
        capacity=row["capacity"],
        enrolled=int(row["enrolled"]),
    )


async def create_program(platform: Platform, actor: CurrentUser, data: ProgramInput) -> ProgramView:
    if actor.role not in (Role.MENTOR, Role.ADMIN):
        raise Forbidden("only mentors build programs")
    program_id = uuid.uuid4()
    async with transaction(platform.pool) as conn:
        await store.insert_program(
            conn,
            program_id=program_id,
            owner_id=actor.id,
            fields=msgspec.to_builtins(data),
            now=platform.clock.now(),
        )
    return await program_outline(platform, actor, program_id)


async def update_program(
    platform: Platform, actor: CurrentUser, program_id: uuid.UUID, data: ProgramInput
) -> ProgramView:
    async with transaction(platform.pool) as conn:
        await _program_for_builder(conn, actor, program_id)
        await store.update_program(conn, program_id, msgspec.to_builtins(data))
    return await program_outline(platform, actor, program_id)


async def list_programs(platform: Platform, actor: CurrentUser | None) -> list[ProgramView]:
    async with platform.pool.acquire() as conn:
        rows = await store.programs(conn, owner_id=actor.id if actor else None, limit=200)
    return [_program_view(r) for r in rows]


async def program_outline(
    platform: Platform, actor: CurrentUser | None, program_id: uuid.UUID
) -> ProgramView:
    async with platform.pool.acquire() as conn:
        row = await store.program(conn, program_id)
        visible = row is not None and (
            row["published"]
            or (actor is not None and (actor.id == row["owner_id"] or actor.is_staff))
        )
        if row is None or not visible:
            raise NotFound("no such program", field="program_id")
        modules = await store.modules_of(conn, program_id)
        lessons = await store.lessons_of_program(conn, program_id)
        items = await store.module_items(conn, program_id)
        cohorts = await store.cohorts_of(conn, program_id)
    view = _program_view(row)
    view.total_minutes = sum(lesson["estimated_minutes"] for lesson in lessons)
    view.cohorts = [_cohort_view(c) for c in cohorts]
    view.modules = [
        ModuleOutline(
            id=m["id"],
            title=m["title"],
            position=m["position"],
            lessons=[_brief(lesson) for lesson in lessons if lesson["module_id"] == m["id"]],
            assessment_ids=[
                i["id"] for i in items if i["module_id"] == m["id"] and i["kind"] == "assessment"
            ],
            assignment_ids=[
                i["id"] for i in items if i["module_id"] == m["id"] and i["kind"] == "assignment"
            ],
        )
        for m in modules
    ]
    return view


def _brief(row: asyncpg.Record) -> LessonBrief:
    return LessonBrief(
        id=row["id"],
        title=row["title"],
        position=row["position"],
        estimated_minutes=row["estimated_minutes"],
    )


async def create_cohort(
    platform: Platform, actor: CurrentUser, program_id: uuid.UUID, data: CohortInput
) -> CohortView:
    if data.ends_at <= data.starts_at:
        raise InvalidInput("a cohort ends after it starts", field="ends_at")
    cohort_id = uuid.uuid4()
    async with transaction(platform.pool) as conn:
        await _program_for_builder(conn, actor, program_id)
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
        row = await store.cohort(conn, cohort_id)
    assert row is not None
    return _cohort_view(row)


async def create_module(
    platform: Platform, actor: CurrentUser, program_id: uuid.UUID, data: ModuleInput
) -> ModuleOutline:
    module_id = uuid.uuid4()
    async with transaction(platform.pool) as conn:
        await _program_for_builder(conn, actor, program_id)
        await store.insert_module(
            conn,
            module_id=module_id,
            program_id=program_id,
            title=data.title,
            now=platform.clock.now(),
        )
        row = await store.module(conn, module_id)
    assert row is not None
    return ModuleOutline(
        id=module_id,
        title=row["title"],
        position=row["position"],
        lessons=[],
        assessment_ids=[],
        assignment_ids=[],
    )


async def reorder_modules(
    platform: Platform, actor: CurrentUser, program_id: uuid.UUID, ids: list[uuid.UUID]
) -> ProgramView:
    async with transaction(platform.pool) as conn:
        await _program_for_builder(conn, actor, program_id)
        current = {m["id"] for m in await store.modules_of(conn, program_id)}
        if set(ids) != current or len(ids) != len(current):
            raise InvalidInput("list every module of the program exactly once", field="ids")
        await store.set_positions(conn, "program_modules", ids)
    return await program_outline(platform, actor, program_id)


async def reorder_lessons(
    platform: Platform, actor: CurrentUser, module_id: uuid.UUID, ids: list[uuid.UUID]
) -> ProgramView:
    async with transaction(platform.pool) as conn:
        module = await _module_for_builder(conn, actor, module_id)
        current = set(await store.lessons_of_module(conn, module_id))
        if set(ids) != current or len(ids) != len(current):
            raise InvalidInput("list every lesson of the module exactly once", field="ids")
        await store.set_positions(conn, "lessons", ids)
    return await program_outline(platform, actor, module["program_id"])


async def _lesson_view(conn: Connection, row: asyncpg.Record) -> LessonView:
    recordings = await mentorship_store.recordings_of_lesson(conn, row["id"])
    return LessonView(
        id=row["id"],
        module_id=row["module_id"],
        title=row["title"],
        position=row["position"],
        estimated_minutes=row["estimated_minutes"],
        body_markdown=row["body_markdown"],
        body_html=row["body_html"],
        recordings=[
            RecordingLink(
                session_id=r["id"],
                title=r["title"],
                starts_at=r["starts_at"],
                recording_url=r["recording_url"],
            )
            for r in recordings
        ],
    )


async def create_lesson(
    platform: Platform, actor: CurrentUser, module_id: uuid.UUID, data: LessonInput
) -> LessonView:
    lesson_id = uuid.uuid4()
    html = render_markdown(data.body_markdown)
    async with transaction(platform.pool) as conn:
        await _module_for_builder(conn, actor, module_id)
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
        row = await store.lesson(conn, lesson_id)
        assert row is not None
        return await _lesson_view(conn, row)


async def update_lesson(
    platform: Platform, actor: CurrentUser, lesson_id: uuid.UUID, data: LessonInput
) -> LessonView:
    html = render_markdown(data.body_markdown)
    async with transaction(platform.pool) as conn:
        row = await store.lesson(conn, lesson_id)
        if row is None:
            raise NotFound("no such lesson", field="lesson_id")
        _ensure_builder(actor, row["owner_id"])
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
        return await _lesson_view(conn, updated)


async def get_lesson(platform: Platform, actor: CurrentUser, lesson_id: uuid.UUID) -> LessonView:
    async with platform.pool.acquire() as conn:
        row = await store.lesson(conn, lesson_id)
        if row is None:
            raise NotFound("no such lesson", field="lesson_id")
        await _ensure_learner(conn, actor, row["program_id"], row["owner_id"])
        return await _lesson_view(conn, row)


# ---- uploads --------------------------------------------------------------------------


def _asset_dir(platform: Platform) -> Any:
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
        await _program_for_builder(conn, actor, program_id)
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
        row = await store.asset(conn, asset_id)
    if row is None:
        raise NotFound("no such file", field="asset_id")
    path = anyio.Path(_asset_dir(platform)) / row["stored_name"]
    if not await path.exists():
        raise NotFound("no such file", field="asset_id")
    return await path.read_bytes(), row["content_type"]


# ---- enrolment ------------------------------------------------------------------------


async def join_cohort(
    platform: Platform, actor: CurrentUser, cohort_id: uuid.UUID, idempotency_key: str
) -> EnrolmentView:
    """Join a cohort before it ends while it has room; a paid program's price goes into
    escrow for its mentor. Joining again returns the enrolment."""
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        await store.lock_cohort(conn, cohort_id)
        cohort = await store.cohort(conn, cohort_id)
        if cohort is None:
            raise NotFound("no such cohort", field="cohort_id")
        existing = await store.enrolment(conn, cohort_id, actor.id)
        if existing is None:
            other = await store.program_enrolment(conn, cohort["program_id"], actor.id)
            if other is not None:
                raise Conflict("you are already in another cohort of this program")
            if cohort["owner_id"] == actor.id:
                raise Conflict("mentors do not join their own cohorts")
            if now >= cohort["ends_at"]:
                raise Conflict("this cohort has ended", field="cohort_id")
            if int(cohort["enrolled"]) >= cohort["capacity"]:
                raise Conflict("this cohort is full", field="cohort_id")
            escrow_id = None
            price = cohort["price_minor"]
            currency = cohort["currency"].strip()
            if price > 0:
                escrow = await hold_escrow(
                    conn,
                    settings=platform.settings,
                    now=now,
                    payer_id=actor.id,
                    mentor_id=cohort["owner_id"],
                    amount_minor=price,
                    currency=currency,
                    reference=f"cohort:{cohort_id}",
                    idempotency_key=f"enrol:{cohort_id}:{actor.id}:{idempotency_key}",
                    release_after=max(cohort["starts_at"] - now, timedelta())
                    + ENROLMENT_RELEASE_AFTER_START,
                )
                if escrow.status != "held":
                    # The key paid for an earlier enrolment that was left and refunded.
                    raise InvalidInput(
                        "this idempotency key belongs to an earlier enrolment; use a new one",
                        field="idempotency_key",
                    )
                escrow_id = escrow.id
            await store.insert_enrolment(
                conn,
                cohort_id=cohort_id,
                user_id=actor.id,
                program_id=cohort["program_id"],
                amount_minor=price,
                currency=currency,
                escrow_id=escrow_id,
                now=now,
            )
            await emit(
                conn,
                events.COHORT_JOINED,
                {
                    "user_id": str(actor.id),
                    "cohort_id": str(cohort_id),
                    "program_id": str(cohort["program_id"]),
                    "amount_minor": price,
                    "currency": currency,
                },
            )
            existing = await store.enrolment(conn, cohort_id, actor.id)
        assert existing is not None
    return EnrolmentView(
        cohort_id=existing["cohort_id"],
        program_id=existing["program_id"],
        user_id=existing["user_id"],
        amount_minor=existing["amount_minor"],
        currency=existing["currency"].strip(),
        escrow_id=existing["escrow_id"],
        enrolled_at=existing["enrolled_at"],
    )


async def leave_cohort(platform: Platform, actor: CurrentUser, cohort_id: uuid.UUID) -> int:
    """Leave before the cohort starts: the seat is freed and a paid enrolment refunded in
    full from escrow. Returns the amount refunded."""
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        await store.lock_cohort(conn, cohort_id)
        cohort = await store.cohort(conn, cohort_id)
        enrolment = await store.enrolment(conn, cohort_id, actor.id) if cohort else None
        if cohort is None or enrolment is None:
            raise NotFound("you are not in this cohort", field="cohort_id")
        if now >= cohort["starts_at"]:
            raise Conflict("a cohort can be left until it starts", field="cohort_id")
        refunded = 0
        if enrolment["escrow_id"] is not None:
            escrow = await refund_escrow(
                conn,
                enrolment["escrow_id"],
                settings=platform.settings,
                now=now,
                fraction_bps=10_000,
            )
            refunded = escrow.refunded_minor
        await store.delete_enrolment(conn, cohort_id, actor.id)
        await emit(
            conn,
            events.COHORT_LEFT,
            {
                "user_id": str(actor.id),
                "cohort_id": str(cohort_id),
                "program_id": str(cohort["program_id"]),
                "refunded_minor": refunded,
                "currency": enrolment["currency"].strip(),
            },
        )
    return refunded


# ---- progress -------------------------------------------------------------------------


async def _progress(
    conn: Connection, platform: Platform, user_id: uuid.UUID, program_id: uuid.UUID
) -> ProgressView:
    lessons = await store.lessons_of_program(conn, program_id)
    done = await store.completed_lessons(conn, user_id, program_id)
    assessments = await store.assessments_of_program(conn, program_id)
    passed = await store.passed_assessments(conn, user_id, program_id)
    remaining = [lesson for lesson in lessons if lesson["id"] not in done]
    total = len(lessons)
    certificate = await store.certificate_of(conn, program_id, user_id)
    certificate_view = await _certificate_view(conn, platform, certificate) if certificate else None
    return ProgressView(
        program_id=program_id,
        # Floor, so 100% means every lesson is done.
        percent_complete=math.floor(100 * (total - len(remaining)) / total) if total else 0,
        completed_lessons=total - len(remaining),
        total_lessons=total,
        minutes_remaining=sum(lesson["estimated_minutes"] for lesson in remaining),
        next_lesson=_brief(remaining[0]) if remaining else None,
        passed_assessments=len(passed),
        total_assessments=len(assessments),
        certificate=certificate_view,
    )


async def progress(platform: Platform, actor: CurrentUser, program_id: uuid.UUID) -> ProgressView:
    async with platform.pool.acquire() as conn:
        if await store.program_enrolment(conn, program_id, actor.id) is None:
            raise NotFound("you are not enrolled in this program", field="program_id")
        return await _progress(conn, platform, actor.id, program_id)


async def complete_lesson(
    platform: Platform, actor: CurrentUser, lesson_id: uuid.UUID
) -> ProgressView:
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        row = await store.lesson(conn, lesson_id)
        if row is None:
            raise NotFound("no such lesson", field="lesson_id")
        if not await _ensure_learner(conn, actor, row["program_id"], row["owner_id"]):
            raise Forbidden("only enrolled learners complete lessons")
        if await store.insert_completion(conn, actor.id, lesson_id, now):
            await emit(
                conn,
                events.LESSON_COMPLETED,
                {
                    "user_id": str(actor.id),
                    "lesson_id": str(lesson_id),
                    "lesson_title": row["title"],
                    # Points counts learning days in the learner's own zone.
                    "timezone": await store.learner_timezone(conn, actor.id),
                },
            )
        return await _progress(conn, platform, actor.id, row["program_id"])


# ---- assessments ----------------------------------------------------------------------


def _check_question(question: QuestionInput) -> None:
    field = f"questions.{question.id}"
    if question.kind == "numeric":
        if question.answer is None:
            raise InvalidInput("a numeric question needs its answer", field=field)
        return
    if len(question.options) < 2:
        raise InvalidInput("a choice question needs at least two options", field=field)
    if not question.correct or any(i >= len(question.options) for i in question.correct):
        raise InvalidInput("mark the right options by their index", field=field)
    if question.kind == "single" and len(question.correct) != 1:
        raise InvalidInput("a single-choice question has exactly one right option", field=field)


def grade(
    questions: list[dict[str, Any]], answers: dict[str, list[int] | float]
) -> tuple[int, dict[str, bool]]:
    """Score percent (floored) and which questions were right. Choice questions need the
    exact set of right options; numeric ones an answer within the tolerance."""
    earned = 0
    total = 0
    correct: dict[str, bool] = {}
    for question in questions:
        given = answers.get(question["id"])
        total += question["points"]
        if question["kind"] == "numeric":
            right = (
                isinstance(given, int | float)
                and not isinstance(given, bool)
                and abs(float(given) - float(question["answer"]))
                <= float(question["tolerance"]) + 1e-9
            )
        else:
            right = (
                isinstance(given, list)
                and set(given) == set(question["correct"])
                and (question["kind"] == "multiple" or len(given) == 1)
            )
        correct[question["id"]] = right
        if right:
            earned += question["points"]
    return (100 * earned // total if total else 0), correct


def _assessment_view(row: asyncpg.Record, attempts: list[asyncpg.Record]) -> AssessmentView:
    return AssessmentView(
        id=row["id"],
        module_id=row["module_id"],
        title=row["title"],
        pass_mark_percent=row["pass_mark_percent"],
        max_attempts=row["max_attempts"],
        questions=[
            QuestionView(
                id=q["id"],
                kind=q["kind"],
                prompt=q["prompt"],
                options=q["options"],
                points=q["points"],
            )
            for q in row["questions"]
        ],
        attempts_used=len(attempts),
        passed=any(a["passed"] for a in attempts),
    )


async def create_assessment(
    platform: Platform, actor: CurrentUser, module_id: uuid.UUID, data: AssessmentInput
) -> AssessmentView:
    ids = [q.id for q in data.questions]
    if len(set(ids)) != len(ids):
        raise InvalidInput("question ids must be unique", field="questions")
    for question in data.questions:
        _check_question(question)
    assessment_id = uuid.uuid4()
    async with transaction(platform.pool) as conn:
        await _module_for_builder(conn, actor, module_id)
        await store.insert_assessment(
            conn,
            assessment_id=assessment_id,
            module_id=module_id,
            title=data.title,
            pass_mark_percent=data.pass_mark_percent,
            max_attempts=data.max_attempts,
            questions=[msgspec.to_builtins(q) for q in data.questions],
            now=platform.clock.now(),
        )
        row = await store.assessment(conn, assessment_id)
    assert row is not None
    return _assessment_view(row, [])


async def get_assessment(
    platform: Platform, actor: CurrentUser, assessment_id: uuid.UUID
) -> AssessmentView:
    async with platform.pool.acquire() as conn:
        row = await store.assessment(conn, assessment_id)
        if row is None:
            raise NotFound("no such assessment", field="assessment_id")
        await _ensure_learner(conn, actor, row["program_id"], row["owner_id"])
        return _assessment_view(row, await store.attempts(conn, assessment_id, actor.id))


async def submit_attempt(
    platform: Platform, actor: CurrentUser, assessment_id: uuid.UUID, data: AttemptInput
) -> AttemptResult:
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        row = await store.assessment(conn, assessment_id)
        if row is None:
            raise NotFound("no such assessment", field="assessment_id")
        if not await _ensure_learner(conn, actor, row["program_id"], row["owner_id"]):
            raise Forbidden("only enrolled learners take assessments")
        known = {q["id"] for q in row["questions"]}
        unknown = sorted(set(data.answers) - known)
        if unknown:
            raise InvalidInput(f"no such question: {unknown[0]}", field="answers")
        # One attempt at a time per learner and assessment, so the limit holds.
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtext($1))", f"attempt:{assessment_id}:{actor.id}"
        )
        previous = await store.attempts(conn, assessment_id, actor.id)
        if any(a["passed"] for a in previous):
            raise Conflict("you have already passed this assessment")
        if len(previous) >= row["max_attempts"]:
            raise Conflict(f"all {row['max_attempts']} attempts are used", field="assessment_id")
        score, correct = grade(row["questions"], data.answers)
        passed = score >= row["pass_mark_percent"]
        attempt_no = len(previous) + 1
        await store.insert_attempt(
            conn,
            attempt_id=uuid.uuid4(),
            assessment_id=assessment_id,
            user_id=actor.id,
            attempt_no=attempt_no,
            answers=msgspec.to_builtins(data.answers),
            score_percent=score,
            passed=passed,
            now=now,
        )
        certificate = None
        if passed:
            await emit(
                conn,
                events.ASSESSMENT_PASSED,
                {"user_id": str(actor.id), "assessment_id": str(assessment_id)},
            )
            certificate = await _grant_certificate_if_earned(
                conn, platform, actor.id, row["program_id"], now
            )
    return AttemptResult(
        attempt_no=attempt_no,
        score_percent=score,
        passed=passed,
        attempts_left=row["max_attempts"] - attempt_no,
        correct=correct,
        certificate=certificate,
    )


# ---- certificates ---------------------------------------------------------------------


def _signature(platform: Platform, certificate_id: uuid.UUID) -> str:
    mac = hmac.new(
        platform.settings.secret_key.encode(),
        b"certificate:" + certificate_id.bytes,
        hashlib.sha256,
    ).digest()
    return base64.urlsafe_b64encode(mac[:18]).decode()


def public_certificate_id(platform: Platform, certificate_id: uuid.UUID) -> str:
    """`<uuid hex>.<HMAC>`: changing any character of either part fails verification."""
    return f"{certificate_id.hex}.{_signature(platform, certificate_id)}"


def parse_certificate_id(platform: Platform, public_id: str) -> uuid.UUID | None:
    raw, _, signature = public_id.partition(".")
    try:
        certificate_id = uuid.UUID(hex=raw)
    except ValueError:
        return None
    if raw != certificate_id.hex:
        return None
    if not hmac.compare_digest(signature, _signature(platform, certificate_id)):
        return None
    return certificate_id


async def _certificate_view(
    conn: Connection, platform: Platform, row: asyncpg.Record
) -> CertificateView:
    public_id = public_certificate_id(platform, row["id"])
    base = platform.settings.public_url.rstrip("/")
    # The holder's name is sealed at rest: identity opens it.
    holder = await display_names(conn, platform.settings, [row["user_id"]])
    return CertificateView(
        id=public_id,
        program_id=row["program_id"],
        program_title=row["program_title"],
        user_id=row["user_id"],
        holder_name=holder[row["user_id"]],
        granted_at=row["granted_at"],
        verification_url=f"{base}/api/v1/certificates/{public_id}",
    )


async def _grant_certificate_if_earned(
    conn: Connection, platform: Platform, user_id: uuid.UUID, program_id: uuid.UUID, now: datetime
) -> CertificateView | None:
    """Every assessment of the program passed → a certificate (once)."""
    required = {a["id"] for a in await store.assessments_of_program(conn, program_id)}
    if not required or not required <= await store.passed_assessments(conn, user_id, program_id):
        return None
    certificate_id = uuid.uuid4()
    if await store.insert_certificate(
        conn, certificate_id=certificate_id, program_id=program_id, user_id=user_id, now=now
    ):
        row = await store.certificate(conn, certificate_id)
        assert row is not None
        view = await _certificate_view(conn, platform, row)
        await emit(
            conn,
            events.CERTIFICATE_GRANTED,
            {
                "user_id": str(user_id),
                "program_id": str(program_id),
                "certificate_id": view.id,
                "verification_url": view.verification_url,
            },
        )
        return view
    existing = await store.certificate_of(conn, program_id, user_id)
    return await _certificate_view(conn, platform, existing) if existing else None


async def verify_certificate(platform: Platform, public_id: str) -> CertificateView:
    certificate_id = parse_certificate_id(platform, public_id)
    if certificate_id is not None:
        async with platform.pool.acquire() as conn:
            row = await store.certificate(conn, certificate_id)
            if row is not None:
                return await _certificate_view(conn, platform, row)
    raise NotFound("this certificate id is not valid", field="certificate_id")


# ---- assignments ----------------------------------------------------------------------


def _assignment_view(row: asyncpg.Record) -> AssignmentView:
    return AssignmentView(
        id=row["id"],
        module_id=row["module_id"],
        title=row["title"],
        instructions=row["instructions"],
        rubric=list(row["rubric"]),
    )


def _submission_view(row: asyncpg.Record) -> SubmissionView:
    return SubmissionView(
        id=row["id"],
        assignment_id=row["assignment_id"],
        user_id=row["user_id"],
        body=row["body"],
        submitted_at=row["submitted_at"],
        scores=row["scores"],
        total_points=row["total_points"],
        max_points=row["max_points"],
        feedback=row["feedback"],
        reviewed_at=row["reviewed_at"],
    )


async def create_assignment(
    platform: Platform, actor: CurrentUser, module_id: uuid.UUID, data: AssignmentInput
) -> AssignmentView:
    names = [c.name for c in data.rubric]
    if len(set(names)) != len(names):
        raise InvalidInput("rubric criteria need distinct names", field="rubric")
    assignment_id = uuid.uuid4()
    async with transaction(platform.pool) as conn:
        await _module_for_builder(conn, actor, module_id)
        await store.insert_assignment(
            conn,
            assignment_id=assignment_id,
            module_id=module_id,
            title=data.title,
            instructions=data.instructions,
            rubric=[msgspec.to_builtins(c) for c in data.rubric],
            now=platform.clock.now(),
        )
        row = await store.assignment(conn, assignment_id)
    assert row is not None
    return _assignment_view(row)


async def submit_assignment(
    platform: Platform, actor: CurrentUser, assignment_id: uuid.UUID, data: SubmissionInput
) -> SubmissionView:
    submission_id = uuid.uuid4()
    async with transaction(platform.pool) as conn:
        row = await store.assignment(conn, assignment_id)
        if row is None:
            raise NotFound("no such assignment", field="assignment_id")
        if not await _ensure_learner(conn, actor, row["program_id"], row["owner_id"]):
            raise Forbidden("only enrolled learners submit assignments")
        await store.insert_submission(
            conn,
            submission_id=submission_id,
            assignment_id=assignment_id,
            user_id=actor.id,
            body=data.body,
            now=platform.clock.now(),
        )
        created = await store.submission(conn, submission_id)
    assert created is not None
    return _submission_view(created)


async def list_submissions(
    platform: Platform, actor: CurrentUser, assignment_id: uuid.UUID
) -> list[SubmissionView]:
    async with platform.pool.acquire() as conn:
        row = await store.assignment(conn, assignment_id)
        if row is None:
            raise NotFound("no such assignment", field="assignment_id")
        everyone = actor.id == row["owner_id"] or actor.is_staff
        rows = await store.submissions_of(conn, assignment_id, None if everyone else actor.id)
    return [_submission_view(r) for r in rows]


async def give_feedback(
    platform: Platform, actor: CurrentUser, submission_id: uuid.UUID, data: FeedbackInput
) -> SubmissionView:
    """The mentor scores every rubric criterion (0 to its maximum) and comments."""
    async with transaction(platform.pool) as conn:
        row = await store.submission(conn, submission_id)
        if row is None:
            raise NotFound("no such submission", field="submission_id")
        _ensure_builder(actor, row["owner_id"])
        rubric = {c["name"]: c["max_points"] for c in row["rubric"]}
        if set(data.scores) != set(rubric):
            missing = sorted(set(rubric) - set(data.scores)) or sorted(
                set(data.scores) - set(rubric)
            )
            raise InvalidInput(
                f"score exactly the rubric's criteria (check {missing[0]!r})", field="scores"
            )
        for name, points in data.scores.items():
            if points > rubric[name]:
                raise InvalidInput(
                    f"{name!r} is worth at most {rubric[name]} points", field=f"scores.{name}"
                )
        await store.set_feedback(
            conn,
            submission_id,
            scores=data.scores,
            total=sum(data.scores.values()),
            maximum=sum(rubric.values()),
            feedback=data.feedback,
            reviewer=actor.id,
            now=platform.clock.now(),
        )
        updated = await store.submission(conn, submission_id)
    assert updated is not None
    return _submission_view(updated)
