"""The topic chat produces for analytics (emitted through the outbox with `emit_event`):
how long a mentor took to answer."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

from dracarys.outbox import EventPayload

MENTOR_RESPONDED = "mentor.responded"


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
