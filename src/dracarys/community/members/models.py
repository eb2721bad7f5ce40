"""Members in the community: profiles (the @handle, the stored trust level), reputation,
and what each trust level allows."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated

import msgspec

from dracarys.wire import Input, Schema

HANDLE_PATTERN = "^[a-z0-9][a-z0-9_]{2,29}$"

# Reputation: what the community's votes and the askers' choices say of a member's posts.
REPUTATION_PER_UPVOTE = 10
REPUTATION_PER_DOWNVOTE = -2
REPUTATION_PER_ACCEPTED_ANSWER = 15


class TrustLevel(StrEnum):
    NEW = "new"
    BASIC = "basic"
    MEMBER = "member"
    REGULAR = "regular"
    LEADER = "leader"


@dataclass(frozen=True, slots=True)
class TrustRule:
    """What a level needs (all of it) and what it allows."""

    min_reputation: int
    min_posts: int
    min_active_days: int  # distinct days with a post, in the last 100
    posts_per_day: int
    links: bool
    images: bool
    # Moderation (community.moderation): how much one flag weighs, and who may moderate.
    flag_weight: int
    moderates: bool


TRUST_RULES: dict[TrustLevel, TrustRule] = {
    TrustLevel.NEW: TrustRule(0, 0, 0, 10, False, False, 1, False),
    TrustLevel.BASIC: TrustRule(10, 3, 1, 30, True, False, 1, False),
    TrustLevel.MEMBER: TrustRule(50, 10, 3, 60, True, True, 2, False),
    TrustLevel.REGULAR: TrustRule(250, 30, 10, 120, True, True, 3, False),
    TrustLevel.LEADER: TrustRule(1000, 100, 30, 300, True, True, 5, True),
}


def trust_level_for(reputation: int, posts: int, active_days: int) -> TrustLevel:
    """The highest level whose every requirement is met."""
    reached = TrustLevel.NEW
    for level, rule in TRUST_RULES.items():
        if (
            reputation >= rule.min_reputation
            and posts >= rule.min_posts
            and active_days >= rule.min_active_days
        ):
            reached = level
    return reached


class Profile(msgspec.Struct, frozen=True, kw_only=True):
    user_id: uuid.UUID
    handle: str
    trust_level: TrustLevel
    trust_computed_at: datetime | None
    created_at: datetime


class Standing(msgspec.Struct, frozen=True, kw_only=True):
    """What the trust recomputation reads of a member."""

    user_id: uuid.UUID
    trust_level: TrustLevel
    reputation: int
    posts: int
    active_days: int


class ProfileView(Schema):
    user_id: uuid.UUID
    handle: str
    trust_level: TrustLevel
    reputation: int
    posts_per_day: int
    may_post_links: bool
    may_post_images: bool
    # The trust level moderates: the review queue (/community/moderation) is theirs too.
    moderates: bool = False


class HandleInput(Input):
    handle: Annotated[str, msgspec.Meta(pattern=HANDLE_PATTERN)]
