"""The topics chat produces (emitted through the outbox with `emit_event`): a message was
stored — the notifications workflows consume it to tell the other member (issue 20 item 1,
"new chat message"), off the sender's request path and exactly once per burst
(`consumers._chat_message`) — and, for analytics, how long a mentor took to answer."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

from dracarys.outbox import EventPayload

CHAT_MESSAGE_SENT = "chat.message_sent"
MENTOR_RESPONDED = "mentor.responded"


class ChatMessageSent(EventPayload, frozen=True, kw_only=True):
    """`sender_id` wrote message `seq` to `recipient_id`, who had read up to
    `recipient_read_seq` then: every message of a burst the recipient has not read yet
    carries the same read position, which keys its one notice."""

    topic: ClassVar[str] = CHAT_MESSAGE_SENT
    conversation_id: uuid.UUID
    message_id: uuid.UUID
    seq: int
    sender_id: uuid.UUID
    recipient_id: uuid.UUID
    recipient_read_seq: int
    # A mentee's first message to a mentor who has not accepted yet.
    request: bool


class MentorResponded(EventPayload, frozen=True, kw_only=True):
    """A mentor answered a mentee `seconds` after they asked. `kind` is what was asked:
    `message_request` (a stranger's first message, answered by accepting or declining
    it) or `message` (the mentee's messages since the mentor last wrote, answered by the
    mentor's next message; timed from the oldest of them)."""

    topic: ClassVar[str] = MENTOR_RESPONDED
    mentor_id: uuid.UUID
    mentee_id: uuid.UUID
    conversation_id: uuid.UUID
    kind: str
    requested_at: datetime
    seconds: int
