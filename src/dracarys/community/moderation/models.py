"""Moderation: what the automatic screen decides, flags, the review queue and the
decisions taken on it, appeals, suspensions, and the staff's blocklist of link domains."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated

import msgspec

from dracarys.wire import Input, Schema

REASON = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
DOMAIN_PATTERN = r"^([a-z0-9-]+\.)+[a-z]{2,}$"

# Flags hide a post once their weights (each the flagger's trust level's `flag_weight`)
# reach this: three members (2 each), two regulars, or one leader; never one newcomer.
FLAG_HIDE_THRESHOLD = 5
MAX_SUSPENSION_DAYS = 365


class Decision(StrEnum):
    """What a moderator does with a queued post (approve, edit, delete: the post leaves
    the queue) or with its author (warn, suspend: the post stays queued)."""

    APPROVE = "approve"
    EDIT = "edit"
    DELETE = "delete"
    WARN = "warn"
    SUSPEND = "suspend"


class ModerationAction(StrEnum):
    """The log's words: what happened to a post, and who was told."""

    HELD = "held"
    HIDDEN = "hidden"
    APPEALED = "appealed"
    APPROVED = "approved"
    EDITED = "edited"
    DELETED = "deleted"
    WARNED = "warned"
    SUSPENDED = "suspended"


DECISION_ACTIONS = {
    Decision.APPROVE: ModerationAction.APPROVED,
    Decision.EDIT: ModerationAction.EDITED,
    Decision.DELETE: ModerationAction.DELETED,
    Decision.WARN: ModerationAction.WARNED,
    Decision.SUSPEND: ModerationAction.SUSPENDED,
}


class QueuedPost(msgspec.Struct, frozen=True, kw_only=True):
    """A post waiting for review, with where it stands."""

    post_id: uuid.UUID
    topic_id: uuid.UUID
    seq: int
    topic_title: str
    space_id: uuid.UUID
    space_slug: str
    # Open to every member (public and free): what members at the leader level moderate.
    # A premium group's posts are for those who paid; its queue is staff's.
    space_public: bool
    author_id: uuid.UUID
    status: str
    source: str
    html: str
    moderation_reason: str | None
    flag_weight: int
    flags: int
    appeal: str | None
    appealed_at: datetime | None
    created_at: datetime


class QueueItem(Schema):
    post_id: uuid.UUID
    topic_id: uuid.UUID
    seq: int
    topic_title: str
    space_slug: str
    author_id: uuid.UUID
    author_handle: str
    status: str
    reason: str | None
    source: str
    html: str
    flag_weight: int
    flags: int
    appeal: str | None
    appealed_at: datetime | None
    author_suspended_until: datetime | None
    created_at: datetime


class FlagInput(Input):
    reason: REASON


class FlagView(Schema):
    post_id: uuid.UUID
    weight: int
    flag_weight: int
    hidden: bool


class DecisionInput(Input):
    """`body` is the post's new text (edit only); `days` the suspension's length (suspend
    only); `reason` is what the author is told."""

    decision: Decision
    reason: REASON
    body: Annotated[str, msgspec.Meta(min_length=1, max_length=20_000)] | None = None
    days: Annotated[int, msgspec.Meta(ge=1, le=MAX_SUSPENSION_DAYS)] | None = None


class DecisionView(Schema):
    post_id: uuid.UUID
    decision: Decision
    status: str
    in_review: bool
    suspended_until: datetime | None


class AppealInput(Input):
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]


class AppealView(Schema):
    post_id: uuid.UUID
    status: str
    appealed_at: datetime


class ModerationState(Schema):
    """What the author of a post sees of its moderation."""

    post_id: uuid.UUID
    status: str
    reason: str | None
    in_review: bool
    may_appeal: bool
    appeal: str | None


class Suspension(msgspec.Struct, frozen=True, kw_only=True):
    user_id: uuid.UUID
    reason: str
    ends_at: datetime


class BlockedDomainInput(Input):
    reason: REASON


class BlockedDomain(Schema):
    domain: str
    reason: str
    added_by: uuid.UUID
    added_at: datetime
