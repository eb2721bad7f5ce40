"""The topic push produces and consumes itself: each push is sent off the transaction
that planned it, through the outbox."""

from __future__ import annotations

import uuid
from typing import ClassVar

from dracarys.outbox import EventPayload

PUSH_SEND = "push.send"


class PushQueued(EventPayload, frozen=True, kw_only=True):
    """A push waits in `push_messages`; the sender opens it by id."""

    topic: ClassVar[str] = PUSH_SEND
    push_id: uuid.UUID
