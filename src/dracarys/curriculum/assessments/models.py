"""Assessments' records and API bodies: questions, attempts and the certificates earned
by passing every assessment of a program."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec

from dracarys.curriculum.courses.models import Title
from dracarys.wire import Input, Schema


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


# ---- records --------------------------------------------------------------------------


class Assessment(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    module_id: uuid.UUID
    program_id: uuid.UUID
    owner_id: uuid.UUID
    title: str
    pass_mark_percent: int
    max_attempts: int
    # Stored as the mentor gave them: validated, with defaults filled in.
    questions: list[QuestionInput]


class Attempt(msgspec.Struct, frozen=True, kw_only=True):
    attempt_no: int
    passed: bool


class Certificate(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    program_id: uuid.UUID
    program_title: str
    user_id: uuid.UUID
    granted_at: datetime


# ---- API ------------------------------------------------------------------------------


class AssessmentInput(Input):
    title: Title
    questions: Annotated[list[QuestionInput], msgspec.Meta(min_length=1, max_length=200)]
    pass_mark_percent: Annotated[int, msgspec.Meta(ge=1, le=100)] = 70
    max_attempts: Annotated[int, msgspec.Meta(ge=1, le=100)] = 3


class AssessmentDraft(Schema):
    """An assessment as its author edits it: the questions with their answers, and whether
    they may still change (not once a learner has attempted it)."""

    id: uuid.UUID
    module_id: uuid.UUID
    title: str
    pass_mark_percent: int
    max_attempts: int
    questions: list[QuestionInput]
    attempts: int
    questions_locked: bool


class QuestionView(Schema):
    id: str
    kind: str
    prompt: str
    options: list[str]
    points: int


class AssessmentView(Schema):
    id: uuid.UUID
    module_id: uuid.UUID
    program_id: uuid.UUID
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
    # The public page anyone can open to check the certificate, and its PDF.
    verification_url: str
    pdf_url: str


class CertificatePdf(msgspec.Struct, frozen=True, kw_only=True):
    filename: str
    content: bytes


class AttemptResult(Schema):
    attempt_no: int
    score_percent: int
    passed: bool
    attempts_left: int
    correct: dict[str, bool]
    certificate: CertificateView | None = None
