"""Calendar sync's records and API bodies: a session as a calendar shows it, and the
private feed link."""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec

from dracarys.models import Schema


class CalendarEntry(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    mentor_id: uuid.UUID
    title: str
    starts_at: datetime
    ends_at: datetime
    status: str
    room_name: str
    created_at: datetime


class FeedLink(Schema):
    url: str
