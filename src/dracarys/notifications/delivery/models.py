"""Deliveries' records."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec


class NewDelivery(msgspec.Struct, frozen=True, kw_only=True):
    notification_id: uuid.UUID
    channel: str
    user_id: uuid.UUID
    state: str
    due_at: datetime | None
    template: str
    context: dict[str, Any]
    message_id: uuid.UUID | None


class HeldDelivery(msgspec.Struct, frozen=True, kw_only=True):
    """A delivery waiting (quiet hours or the digest), with its notification's text."""

    notification_id: uuid.UUID
    channel: str
    user_id: uuid.UUID
    template: str
    context: dict[str, Any]
    title: str
    body: str
    created_at: datetime
    # Read in the app meanwhile: a push about it would only interrupt.
    read_at: datetime | None = None


class DigestItem(msgspec.Struct, frozen=True, kw_only=True):
    """A notification waiting for its person's daily digest."""

    notification_id: uuid.UUID
    title: str
    body: str
    created_at: datetime
