"""Chat's rows, the read schemas the API answers with, its inputs, and the frames it
publishes on `chat:{conversation_id}`."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated

import msgspec

from dracarys.idempotency import IdempotencyKey
from dracarys.wire import Input, Schema


class Status(StrEnum):
    REQUESTED = "requested"  # the mentee's first message waits for the mentor
    OPEN = "open"
    DECLINED = "declined"


class OpenedBy(StrEnum):
    BOOKING = "booking"
    SIGNAL_FEED = "signal_feed"
    COHORT = "cohort"
    REQUEST = "request"


class Kind(StrEnum):
    TEXT = "text"
    ATTACHMENT = "attachment"
    LESSON = "lesson"  # a pinned link to a lesson the mentee may open


class ReportStatus(StrEnum):
    OPEN = "open"
    DISMISSED = "dismissed"
    REMOVED = "removed"


# ---- rows -------------------------------------------------------------------------------


class Conversation(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    mentor_id: uuid.UUID
    mentee_id: uuid.UUID
    status: Status
    opened_by: OpenedBy
    last_seq: int
    mentor_read_seq: int
    mentee_read_seq: int
    blocked_by: uuid.UUID | None
    created_at: datetime
    last_message_at: datetime

    def has_member(self, user_id: uuid.UUID) -> bool:
        return user_id in (self.mentor_id, self.mentee_id)

    def other(self, user_id: uuid.UUID) -> uuid.UUID:
        return self.mentee_id if user_id == self.mentor_id else self.mentor_id

    def read_seq_of(self, user_id: uuid.UUID) -> int:
        return self.mentor_read_seq if user_id == self.mentor_id else self.mentee_read_seq


class MessageRow(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    conversation_id: uuid.UUID
    seq: int
    sender_id: uuid.UUID
    kind: Kind
    body: str
    attachment_id: uuid.UUID | None
    attachment_name: str | None
    attachment_type: str | None
    attachment_bytes: int | None
    lesson_id: uuid.UUID | None
    lesson_title: str | None
    request_hash: str
    removed_at: datetime | None
    created_at: datetime


class AttachmentFile(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    conversation_id: uuid.UUID
    content_type: str
    file_name: str
    content: bytes


class ReportRow(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    message_id: uuid.UUID
    conversation_id: uuid.UUID
    seq: int
    sender_id: uuid.UUID
    reporter_id: uuid.UUID
    body: str
    kind: Kind
    reason: str
    status: ReportStatus
    resolution_note: str | None
    created_at: datetime
    resolved_at: datetime | None


# ---- read schemas -----------------------------------------------------------------------


class AttachmentView(Schema):
    id: uuid.UUID
    file_name: str
    content_type: str
    size_bytes: int
    url: str


class LessonLinkView(Schema):
    lesson_id: uuid.UUID
    title: str
    url: str


class MessageView(Schema):
    id: uuid.UUID
    conversation_id: uuid.UUID
    seq: int
    sender_id: uuid.UUID
    kind: Kind
    body: str
    created_at: datetime
    attachment: AttachmentView | None = None
    lesson: LessonLinkView | None = None
    removed: bool = False


class ConversationView(Schema):
    id: uuid.UUID
    status: Status
    opened_by: OpenedBy
    my_role: str  # "mentor" | "mentee"
    other_id: uuid.UUID
    other_name: str
    last_seq: int
    my_read_seq: int
    other_read_seq: int
    unread: int
    blocked_by_me: bool
    blocked_by_other: bool
    can_send: bool
    last_message_at: datetime
    why_not: str = ""
    last_message: MessageView | None = None
    pinned_lessons: list[LessonLinkView] = msgspec.field(default_factory=list)


class Contact(Schema):
    user_id: uuid.UUID
    name: str
    their_role: str  # "mentor" | "mentee"
    linked_by: OpenedBy
    conversation_id: uuid.UUID | None = None


class MessagesPage(Schema):
    conversation_id: uuid.UUID
    last_seq: int
    messages: list[MessageView]


class SearchHit(Schema):
    conversation_id: uuid.UUID
    other_name: str
    message: MessageView
    rank: float


class ReportView(Schema):
    id: uuid.UUID
    message_id: uuid.UUID
    conversation_id: uuid.UUID
    seq: int
    sender_id: uuid.UUID
    sender_name: str
    reporter_id: uuid.UUID
    reporter_name: str
    body: str
    kind: Kind
    reason: str
    status: ReportStatus
    resolution_note: str | None
    created_at: datetime
    resolved_at: datetime | None


# ---- inputs ------------------------------------------------------------------------------

Body = Annotated[str, msgspec.Meta(max_length=4000)]


class StartInput(Input):
    """Message someone: open the conversation (or send the first-message request) with a
    first message."""

    with_user_id: uuid.UUID
    body: Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]
    idempotency_key: IdempotencyKey | None = None


class SendInput(Input):
    """A text message, or a pinned lesson link (`lesson_id`, with an optional note)."""

    body: Body = ""
    lesson_id: uuid.UUID | None = None
    idempotency_key: IdempotencyKey | None = None


class ReadInput(Input):
    seq: Annotated[int, msgspec.Meta(ge=0)]


class ReportInput(Input):
    reason: Annotated[str, msgspec.Meta(min_length=3, max_length=1000)]


class ResolveInput(Input):
    outcome: ReportStatus
    note: Annotated[str, msgspec.Meta(max_length=1000)] = ""


# ---- frames on chat:{conversation_id} ----------------------------------------------------


class ChatMessageFrame(MessageView, tag="chat.message", tag_field="type"):
    """A new message (or one a moderator removed: same seq, `removed`)."""


class ChatReadFrame(Schema, tag="chat.read", tag_field="type"):
    conversation_id: uuid.UUID
    user_id: uuid.UUID
    seq: int


class ChatTypingFrame(Schema, tag="chat.typing", tag_field="type"):
    """Ephemeral: shown until `until`, never stored in the database."""

    conversation_id: uuid.UUID
    user_id: uuid.UUID
    until: datetime


class ChatStateFrame(Schema, tag="chat.state", tag_field="type"):
    """The conversation was accepted, declined, blocked or unblocked: reload it."""

    conversation_id: uuid.UUID
    status: Status
    blocked_by: uuid.UUID | None
