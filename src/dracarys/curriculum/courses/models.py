"""The course builder's records and API bodies: programs, cohorts, modules, lessons,
uploaded images and the recordings linked to a lesson."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec

from dracarys.identity import Specialty
from dracarys.wire import Input, Schema

Title = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Currency = Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}$")]
Difficulty = Literal["beginner", "intermediate", "advanced"]


# ---- records --------------------------------------------------------------------------


class Program(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    owner_id: uuid.UUID
    title: str
    description: str
    difficulty: str
    price_minor: int
    currency: str
    published: bool
    topics: list[str]
    onboarding: bool


class Cohort(msgspec.Struct, frozen=True, kw_only=True):
    """A cohort with what its program says of it: owner, price, title; and its head count."""

    id: uuid.UUID
    program_id: uuid.UUID
    title: str
    starts_at: datetime
    ends_at: datetime
    capacity: int
    owner_id: uuid.UUID
    price_minor: int
    currency: str
    program_title: str
    enrolled: int
    # A cohort of a program run for newcomers (see curriculum.onboarding).
    onboarding: bool = False


class Module(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    program_id: uuid.UUID
    owner_id: uuid.UUID
    title: str
    position: int


class LessonOutline(msgspec.Struct, frozen=True, kw_only=True):
    """A lesson as a program's outline lists it, in study order."""

    id: uuid.UUID
    module_id: uuid.UUID
    title: str
    position: int
    estimated_minutes: int


class Lesson(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    module_id: uuid.UUID
    program_id: uuid.UUID
    owner_id: uuid.UUID
    title: str
    position: int
    estimated_minutes: int
    body_markdown: str
    body_html: str


class ModuleItem(msgspec.Struct, frozen=True, kw_only=True):
    """An assessment or assignment of a module, as the outline lists it."""

    module_id: uuid.UUID
    kind: Literal["assessment", "assignment"]
    id: uuid.UUID


class Asset(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    program_id: uuid.UUID
    content_type: str
    size_bytes: int
    stored_name: str


class LessonRecording(msgspec.Struct, frozen=True, kw_only=True):
    session_id: uuid.UUID
    title: str
    starts_at: datetime
    recording_url: str


# ---- API ------------------------------------------------------------------------------


class ProgramInput(Input):
    title: Title
    description: Annotated[str, msgspec.Meta(max_length=10_000)] = ""
    difficulty: Difficulty = "beginner"
    price_minor: Annotated[int, msgspec.Meta(ge=0, le=10_000_000_000)] = 0
    currency: Currency = "KES"
    published: bool = False
    # The specialties the program teaches: the onboarding quiz's answers are matched
    # against them.
    topics: Annotated[list[Specialty], msgspec.Meta(max_length=15)] = msgspec.field(
        default_factory=list
    )
    # A program for newcomers, whose cohorts are offered at the end of onboarding: set by
    # an admin, and always free. Left out (null), a new program is not one and an edited
    # program keeps what it was.
    onboarding: bool | None = None


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
    program_id: uuid.UUID
    title: str
    position: int
    estimated_minutes: int
    body_markdown: str
    body_html: str
    recordings: list[RecordingLink] = msgspec.field(default_factory=list)


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
    # The mentor's display name, for catalogues and the program page.
    owner_name: str
    title: str
    description: str
    difficulty: str
    price_minor: int
    currency: str
    published: bool
    topics: list[str] = msgspec.field(default_factory=list)
    onboarding: bool = False
    total_minutes: int = 0
    modules: list[ModuleOutline] = msgspec.field(default_factory=list)
    cohorts: list[CohortView] = msgspec.field(default_factory=list)


class AssetView(Schema):
    id: uuid.UUID
    url: str
    content_type: str
    size_bytes: int
    markdown: str


class MarkdownPreviewInput(Input):
    body_markdown: Annotated[str, msgspec.Meta(max_length=200_000)]


class MarkdownPreview(Schema):
    """Lesson Markdown as the reader will show it: rendered, highlighted and sanitised."""

    body_html: str
