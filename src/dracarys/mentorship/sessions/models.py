"""Sessions on a mentor's calendar and the seats booked in them, as records and API
bodies: the session a participant sees, ratings and reviews, cohort live sessions."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

import msgspec

from dracarys.mentorship.schedules.models import SessionKind, Title
from dracarys.wire import Input, Schema

# ---- records --------------------------------------------------------------------------


class MentorSession(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    mentor_id: uuid.UUID
    session_type_id: uuid.UUID | None
    kind: SessionKind
    title: str
    starts_at: datetime
    ends_at: datetime
    capacity: int
    price_minor: int
    currency: str
    status: str
    room_name: str
    cohort_id: uuid.UUID | None
    lesson_id: uuid.UUID | None
    recording_url: str | None
    mentor_joined_at: datetime | None
    # Seats taken: bookings not cancelled.
    booked: int


class SessionBooking(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    session_id: uuid.UUID
    mentee_id: uuid.UUID
    status: str
    amount_minor: int
    currency: str
    escrow_id: uuid.UUID | None
    refunded_minor: int
    joined_at: datetime | None


class SeatRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A booking as the mentor's calendar shows it: who, and whether they came."""

    id: uuid.UUID
    session_id: uuid.UUID
    mentee_id: uuid.UUID
    status: str
    joined_at: datetime | None
    attended_at: datetime | None


class Review(msgspec.Struct, frozen=True, kw_only=True):
    rated_id: uuid.UUID
    rating: int
    comment: str
    created_at: datetime


class DueSession(msgspec.Struct, frozen=True, kw_only=True):
    """A scheduled session about to start, with the mentees holding a confirmed seat."""

    id: uuid.UUID
    mentor_id: uuid.UUID
    title: str
    starts_at: datetime
    cohort_id: uuid.UUID | None
    mentee_ids: list[uuid.UUID]


# ---- API ------------------------------------------------------------------------------


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
    # The offer it was booked from (None for a cohort's live session): its other slots
    # are where a 1:1 session can be moved.
    session_type_id: uuid.UUID | None = None
    # Only participants see where the session happens.
    room_url: str | None = None


class RatingInput(Input):
    rating: Annotated[int, msgspec.Meta(ge=1, le=5)]
    comment: Annotated[str, msgspec.Meta(max_length=2000)] = ""
    # Mentors rate each mentee of a group session; mentees always rate the mentor.
    rated_id: uuid.UUID | None = None
    # The NPS question: how likely, 0–10, the rater is to recommend Dracarys to a friend.
    recommend: Annotated[int, msgspec.Meta(ge=0, le=10)] | None = None


class ReviewView(Schema):
    session_id: uuid.UUID
    rater_id: uuid.UUID
    rated_id: uuid.UUID
    rating: int
    comment: str
    created_at: datetime


class AttendeeView(Schema):
    """A mentee's seat in one of the mentor's sessions."""

    booking_id: uuid.UUID
    mentee_id: uuid.UUID
    name: str
    status: str
    joined_at: datetime | None
    # Set when the mentor and this mentee were both in the room (`session.attended`).
    attended_at: datetime | None
    # What the mentor rated this mentee for the session, once they have.
    my_rating: int | None


class CalendarSession(Schema):
    session: SessionView
    attendees: list[AttendeeView]


class MentorWeek(Schema):
    """The mentor's sessions starting from `start_date` for `days` days of `timezone` (the
    zone on their profile, else their default schedule's, else UTC)."""

    timezone: str
    start_date: date
    days: int
    sessions: list[CalendarSession]


class PublicReview(Schema):
    """A review as anyone may read it: no rater and no session."""

    rated_id: uuid.UUID
    rating: int
    comment: str
    created_at: datetime


class LiveSessionInput(Input):
    title: Title
    starts_at: datetime
    duration_minutes: Annotated[int, msgspec.Meta(ge=5, le=720)]


class RecordingInput(Input):
    recording_url: Annotated[str, msgspec.Meta(pattern=r"^https://\S{1,2000}$")]
    # A cohort live session's recording belongs to a lesson of the cohort's program; a
    # booked session's recording is shown to its participants only, with no lesson.
    lesson_id: uuid.UUID | None = None
