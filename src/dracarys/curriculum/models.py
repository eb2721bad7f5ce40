"""Curriculum records and API bodies: programs, cohorts, modules, lessons, uploads,
assessments and attempts, assignments and submissions, progress and certificates."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec

from dracarys.idempotency import IdempotencyKey
from dracarys.wire import Input, Schema

Title = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Currency = Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}$")]
Difficulty = Literal["beginner", "intermediate", "advanced"]


class ProgramInput(Input):
    title: Title
    description: Annotated[str, msgspec.Meta(max_length=10_000)] = ""
    difficulty: Difficulty = "beginner"
    price_minor: Annotated[int, msgspec.Meta(ge=0, le=10_000_000_000)] = 0
    currency: Currency = "KES"
    published: bool = False


class CohortInput(Input):
    title: Title
    starts_at: datetime
    ends_at: datetime
    capacity: Annotated[int, msgspec.Meta(ge=1, le=100_000)]


class CohortView(Schema):
    id: uuid.UUID
    program_id: uuid.UUID
    title: str
    starts_at: datetime
    ends_at: datetime
    capacity: int
    enrolled: int


class ModuleInput(Input):
    title: Title


class LessonInput(Input):
    title: Title
    estimated_minutes: Annotated[int, msgspec.Meta(ge=1, le=1440)]
    body_markdown: Annotated[str, msgspec.Meta(max_length=200_000)] = ""


class ReorderInput(Input):
    ids: Annotated[list[uuid.UUID], msgspec.Meta(min_length=1, max_length=500)]


class LessonBrief(Schema):
    id: uuid.UUID
    title: str
    position: int
    estimated_minutes: int


class RecordingLink(Schema):
    session_id: uuid.UUID
    title: str
    starts_at: datetime
    recording_url: str


class LessonView(Schema):
    id: uuid.UUID
    module_id: uuid.UUID
    title: str
    position: int
    estimated_minutes: int
    body_markdown: str
    body_html: str
    recordings: list[RecordingLink] = msgspec.field(default_factory=list)


class QuestionInput(Input):
    id: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]{1,40}$")]
    kind: Literal["single", "multiple", "numeric"]
    prompt: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
    options: Annotated[
        list[Annotated[str, msgspec.Meta(max_length=500)]], msgspec.Meta(max_length=20)
    ] = msgspec.field(default_factory=list)
    # Choice questions: indexes of the right options. Numeric: the answer and how far off
    # an answer may be and still count.
    correct: Annotated[list[Annotated[int, msgspec.Meta(ge=0)]], msgspec.Meta(max_length=20)] = (
        msgspec.field(default_factory=list)
    )
    answer: float | None = None
    tolerance: Annotated[float, msgspec.Meta(ge=0)] = 0.0
    points: Annotated[int, msgspec.Meta(ge=1, le=100)] = 1


class AssessmentInput(Input):
    title: Title
    questions: Annotated[list[QuestionInput], msgspec.Meta(min_length=1, max_length=200)]
    pass_mark_percent: Annotated[int, msgspec.Meta(ge=1, le=100)] = 70
    max_attempts: Annotated[int, msgspec.Meta(ge=1, le=100)] = 3


class QuestionView(Schema):
    id: str
    kind: str
    prompt: str
    options: list[str]
    points: int


class AssessmentView(Schema):
    id: uuid.UUID
    module_id: uuid.UUID
    title: str
    pass_mark_percent: int
    max_attempts: int
    questions: list[QuestionView]
    attempts_used: int = 0
    passed: bool = False


class AttemptInput(Input):
    # Question id → chosen option indexes (choice) or a number (numeric).
    answers: dict[str, list[int] | float]


class CertificateView(Schema):
    id: str
    program_id: uuid.UUID
    program_title: str
    user_id: uuid.UUID
    holder_name: str
    granted_at: datetime
    verification_url: str


class AttemptResult(Schema):
    attempt_no: int
    score_percent: int
    passed: bool
    attempts_left: int
    correct: dict[str, bool]
    certificate: CertificateView | None = None


class RubricCriterion(Input):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    max_points: Annotated[int, msgspec.Meta(ge=1, le=1000)]


class AssignmentInput(Input):
    title: Title
    rubric: Annotated[list[RubricCriterion], msgspec.Meta(min_length=1, max_length=30)]
    instructions: Annotated[str, msgspec.Meta(max_length=20_000)] = ""


class AssignmentView(Schema):
    id: uuid.UUID
    module_id: uuid.UUID
    title: str
    instructions: str
    rubric: list[dict[str, object]]


class SubmissionInput(Input):
    body: Annotated[str, msgspec.Meta(min_length=1, max_length=100_000)]


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


class ModuleOutline(Schema):
    id: uuid.UUID
    title: str
    position: int
    lessons: list[LessonBrief]
    assessment_ids: list[uuid.UUID]
    assignment_ids: list[uuid.UUID]


class ProgramView(Schema):
    id: uuid.UUID
    owner_id: uuid.UUID
    title: str
    description: str
    difficulty: str
    price_minor: int
    currency: str
    published: bool
    total_minutes: int = 0
    modules: list[ModuleOutline] = msgspec.field(default_factory=list)
    cohorts: list[CohortView] = msgspec.field(default_factory=list)


class EnrolInput(Input):
    idempotency_key: IdempotencyKey | None = None  # or the Idempotency-Key header


class EnrolmentView(Schema):
    cohort_id: uuid.UUID
    program_id: uuid.UUID
    user_id: uuid.UUID
    amount_minor: int
    currency: str
    escrow_id: uuid.UUID | None
    enrolled_at: datetime


class LeaveResult(Schema):
    refunded_minor: int


class ProgressView(Schema):
    program_id: uuid.UUID
    percent_complete: int
    completed_lessons: int
    total_lessons: int
    minutes_remaining: int
    next_lesson: LessonBrief | None
    passed_assessments: int
    total_assessments: int
    certificate: CertificateView | None = None


class AssetView(Schema):
    id: uuid.UUID
    url: str
    content_type: str
    size_bytes: int
    markdown: str
