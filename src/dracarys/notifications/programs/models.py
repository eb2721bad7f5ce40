"""Drip programs' records: a program with its steps and exit conditions as the staff
page reads them (with counts), an edit of one step, an enrolment due for its next step,
what a followed e-mail link leads to, and a mail provider's bounce or complaint."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec

ExitCondition = Literal[
    "course_completed", "left_course", "first_booking", "active_again", "unsubscribed"
]
SuppressionReason = Literal["unsubscribed", "hard_bounce", "complaint"]


class StepView(msgspec.Struct, frozen=True, kw_only=True):
    position: int
    delay_minutes: int
    subject_en: str
    body_en: str
    subject_sw: str
    body_sw: str
    cta_path: str
    sent: int
    opened: int
    clicked: int


class EnrolmentCounts(msgspec.Struct, frozen=True, kw_only=True):
    running: int
    finished: int
    exited: int


class ProgramView(msgspec.Struct, frozen=True, kw_only=True):
    code: str
    name: str
    description: str
    trigger: str
    inactive_after_days: int | None
    paused: bool
    exit_conditions: list[str]
    enrolments: EnrolmentCounts
    steps: list[StepView]


class ProgramRow(msgspec.Struct, frozen=True, kw_only=True):
    code: str
    name: str
    description: str
    trigger: str
    inactive_after_days: int | None
    paused_at: datetime | None


class StepStats(msgspec.Struct, frozen=True, kw_only=True):
    program_code: str
    position: int
    sent: int
    opened: int
    clicked: int


class EnrolmentStats(msgspec.Struct, frozen=True, kw_only=True):
    program_code: str
    running: int
    finished: int
    exited: int


class StepRow(msgspec.Struct, frozen=True, kw_only=True):
    program_code: str
    position: int
    delay_minutes: int
    subject_en: str
    body_en: str
    subject_sw: str
    body_sw: str
    cta_path: str


class StepInput(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A step's new delay and texts; `$name` is the only placeholder a text may use."""

    delay_minutes: Annotated[int, msgspec.Meta(ge=0, le=525_600)]
    subject_en: Annotated[str, msgspec.Meta(min_length=1, max_length=150)]
    body_en: Annotated[str, msgspec.Meta(min_length=1, max_length=5000)]
    subject_sw: Annotated[str, msgspec.Meta(min_length=1, max_length=150)]
    body_sw: Annotated[str, msgspec.Meta(min_length=1, max_length=5000)]


class DueStep(msgspec.Struct, frozen=True, kw_only=True):
    """A running enrolment whose next step's delay has passed (locked for sending)."""

    enrolment_id: uuid.UUID
    program_code: str
    user_id: uuid.UUID
    position: int
    subject_en: str
    body_en: str
    subject_sw: str
    body_sw: str
    cta_path: str
    last_position: int


class SentStep(msgspec.Struct, frozen=True, kw_only=True):
    """A step e-mail found by its click token: where its link leads."""

    enrolment_id: uuid.UUID
    position: int
    cta_path: str


class ProgramState(msgspec.Struct, frozen=True, kw_only=True):
    code: str
    paused: bool


class ProviderEvent(msgspec.Struct, frozen=True, kw_only=True, rename="pascal"):
    """A mail provider's webhook body, Postmark-shaped: `RecordType` "Bounce" (with `Type`
    "HardBounce", "SoftBounce", ...) or "SpamComplaint", and the address concerned."""

    record_type: str
    email: Annotated[str, msgspec.Meta(min_length=3, max_length=320)]
    type: str = ""
    message_id: str = msgspec.field(default="", name="MessageID")
    description: str = ""


class ProviderEventResult(msgspec.Struct, frozen=True, kw_only=True):
    status: Literal["suppressed", "ignored"]


class UnsubscribeResult(msgspec.Struct, frozen=True, kw_only=True):
    status: Literal["unsubscribed", "already_unsubscribed"]
