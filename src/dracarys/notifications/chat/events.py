"""The topic chat produces: a message was stored. The notifications workflows consume it
to tell the other member (issue 20 item 1, "new chat message"), off the sender's request
path and exactly once per burst (`consumers._chat_message`)."""

from __future__ import annotations

import uuid
from typing import ClassVar

from dracarys.outbox import EventPayload

CHAT_MESSAGE_SENT = "chat.message_sent"


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
