"""Messaging records: a queued message as the store holds it (sealed), its content as it
is sealed, and a message as messaging's readers see it, opened."""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec


class MessageContent(msgspec.Struct, frozen=True):
    """Sealed as one value: an SMS has only `text`."""

    subject: str
    text: str
    html: str | None = None
    # Extra e-mail headers (e.g. RFC 8058 `List-Unsubscribe` on marketing mail).
    headers: dict[str, str] = {}


class OutboundMessage(msgspec.Struct, frozen=True, kw_only=True):
    """`content` is None once the message was sent: only its recipient is kept."""

    id: uuid.UUID
    channel: str
    user_id: uuid.UUID | None
    recipient: str
    template: str
    content: MessageContent | None
    created_at: datetime
    sent_at: datetime | None
    provider_id: str | None
    requeue_count: int


class MessageRecord(msgspec.Struct, frozen=True, kw_only=True):
    """An outbound_messages row: recipient and content sealed (content None once sent)."""

    id: uuid.UUID
    channel: str
    user_id: uuid.UUID | None
    recipient_sealed: bytes
    template: str
    content_sealed: bytes | None
    created_at: datetime
    sent_at: datetime | None
    provider_id: str | None
    requeue_count: int


class ClaimedMessage(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    channel: str


class PlainMessage(msgspec.Struct, frozen=True, kw_only=True):
    """A message an older version stored in plain."""

    id: uuid.UUID
    sent_at: datetime | None
    plain_recipient: str | None
    plain_subject: str | None
    plain_body_text: str | None
    plain_body_html: str | None
