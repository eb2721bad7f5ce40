"""The topics messaging produces (and consumes itself: a queued message is sent off the
request's path), each with its payload, emitted through the outbox with `emit_event`."""

from __future__ import annotations

import uuid
from typing import ClassVar

from dracarys.outbox import EventPayload

EMAIL_SEND = "email.send"
SMS_SEND = "sms.send"


class MessageQueued(EventPayload, frozen=True, kw_only=True):
    """A message waits in the outbound table; the sender opens it by id."""

    message_id: uuid.UUID


class EmailSend(MessageQueued, frozen=True, kw_only=True):
    topic: ClassVar[str] = EMAIL_SEND


class SmsSend(MessageQueued, frozen=True, kw_only=True):
    topic: ClassVar[str] = SMS_SEND


def send_event(channel: str, message_id: uuid.UUID) -> MessageQueued:
    """The event that sends a message of `channel` (email or sms)."""
    return (EmailSend if channel == "email" else SmsSend)(message_id=message_id)
