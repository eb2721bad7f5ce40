"""The topics the community produces, each with its payload (emitted through the outbox
with `emit_event`). Notifications turns `PostCreated` into reply and mention notices,
`PostMentioned` into mention notices."""

from __future__ import annotations

from typing import ClassVar

from dracarys.outbox import EventPayload

COMMUNITY_POST_CREATED = "community.post_created"


class PostCreated(EventPayload, frozen=True, kw_only=True):
    """A post was written: the topic's author is told of a reply (unless they wrote it),
    each member it mentions of the mention. `mentioned_ids` are members who may read the
    space; `seq` 1 is the opening post of a new topic."""

    topic: ClassVar[str] = COMMUNITY_POST_CREATED
    post_id: str
    topic_id: str
    space_id: str
    seq: int
    author_id: str
    author_handle: str
    topic_author_id: str
    topic_title: str
    mentioned_ids: list[str]


COMMUNITY_POST_MENTIONED = "community.post_mentioned"


class PostMentioned(EventPayload, frozen=True, kw_only=True):
    """Its author edited a published post to mention members it did not mention before:
    each of them is told as of a mention in a new post (`mentioned_ids`, members who may
    read the space); nobody is told of a reply, since the post is not new."""

    topic: ClassVar[str] = COMMUNITY_POST_MENTIONED
    post_id: str
    topic_id: str
    space_id: str
    seq: int
    author_id: str
    author_handle: str
    topic_title: str
    mentioned_ids: list[str]


COMMUNITY_POST_MODERATED = "community.post_moderated"


class PostModerated(EventPayload, frozen=True, kw_only=True):
    """Moderation touched a member's post or standing: the author is told what happened
    and why. `action` is a `ModerationAction` value (held, hidden, approved, edited,
    deleted, warned, suspended); `until` is the suspension's end (ISO 8601) when one.
    `reason_sw` is the reason in Swahili when the platform wrote it (the automatic
    screen's, members' flags); None when it is a moderator's own words."""

    topic: ClassVar[str] = COMMUNITY_POST_MODERATED
    post_id: str
    topic_id: str
    seq: int
    author_id: str
    topic_title: str
    action: str
    reason: str
    until: str | None = None
    reason_sw: str | None = None
