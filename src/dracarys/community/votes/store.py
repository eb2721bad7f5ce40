"""SQL of votes, post scores and accepted answers."""

from __future__ import annotations

import uuid
from datetime import datetime

from dracarys.db import Connection


async def cast(
    conn: Connection, post_id: uuid.UUID, voter_id: uuid.UUID, value: int, now: datetime
) -> int:
    """Record the voter's vote; returns the change to the post's score (0: the same vote
    again). The key (post, voter) is the one-vote rule: of two concurrent first votes one
    inserts, the other waits for it, finds the row and changes it or nothing."""
    inserted = await conn.fetchval(
        "INSERT INTO community_votes (post_id, voter_id, value, created_at) "
        "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING value",
        post_id,
        voter_id,
        value,
        now,
    )
    if inserted is not None:
        return value
    previous = await conn.fetchval(
        "SELECT value FROM community_votes WHERE post_id = $1 AND voter_id = $2 FOR UPDATE",
        post_id,
        voter_id,
    )
    if previous is None or previous == value:
        return 0
    await conn.execute(
        "UPDATE community_votes SET value = $3, created_at = $4 "
        "WHERE post_id = $1 AND voter_id = $2",
        post_id,
        voter_id,
        value,
        now,
    )
    return value - int(previous)


async def retract(conn: Connection, post_id: uuid.UUID, voter_id: uuid.UUID) -> int:
    """Remove the voter's vote; returns the change to the post's score."""
    previous = await conn.fetchval(
        "DELETE FROM community_votes WHERE post_id = $1 AND voter_id = $2 RETURNING value",
        post_id,
        voter_id,
    )
    return -int(previous) if previous is not None else 0


async def add_to_score(conn: Connection, post_id: uuid.UUID, delta: int) -> int:
    score = await conn.fetchval(
        "UPDATE community_posts SET score = score + $2 WHERE id = $1 RETURNING score",
        post_id,
        delta,
    )
    return int(score)


async def score(conn: Connection, post_id: uuid.UUID) -> int:
    return int(await conn.fetchval("SELECT score FROM community_posts WHERE id = $1", post_id))


async def accept(conn: Connection, topic_id: uuid.UUID, post_id: uuid.UUID) -> None:
    await conn.execute(
        "UPDATE community_topics SET accepted_post_id = $2 WHERE id = $1", topic_id, post_id
    )
