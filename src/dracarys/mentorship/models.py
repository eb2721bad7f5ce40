"""Mentorship records and API bodies: schedules, session types, slots, sessions and
bookings, reviews, discovery cards and auto-match results."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Literal

import msgspec

from dracarys.idempotency import IdempotencyKey
from dracarys.wire import Input, Schema

HHMM = Annotated[str, msgspec.Meta(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$")]
Title = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Currency = Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}$")]
Language = Annotated[str, msgspec.Meta(pattern=r"^[a-z]{2}$")]
TimezoneName = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class SessionKind(StrEnum):
    ONE_ON_ONE = "one_on_one"
    GROUP = "group"
    WORKSHOP = "workshop"


class Interval(Input):
    start: HHMM
    end: HHMM


class WeeklyHours(Input):
    weekday: Annotated[int, msgspec.Meta(ge=0, le=6)]
    start: HHMM
    end: HHMM


class DateOverride(Input):
    date: date
    intervals: Annotated[list[Interval], msgspec.Meta(max_length=12)] = msgspec.field(
        default_factory=list
    )


class ScheduleInput(Input):
    name: Title
    timezone: TimezoneName
    weekly_hours: Annotated[list[WeeklyHours], msgspec.Meta(max_length=84)]
    date_overrides: Annotated[list[DateOverride], msgspec.Meta(max_length=366)] = msgspec.field(
        default_factory=list
    )
    is_default: bool = False


class ScheduleView(Schema):
    id: uuid.UUID
    mentor_id: uuid.UUID
    name: str
    timezone: str
    is_default: bool
    weekly_hours: list[dict[str, object]]
    date_overrides: list[dict[str, object]]


class SessionTypeInput(Input):
    title: Title
    kind: SessionKind
    duration_minutes: Annotated[int, msgspec.Meta(ge=5, le=720)]
    price_minor: Annotated[int, msgspec.Meta(ge=0, le=100_000_000_00)]
    currency: Currency = "KES"
    capacity: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 1
    schedule_id: uuid.UUID | None = None
    min_notice_minutes: Annotated[int, msgspec.Meta(ge=0, le=60 * 24 * 30)] = 60


class SessionTypeView(Schema):
    id: uuid.UUID
    mentor_id: uuid.UUID
    title: str
    kind: SessionKind
    duration_minutes: int
    price_minor: int
    currency: str
    capacity: int
    schedule_id: uuid.UUID | None
    min_notice_minutes: int
    active: bool


class SlotView(Schema):
    starts_at: datetime
    ends_at: datetime
    spots_left: int


class SlotList(Schema):
    session_type_id: uuid.UUID
    timezone: str
    slots: list[SlotView]


class BookingInput(Input):
    session_type_id: uuid.UUID
    starts_at: datetime
    idempotency_key: IdempotencyKey | None = None  # or the Idempotency-Key header


class RescheduleInput(Input):
    starts_at: datetime


class CancelInput(Input):
    reason: Annotated[str, msgspec.Meta(max_length=500)] = ""


class SessionView(Schema):
    id: uuid.UUID
    mentor_id: uuid.UUID
    kind: SessionKind
    title: str
    starts_at: datetime
    ends_at: datetime
    status: str
    capacity: int
    booked: int
    cohort_id: uuid.UUID | None = None
    lesson_id: uuid.UUID | None = None
    recording_url: str | None = None
    # Only participants see where the session happens.
    room_url: str | None = None


class BookingView(Schema):
    id: uuid.UUID
    session: SessionView
    mentee_id: uuid.UUID
    status: str
    amount_minor: int
    currency: str
    escrow_id: uuid.UUID | None
    refunded_minor: int


class RatingInput(Input):
    rating: Annotated[int, msgspec.Meta(ge=1, le=5)]
    comment: Annotated[str, msgspec.Meta(max_length=2000)] = ""
    # Mentors rate each mentee of a group session; mentees always rate the mentor.
    rated_id: uuid.UUID | None = None


class ReviewView(Schema):
    session_id: uuid.UUID
    rater_id: uuid.UUID
    rated_id: uuid.UUID
    rating: int
    comment: str
    created_at: datetime


class PublicReview(Schema):
    """A review as anyone may read it: no rater and no session."""

    rated_id: uuid.UUID
    rating: int
    comment: str
    created_at: datetime


class LanguagesInput(Input):
    languages: Annotated[list[Language], msgspec.Meta(max_length=20)]


class FeedLink(Schema):
    url: str


class LiveSessionInput(Input):
    title: Title
    starts_at: datetime
    duration_minutes: Annotated[int, msgspec.Meta(ge=5, le=720)]


class RecordingInput(Input):
    recording_url: Annotated[str, msgspec.Meta(pattern=r"^https://\S{1,2000}$")]
    lesson_id: uuid.UUID


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


Experience = Literal["beginner", "intermediate", "advanced"]


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
