"""Assignments: a mentor sets a task with a rubric, enrolled learners submit, and the
mentor scores every criterion (0 to its maximum) with written feedback."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

import anyio
import msgspec

from dracarys.curriculum.assignments import store
from dracarys.curriculum.assignments.models import (
    Assignment,
    AssignmentDraft,
    AssignmentInput,
    AssignmentView,
    Attachment,
    AttachmentView,
    FeedbackInput,
    SubmissionInput,
    SubmissionToReview,
    SubmissionView,
)
from dracarys.curriculum.courses.service import ensure_builder, module_for_builder
from dracarys.curriculum.enrolment.service import ensure_learner
from dracarys.db import Connection, transaction, xact_lock
from dracarys.errors import Conflict, Forbidden, InvalidInput, NotFound
from dracarys.files import sniff_file_type
from dracarys.identity import CurrentUser, display_names
from dracarys.platform import Platform

# What a learner may attach: a PDF, or an image of a chart.
ATTACHMENT_TYPES = frozenset(
    {"application/pdf", "image/png", "image/jpeg", "image/gif", "image/webp"}
)


def _assignment_view(assignment: Assignment) -> AssignmentView:
    return AssignmentView(
        id=assignment.id,
        module_id=assignment.module_id,
        program_id=assignment.program_id,
        title=assignment.title,
        instructions=assignment.instructions,
        rubric=[msgspec.to_builtins(c) for c in assignment.rubric],
    )


def _submission_view(submission: SubmissionToReview, learner_name: str) -> SubmissionView:
    attachment = (
        AttachmentView(
            id=submission.attachment_id,
            file_name=submission.attachment_name or "",
            content_type=submission.attachment_content_type or "",
            size_bytes=submission.attachment_size_bytes or 0,
        )
        if submission.attachment_id is not None
        else None
    )
    return SubmissionView(
        id=submission.id,
        assignment_id=submission.assignment_id,
        user_id=submission.user_id,
        body=submission.body,
        submitted_at=submission.submitted_at,
        scores=submission.scores,
        total_points=submission.total_points,
        max_points=submission.max_points,
        feedback=submission.feedback,
        reviewed_at=submission.reviewed_at,
        assignment_title=submission.assignment_title,
        program_title=submission.program_title,
        learner_name=learner_name,
        rubric=[msgspec.to_builtins(c) for c in submission.rubric],
        attachment=attachment,
    )


async def _submission_views(
    conn: Connection, platform: Platform, submissions: list[SubmissionToReview]
) -> list[SubmissionView]:
    names = await display_names(conn, platform.settings, {s.user_id for s in submissions})
    return [_submission_view(s, names.get(s.user_id, "")) for s in submissions]


def _check_rubric(data: AssignmentInput) -> None:
    names = [c.name for c in data.rubric]
    if len(set(names)) != len(names):
        raise InvalidInput("rubric criteria need distinct names", field="rubric")


async def create_assignment(
    platform: Platform, actor: CurrentUser, module_id: uuid.UUID, data: AssignmentInput
) -> AssignmentView:
    _check_rubric(data)
    assignment_id = uuid.uuid4()
    async with transaction(platform.pool) as conn:
        await module_for_builder(conn, actor, module_id)
        await store.insert_assignment(
            conn,
            assignment_id=assignment_id,
            module_id=module_id,
            title=data.title,
            instructions=data.instructions,
            rubric=[msgspec.to_builtins(c) for c in data.rubric],
            now=platform.clock.now(),
        )
        assignment = await store.assignment(conn, assignment_id)
    assert assignment is not None
    return _assignment_view(assignment)


async def _for_author(conn: Connection, actor: CurrentUser, assignment_id: uuid.UUID) -> Assignment:
    assignment = await store.assignment(conn, assignment_id)
    if assignment is None:
        raise NotFound("no such assignment", field="assignment_id")
    await module_for_builder(conn, actor, assignment.module_id)
    return assignment


async def assignment_draft(
    platform: Platform, actor: CurrentUser, assignment_id: uuid.UUID
) -> AssignmentDraft:
    async with platform.pool.acquire() as conn:
        assignment = await _for_author(conn, actor, assignment_id)
        graded = await store.graded_count(conn, assignment_id)
    return AssignmentDraft(
        id=assignment.id,
        module_id=assignment.module_id,
        title=assignment.title,
        instructions=assignment.instructions,
        rubric=assignment.rubric,
        graded=graded,
        rubric_locked=graded > 0,
    )


async def update_assignment(
    platform: Platform, actor: CurrentUser, assignment_id: uuid.UUID, data: AssignmentInput
) -> AssignmentView:
    """Edit an assignment. Title and instructions may always change; the rubric stays as
    it was once a submission has been scored on it (refused), so scores stay comparable."""
    _check_rubric(data)
    async with transaction(platform.pool) as conn:
        await xact_lock(conn, "assignment", assignment_id)
        assignment = await _for_author(conn, actor, assignment_id)
        graded = await store.graded_count(conn, assignment_id)
        if graded and data.rubric != assignment.rubric:
            raise Conflict(
                f"{graded} submission{'s were' if graded != 1 else ' was'} scored on this "
                "rubric, so it stays as it is; the title and instructions can change",
                field="rubric",
            )
        await store.update_assignment(
            conn,
            assignment_id,
            title=data.title,
            instructions=data.instructions,
            rubric=[msgspec.to_builtins(c) for c in data.rubric],
        )
        updated = await store.assignment(conn, assignment_id)
    assert updated is not None
    return _assignment_view(updated)


async def submit_assignment(
    platform: Platform, actor: CurrentUser, assignment_id: uuid.UUID, data: SubmissionInput
) -> SubmissionView:
    submission_id = uuid.uuid4()
    async with transaction(platform.pool) as conn:
        assignment = await store.assignment(conn, assignment_id)
        if assignment is None:
            raise NotFound("no such assignment", field="assignment_id")
        if not await ensure_learner(conn, actor, assignment.program_id, assignment.owner_id):
            raise Forbidden("only enrolled learners submit assignments")
        if data.attachment_id is not None:
            attached = await store.attachment(conn, data.attachment_id)
            if (
                attached is None
                or attached.user_id != actor.id
                or attached.assignment_id != assignment_id
            ):
                raise InvalidInput(
                    "attach a file you uploaded for this assignment", field="attachment_id"
                )
        await store.insert_submission(
            conn,
            submission_id=submission_id,
            assignment_id=assignment_id,
            user_id=actor.id,
            body=data.body,
            attachment_id=data.attachment_id,
            now=platform.clock.now(),
        )
        created = await store.submission(conn, submission_id)
        assert created is not None
        [view] = await _submission_views(conn, platform, [created])
    return view


async def list_submissions(
    platform: Platform, actor: CurrentUser, assignment_id: uuid.UUID
) -> list[SubmissionView]:
    async with platform.pool.acquire() as conn:
        assignment = await store.assignment(conn, assignment_id)
        if assignment is None:
            raise NotFound("no such assignment", field="assignment_id")
        everyone = actor.id == assignment.owner_id or actor.is_staff
        submissions = await store.submissions_of(
            conn, assignment_id, None if everyone else actor.id
        )
        return await _submission_views(conn, platform, submissions)


async def give_feedback(
    platform: Platform, actor: CurrentUser, submission_id: uuid.UUID, data: FeedbackInput
) -> SubmissionView:
    """The mentor scores every rubric criterion (0 to its maximum) and comments."""
    async with transaction(platform.pool) as conn:
        found = await store.submission(conn, submission_id)
        if found is None:
            raise NotFound("no such submission", field="submission_id")
        # Scored on the rubric as it is after any edit in flight (the edit takes this lock).
        await xact_lock(conn, "assignment", found.assignment_id)
        submission = await store.submission(conn, submission_id)
        assert submission is not None
        ensure_builder(actor, submission.owner_id)
        rubric = {c.name: c.max_points for c in submission.rubric}
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
        [view] = await _submission_views(conn, platform, [updated])
    return view


async def get_assignment(
    platform: Platform, actor: CurrentUser, assignment_id: uuid.UUID
) -> AssignmentView:
    """The task and its rubric, for its enrolled learners, its mentor and staff."""
    async with platform.pool.acquire() as conn:
        assignment = await store.assignment(conn, assignment_id)
        if assignment is None:
            raise NotFound("no such assignment", field="assignment_id")
        await ensure_learner(conn, actor, assignment.program_id, assignment.owner_id)
    return _assignment_view(assignment)


async def submissions_to_review(platform: Platform, actor: CurrentUser) -> list[SubmissionView]:
    """The grading queue: submissions to the mentor's programs, unscored first."""
    async with platform.pool.acquire() as conn:
        submissions = await store.submissions_for_reviewer(conn, actor.id, limit=200)
        return await _submission_views(conn, platform, submissions)


def _attachment_dir(platform: Platform) -> Path:
    return platform.settings.data_path / "curriculum" / "attachments"


async def upload_attachment(
    platform: Platform,
    actor: CurrentUser,
    assignment_id: uuid.UUID,
    file_name: str,
    content: bytes,
) -> AttachmentView:
    """A file for a submission, checked by its bytes (what the browser says counts for
    nothing): a PDF or an image, within the curriculum's upload limit."""
    limit = platform.settings.curriculum_upload_max_bytes
    if len(content) > limit:
        raise InvalidInput(f"the file is larger than {limit // 1_000_000} MB", field="file")
    sniffed = sniff_file_type(content)
    if sniffed is None or sniffed.content_type not in ATTACHMENT_TYPES:
        raise InvalidInput("attach a PDF or a PNG, JPEG, GIF or WebP image", field="file")
    attachment_id = uuid.uuid4()
    stored_name = f"{attachment_id.hex}.{sniffed.extension}"
    # Only a plain name is kept, for the download's file name; the path is never used.
    shown_name = Path(file_name.replace("\\", "/")).name[:200] or stored_name
    async with transaction(platform.pool) as conn:
        assignment = await store.assignment(conn, assignment_id)
        if assignment is None:
            raise NotFound("no such assignment", field="assignment_id")
        if not await ensure_learner(conn, actor, assignment.program_id, assignment.owner_id):
            raise Forbidden("only enrolled learners attach files to assignments")
        folder = anyio.Path(_attachment_dir(platform))
        await folder.mkdir(parents=True, exist_ok=True)
        await (folder / stored_name).write_bytes(content)
        await store.insert_attachment(
            conn,
            attachment_id=attachment_id,
            assignment_id=assignment_id,
            user_id=actor.id,
            file_name=shown_name,
            content_type=sniffed.content_type,
            size_bytes=len(content),
            stored_name=stored_name,
            sha256=hashlib.sha256(content).hexdigest(),
            now=platform.clock.now(),
        )
    return AttachmentView(
        id=attachment_id,
        file_name=shown_name,
        content_type=sniffed.content_type,
        size_bytes=len(content),
    )


async def read_attachment(
    platform: Platform, actor: CurrentUser, attachment_id: uuid.UUID
) -> tuple[bytes, Attachment]:
    """The file, for its uploader, the program's mentor and staff only."""
    async with platform.pool.acquire() as conn:
        attachment = await store.attachment(conn, attachment_id)
    if attachment is None or not (
        actor.id in (attachment.user_id, attachment.owner_id) or actor.is_staff
    ):
        raise NotFound("no such file", field="attachment_id")
    path = anyio.Path(_attachment_dir(platform)) / attachment.stored_name
    if not await path.exists():
        raise NotFound("no such file", field="attachment_id")
    return await path.read_bytes(), attachment
