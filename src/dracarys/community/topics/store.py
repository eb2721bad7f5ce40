"""SQL of topics, posts, their edits and reactions, and read positions."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime

from dracarys.community.topics.models import (
    Post,
    PostEdit,
    Topic,
    TopicInput,
    TopicRow,
    TopicSort,
)
from dracarys.db import Connection, record, record_or_none, records

_ORDER = {
    TopicSort.ACTIVE: "t.last_posted_at DESC, t.id",
    TopicSort.NEW: "t.created_at DESC, t.id",
    TopicSort.VOTES: "p.score DESC, t.created_at DESC, t.id",
    TopicSort.UNANSWERED: "t.created_at, t.id",
}


async def insert_topic(
    conn: Connection, topic_id: uuid.UUID, author_id: uuid.UUID, data: TopicInput, now: datetime
) -> Topic:
    row = await conn.fetchrow(
        """INSERT INTO community_topics
               (id, space_id, author_id, kind, title, tags, last_seq, created_at, last_posted_at)
           VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $7) RETURNING *""",
        topic_id,
        data.space_id,
        author_id,
        data.kind.value,
        data.title,
        sorted(set(data.tags)),
        now,
    )
    assert row is not None
    return record(Topic, row)


async def topic_titled(conn: Connection, space_id: uuid.UUID, title: str) -> bool:
    found = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM community_topics WHERE space_id = $1 AND title = $2)",
        space_id,
        title,
    )
    return bool(found)


async def take_seq(conn: Connection, topic_id: uuid.UUID, now: datetime) -> int:
    """The next post number of the topic; the row stays locked until commit, so replies
    are numbered 2, 3, 4… without gap or double."""
    seq = await conn.fetchval(
        "UPDATE community_topics SET last_seq = last_seq + 1, last_posted_at = $2 "
        "WHERE id = $1 RETURNING last_seq",
        topic_id,
        now,
    )
    return int(seq)


async def insert_post(
    conn: Connection,
    *,
    topic_id: uuid.UUID,
    seq: int,
    author_id: uuid.UUID,
    source: str,
    html: str,
    quote_post_id: uuid.UUID | None,
    search_title: str,
    now: datetime,
) -> Post:
    row = await conn.fetchrow(
        """INSERT INTO community_posts
               (id, topic_id, seq, author_id, source, html, quote_post_id, search_title, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
           RETURNING id, topic_id, seq, author_id, source, html, quote_post_id, status, score,
                     created_at, edited_at, moderation_reason, appealed_at""",
        uuid.uuid4(),
        topic_id,
        seq,
        author_id,
        source,
        html,
        quote_post_id,
        search_title,
        now,
    )
    assert row is not None
    return record(Post, row)


async def topic(conn: Connection, topic_id: uuid.UUID) -> Topic | None:
    row = await conn.fetchrow("SELECT * FROM community_topics WHERE id = $1", topic_id)
    return record_or_none(Topic, row)


_POST_COLUMNS = (
    "id, topic_id, seq, author_id, source, html, quote_post_id, status, score, created_at, "
    "edited_at, moderation_reason, appealed_at"
)


async def post(conn: Connection, post_id: uuid.UUID) -> Post | None:
    row = await conn.fetchrow(f"SELECT {_POST_COLUMNS} FROM community_posts WHERE id = $1", post_id)
    return record_or_none(Post, row)


async def topics(
    conn: Connection,
    space_id: uuid.UUID,
    reader_id: uuid.UUID,
    sort: TopicSort,
    tag: str | None,
    limit: int,
) -> list[TopicRow]:
    unanswered = (
        "AND t.kind = 'question' AND t.last_seq = 1" if sort is TopicSort.UNANSWERED else ""
    )
    rows = await conn.fetch(
        f"""SELECT t.*, p.score,
                   greatest(t.last_seq - coalesce(r.last_read_seq, 0), 0) AS unread
              FROM community_topics t
              JOIN community_posts p ON p.topic_id = t.id AND p.seq = 1
              LEFT JOIN community_reads r ON r.topic_id = t.id AND r.user_id = $2
             WHERE t.space_id = $1 AND t.status = 'visible'
               AND ($3::text IS NULL OR $3 = ANY(t.tags)) {unanswered}
             ORDER BY {_ORDER[sort]} LIMIT $4""",
        space_id,
        reader_id,
        tag,
        limit,
    )
    return records(TopicRow, rows)


async def posts(conn: Connection, topic_id: uuid.UUID, reader_id: uuid.UUID) -> list[Post]:
    """The topic's visible posts, and the reader's own held, hidden or removed ones (their
    author sees why, and may appeal)."""
    rows = await conn.fetch(
        f"SELECT {_POST_COLUMNS} FROM community_posts "
        "WHERE topic_id = $1 AND (status = 'visible' OR author_id = $2) ORDER BY seq",
        topic_id,
        reader_id,
    )
    return records(Post, rows)


async def posts_by_id(conn: Connection, post_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, Post]:
    rows = await conn.fetch(
        f"SELECT {_POST_COLUMNS} FROM community_posts WHERE id = ANY($1::uuid[])", list(post_ids)
    )
    return {p.id: p for p in records(Post, rows)}


async def my_votes(
    conn: Connection, voter_id: uuid.UUID, post_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, int]:
    rows = await conn.fetch(
        "SELECT post_id, value FROM community_votes WHERE voter_id = $1 "
        "AND post_id = ANY($2::uuid[])",
        voter_id,
        list(post_ids),
    )
    return {r["post_id"]: r["value"] for r in rows}


async def reactions(
    conn: Connection, post_ids: Collection[uuid.UUID]
) -> list[tuple[uuid.UUID, uuid.UUID, str]]:
    rows = await conn.fetch(
        "SELECT post_id, user_id, reaction FROM community_reactions "
        "WHERE post_id = ANY($1::uuid[]) ORDER BY created_at",
        list(post_ids),
    )
    return [(r["post_id"], r["user_id"], r["reaction"]) for r in rows]


async def edit_counts(conn: Connection, post_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, int]:
    rows = await conn.fetch(
        "SELECT post_id, count(*) AS n FROM community_post_edits "
        "WHERE post_id = ANY($1::uuid[]) GROUP BY post_id",
        list(post_ids),
    )
    return {r["post_id"]: r["n"] for r in rows}


async def record_edit(
    conn: Connection, post: Post, editor_id: uuid.UUID, source: str, html: str, now: datetime
) -> None:
    """Keep what the post said, then change it (one transaction: history never misses a
    version)."""
    await conn.execute(
        "INSERT INTO community_post_edits (post_id, editor_id, source, edited_at) "
        "VALUES ($1, $2, $3, $4)",
        post.id,
        editor_id,
        post.source,
        now,
    )
    await conn.execute(
        "UPDATE community_posts SET source = $2, html = $3, edited_at = $4 WHERE id = $1",
        post.id,
        source,
        html,
        now,
    )


async def lock_post(conn: Connection, post_id: uuid.UUID) -> None:
    await conn.execute("SELECT 1 FROM community_posts WHERE id = $1 FOR UPDATE", post_id)


async def edits(conn: Connection, post_id: uuid.UUID) -> list[PostEdit]:
    rows = await conn.fetch(
        "SELECT editor_id, source, edited_at FROM community_post_edits "
        "WHERE post_id = $1 ORDER BY id",
        post_id,
    )
    return records(PostEdit, rows)


async def add_reaction(
    conn: Connection, post_id: uuid.UUID, user_id: uuid.UUID, reaction: str, now: datetime
) -> None:
    await conn.execute(
        "INSERT INTO community_reactions (post_id, user_id, reaction, created_at) "
        "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        post_id,
        user_id,
        reaction,
        now,
    )


async def remove_reaction(
    conn: Connection, post_id: uuid.UUID, user_id: uuid.UUID, reaction: str
) -> None:
    await conn.execute(
        "DELETE FROM community_reactions WHERE post_id = $1 AND user_id = $2 AND reaction = $3",
        post_id,
        user_id,
        reaction,
    )


async def mark_read(conn: Connection, user_id: uuid.UUID, topic_id: uuid.UUID, seq: int) -> int:
    """Move the reader's position forward (never back); returns where it is."""
    position = await conn.fetchval(
        """INSERT INTO community_reads (user_id, topic_id, last_read_seq) VALUES ($1, $2, $3)
           ON CONFLICT (user_id, topic_id) DO UPDATE
              SET last_read_seq = greatest(community_reads.last_read_seq, EXCLUDED.last_read_seq)
           RETURNING last_read_seq""",
        user_id,
        topic_id,
        seq,
    )
    return int(position)


async def last_read(conn: Connection, user_id: uuid.UUID, topic_id: uuid.UUID) -> int:
    position = await conn.fetchval(
        "SELECT last_read_seq FROM community_reads WHERE user_id = $1 AND topic_id = $2",
        user_id,
        topic_id,
    )
    return int(position or 0)
