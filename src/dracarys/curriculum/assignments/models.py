"""Assignments' records and API bodies: a task with a rubric, learners' submissions and
the mentor's scores and feedback."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import msgspec

from dracarys.curriculum.courses.models import Title
from dracarys.wire import Input, Schema


class RubricCriterion(Input):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    max_points: Annotated[int, msgspec.Meta(ge=1, le=1000)]


# ---- records --------------------------------------------------------------------------


class Assignment(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    module_id: uuid.UUID
    program_id: uuid.UUID
    owner_id: uuid.UUID
    title: str
    instructions: str
    rubric: list[RubricCriterion]


class Submission(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    assignment_id: uuid.UUID
    user_id: uuid.UUID
    body: str
    submitted_at: datetime
    scores: dict[str, int] | None
    total_points: int | None
    max_points: int | None
    feedback: str | None
    reviewed_at: datetime | None
    assignment_title: str
    program_title: str
    attachment_id: uuid.UUID | None = None
    attachment_name: str | None = None
    attachment_content_type: str | None = None
    attachment_size_bytes: int | None = None


class Attachment(msgspec.Struct, frozen=True, kw_only=True):
    """A file a learner attached to a submission, with who may read it."""

    id: uuid.UUID
    assignment_id: uuid.UUID
    user_id: uuid.UUID
    file_name: str
    content_type: str
    size_bytes: int
    stored_name: str
    owner_id: uuid.UUID


class SubmissionToReview(Submission, frozen=True, kw_only=True):
    """A submission with what its reviewer needs: the rubric and who owns the program."""

    rubric: list[RubricCriterion]
    owner_id: uuid.UUID


# ---- API ------------------------------------------------------------------------------


class AssignmentInput(Input):
    title: Title
    rubric: Annotated[list[RubricCriterion], msgspec.Meta(min_length=1, max_length=30)]
    instructions: Annotated[str, msgspec.Meta(max_length=20_000)] = ""


class AssignmentDraft(Schema):
    """An assignment as its author edits it; the rubric stays once work was scored on it."""

    id: uuid.UUID
    module_id: uuid.UUID
    title: str
    instructions: str
    rubric: list[RubricCriterion]
    graded: int
    rubric_locked: bool


class AssignmentView(Schema):
    id: uuid.UUID
    module_id: uuid.UUID
    program_id: uuid.UUID
    title: str
    instructions: str
    rubric: list[dict[str, object]]


class SubmissionInput(Input):
    body: Annotated[str, msgspec.Meta(min_length=1, max_length=100_000)]
    # A file uploaded first with uploadSubmissionAttachment, by the same learner.
    attachment_id: uuid.UUID | None = None


class AttachmentView(Schema):
    id: uuid.UUID
    file_name: str
    content_type: str
    size_bytes: int


class FeedbackInput(Input):
    scores: dict[str, Annotated[int, msgspec.Meta(ge=0)]]
    feedback: Annotated[str, msgspec.Meta(max_length=20_000)] = ""


class SubmissionView(Schema):
    id: uuid.UUID
    assignment_id: uuid.UUID
    user_id: uuid.UUID
    body: str
    submitted_at: datetime
    scores: dict[str, int] | None
    total_points: int | None
    max_points: int | None
    feedback: str | None
    reviewed_at: datetime | None
    assignment_title: str
    program_title: str
    # Who handed it in (the mentor's queue shows it; a learner sees their own name).
    learner_name: str
    # The rubric the scores are against: each criterion's name and max_points.
    rubric: list[dict[str, object]]
    attachment: AttachmentView | None = None
