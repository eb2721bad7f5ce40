"""Search rules: only spaces the reader may read, narrowed by the filters asked for."""

from __future__ import annotations

import uuid

from dracarys.community.members import service as members
from dracarys.community.search import store
from dracarys.community.search.models import SearchFilters, SearchHitView
from dracarys.community.spaces import service as spaces
from dracarys.errors import InvalidInput
from dracarys.identity import CurrentUser
from dracarys.platform import Platform

RESULTS = 30


async def search(
    platform: Platform,
    user: CurrentUser,
    query: str,
    *,
    space: str | None = None,
    tag: str | None = None,
    author: str | None = None,
    solved: bool | None = None,
) -> list[SearchHitView]:
    if not query.strip():
        raise InvalidInput("Type a word or phrase to search for.", field="q")
    async with platform.pool.acquire() as conn:
        space_ids = await spaces.readable_space_ids_by_slug(conn, user, space, platform.clock.now())
        author_id: uuid.UUID | None = None
        if author is not None:
            found = await members.users_by_handle(conn, [author.lstrip("@").lower()])
            if not found:
                return []
            author_id = next(iter(found.values()))
        hits = await store.search(
            conn,
            SearchFilters(
                query=query,
                space_ids=space_ids,
                tag=tag,
                author_id=author_id,
                solved=solved,
                limit=RESULTS,
            ),
        )
        handles = await members.handles_of(conn, {h.author_id for h in hits})
        return [
            SearchHitView(
                post_id=h.post_id,
                seq=h.seq,
                topic_id=h.topic_id,
                topic_title=h.topic_title,
                space_slug=h.space_slug,
                author_handle=handles.get(h.author_id) or members.default_handle(h.author_id),
                solved=h.solved,
                rank=h.rank,
                snippet=h.snippet,
                created_at=h.created_at,
            )
            for h in hits
        ]
