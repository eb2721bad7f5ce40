"""Finding mentors, as API bodies: search cards, the onboarding quiz and its matches."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec

from dracarys.mentorship.schedules.models import Currency, TimezoneName
from dracarys.wire import Input, Schema

Language = Annotated[str, msgspec.Meta(pattern=r"^[a-z]{2}$")]
Experience = Literal["beginner", "intermediate", "advanced"]


class LanguagesInput(Input):
    languages: Annotated[list[Language], msgspec.Meta(max_length=20)]


class MentorCard(Schema):
    id: uuid.UUID
    name: str
    headline: str
    specialties: list[str]
    trading_style: str | None
    hourly_rate_minor: int
    currency: str
    rating_average: float | None
    rating_count: int
    total_sessions: int
    reputation_score: int
    languages: list[str]
    timezone: str | None
    overlap_minutes_per_week: int | None = None
    next_available_at: datetime | None = None


class MentorSearch(Schema):
    mentors: list[MentorCard]
    # How far ahead each card's `next_available_at` was looked for (null: none that soon).
    next_free_within_days: int


class QuizInput(Input):
    style: Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
    experience: Experience
    goals: Annotated[list[Annotated[str, msgspec.Meta(max_length=40)]], msgspec.Meta(max_length=10)]
    budget_minor: Annotated[int, msgspec.Meta(ge=0)]
    timezone: TimezoneName
    currency: Currency = "KES"
    languages: Annotated[list[Language], msgspec.Meta(max_length=10)] = msgspec.field(
        default_factory=list
    )


class MatchView(Schema):
    mentor: MentorCard
    score: int
    reasons: list[str]


class MatchList(Schema):
    matches: list[MatchView]
