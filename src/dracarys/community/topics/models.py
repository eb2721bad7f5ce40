"""Topics and posts: rows, inputs, the views the API answers with, and the frame published
on `community:{space_id}` when a post is written."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated

import msgspec

from dracarys.wire import Input, Schema

TAG = Annotated[str, msgspec.Meta(pattern="^[a-z0-9][a-z0-9-]{0,23}$")]
BODY = Annotated[str, msgspec.Meta(min_length=1, max_length=20_000)]


class TopicKind(StrEnum):
    DISCUSSION = "discussion"
    QUESTION = "question"  # answers are voted on; the asker accepts one


class PostStatus(StrEnum):
    VISIBLE = "visible"
    # Moderation (community.moderation): held by the automatic screen, hidden by members'
    # flags, removed by a moderator. None is listed, searched nor published; the author
    # sees their own with the reason.
    HELD = "held"
    HIDDEN = "hidden"
    REMOVED = "removed"


class TopicSort(StrEnum):
    ACTIVE = "active"  # latest post first
    NEW = "new"  # newest topic first
    VOTES = "votes"  # highest-scored opening post first
    UNANSWERED = "unanswered"  # questions without an answer, oldest first


class Reaction(StrEnum):
    LIKE = "like"
    INSIGHTFUL = "insightful"
    THANKS = "thanks"
    LAUGH = "laugh"


class Topic(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    space_id: uuid.UUID
    author_id: uuid.UUID
    kind: TopicKind
    title: str
    tags: list[str]
    status: PostStatus
    accepted_post_id: uuid.UUID | None
    last_seq: int
    created_at: datetime
    last_posted_at: datetime


class Post(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    topic_id: uuid.UUID
    seq: int
    author_id: uuid.UUID
    source: str
    html: str
    quote_post_id: uuid.UUID | None
    status: PostStatus
    score: int
    created_at: datetime
    edited_at: datetime | None
    moderation_reason: str | None = None
    appealed_at: datetime | None = None


class TopicRow(Topic, frozen=True, kw_only=True):
    """A topic as a list shows it: with its opening post's score and the reader's unread."""

    score: int
    unread: int


class PostEdit(msgspec.Struct, frozen=True, kw_only=True):
    editor_id: uuid.UUID
    source: str
    edited_at: datetime


class TopicInput(Input):
    space_id: uuid.UUID
    title: Annotated[str, msgspec.Meta(min_length=5, max_length=150)]
    body: BODY
    kind: TopicKind = TopicKind.DISCUSSION
    tags: Annotated[list[TAG], msgspec.Meta(max_length=5)] = msgspec.field(default_factory=list)


class PostInput(Input):
    body: BODY
    # A post of the same topic this one quotes (shown above the reply).
    quote_post_id: uuid.UUID | None = None


class EditInput(Input):
    body: BODY


class PreviewInput(Input):
    body: BODY


class ReadInput(Input):
    seq: Annotated[int, msgspec.Meta(ge=0, le=2_000_000_000)]


class ReactionInput(Input):
    reaction: Reaction


class PreviewView(Schema):
    html: str


class TopicSummary(Schema):
    id: uuid.UUID
    space_id: uuid.UUID
    kind: TopicKind
    title: str
    tags: list[str]
    author_id: uuid.UUID
    author_handle: str
    replies: int
    score: int
    solved: bool
    unread: int
    created_at: datetime
    last_posted_at: datetime


class QuoteView(Schema):
    post_id: uuid.UUID
    seq: int
    author_handle: str
    excerpt: str


class PostView(Schema):
    id: uuid.UUID
    topic_id: uuid.UUID
    seq: int
    author_id: uuid.UUID
    author_handle: str
    html: str
    source: str
    quote: QuoteView | None
    score: int
    my_vote: int
    reactions: dict[str, int]
    my_reactions: list[str]
    accepted: bool
    edits: int
    created_at: datetime
    edited_at: datetime | None
    # Moderation, shown to the post's author only: the status, why, and whether they may
    # still appeal (once).
    status: PostStatus = PostStatus.VISIBLE
    moderation_reason: str | None = None
    may_appeal: bool = False


class TopicView(Schema):
    topic: TopicSummary
    space_slug: str
    space_title: str
    posts: list[PostView]
    last_read_seq: int
    # The reader may accept an answer: the asker, or the space's mentor, of a question.
    may_accept: bool
    may_post: bool


class EditView(Schema):
    editor_handle: str
    source: str
    edited_at: datetime


class PostFrame(Schema, tag="community.post", tag_field="type"):
    """A post was written in the space (`seq` 1: a new topic): lists and open topics
    reload or append it from the REST API."""

    space_id: uuid.UUID
    topic_id: uuid.UUID
    post_id: uuid.UUID
    seq: int
    title: str
    author_handle: str
