"""The mentor's offer, as records and API bodies: availability schedules, session types
and the slots they open."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

import msgspec

from dracarys.models import Input, Schema

HHMM = Annotated[str, msgspec.Meta(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$")]
Title = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Currency = Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}$")]
TimezoneName = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class SessionKind(StrEnum):
    ONE_ON_ONE = "one_on_one"
    GROUP = "group"
    WORKSHOP = "workshop"


# ---- records --------------------------------------------------------------------------


class AvailabilitySchedule(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    mentor_id: uuid.UUID
    name: str
    timezone: str
    is_default: bool
    # [{weekday, start, end}] and [{date, intervals: [{start, end}]}], as availability reads them.
    weekly_hours: list[dict[str, Any]]
    date_overrides: list[dict[str, Any]]


class SessionType(msgspec.Struct, frozen=True, kw_only=True):
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


class BusySession(msgspec.Struct, frozen=True, kw_only=True):
    """A live session holding the mentor's time, with its seats taken."""

    session_type_id: uuid.UUID | None
    starts_at: datetime
    ends_at: datetime
    capacity: int
    booked: int


# ---- API ------------------------------------------------------------------------------


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
