"""Messages the platform itself publishes on streams, and the admin route's bodies.

A stream message is a public read schema with a type tag (`tag_field="type"`); other
domains define theirs the same way next to their read schemas, e.g.
`class FillFrame(FillRead, tag="paper.fill", tag_field="type")`."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import msgspec

from dracarys.wire import Input, Schema


class NotificationFrame(Schema, tag="notification", tag_field="type"):
    """An in-app notification on `notifications:{user_id}`."""

    id: uuid.UUID
    kind: str
    title: str
    body: str
    created_at: datetime


class StaffNotificationInput(Input):
    title: Annotated[str, msgspec.Meta(min_length=1, max_length=120)]
    body: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]


class PublishedMessage(Schema):
    channel: str
    seq: int


class StreamStats(Schema):
    connections: int
    closed_by_reason: dict[str, int]
    peak_queue_bytes: int
    published: int
