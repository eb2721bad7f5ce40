"""Search over posts: the query and its filters, and each hit with a highlighted snippet."""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec

from dracarys.wire import Schema


class SearchFilters(msgspec.Struct, frozen=True, kw_only=True):
    query: str
    space_ids: list[uuid.UUID]  # the spaces searched: those the reader may read, narrowed
    tag: str | None
    author_id: uuid.UUID | None
    solved: bool | None
    limit: int


class SearchHit(msgspec.Struct, frozen=True, kw_only=True):
    post_id: uuid.UUID
    seq: int
    topic_id: uuid.UUID
    topic_title: str
    space_id: uuid.UUID
    space_slug: str
    author_id: uuid.UUID
    solved: bool
    rank: float
    # `ts_headline` of the post, matches between «…», the rest plain text.
    snippet: str
    created_at: datetime


class SearchHitView(Schema):
    post_id: uuid.UUID
    seq: int
    topic_id: uuid.UUID
    topic_title: str
    space_slug: str
    author_handle: str
    solved: bool
    rank: float
    snippet: str
    created_at: datetime
