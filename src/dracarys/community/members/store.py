"""SQL of community profiles, reputation and activity."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime

from dracarys.community.members.models import (
    REPUTATION_PER_ACCEPTED_ANSWER,
    REPUTATION_PER_DOWNVOTE,
    REPUTATION_PER_UPVOTE,
    Profile,
    Standing,
    TrustLevel,
)
from dracarys.db import Connection, record_or_none, records


async def profile(conn: Connection, user_id: uuid.UUID) -> Profile | None:
    row = await conn.fetchrow("SELECT * FROM community_profiles WHERE user_id = $1", user_id)
    return record_or_none(Profile, row)


async def insert_profile(conn: Connection, user_id: uuid.UUID, handle: str, now: datetime) -> None:
    await conn.execute(
        "INSERT INTO community_profiles (user_id, handle, created_at) VALUES ($1, $2, $3) "
        "ON CONFLICT (user_id) DO NOTHING",
        user_id,
        handle,
        now,
    )


async def set_handle(conn: Connection, user_id: uuid.UUID, handle: str) -> bool:
    """False when another member holds the handle."""
    row = await conn.fetchrow(
        "UPDATE community_profiles SET handle = $2 WHERE user_id = $1 "
        "AND NOT EXISTS (SELECT 1 FROM community_profiles WHERE handle = $2 AND user_id <> $1) "
        "RETURNING user_id",
        user_id,
        handle,
    )
    return row is not None


async def users_by_handle(conn: Connection, handles: Collection[str]) -> dict[str, uuid.UUID]:
    rows = await conn.fetch(
        "SELECT handle, user_id FROM community_profiles WHERE handle = ANY($1::text[])",
        list(handles),
    )
    return {r["handle"]: r["user_id"] for r in rows}


async def handles_starting_with(
    conn: Connection, prefix: str, limit: int
) -> list[tuple[uuid.UUID, str]]:
    """(user id, handle) of the handles beginning with `prefix` (letters, digits and `_`
    only, so nothing in it is a LIKE wildcard but `_`, which is escaped), in order."""
    rows = await conn.fetch(
        "SELECT user_id, handle FROM community_profiles WHERE handle LIKE $1 || '%' "
        "ORDER BY handle LIMIT $2",
        prefix.replace("_", "\\_"),
        limit,
    )
    return [(r["user_id"], r["handle"]) for r in rows]


async def handles_of(conn: Connection, user_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, str]:
    rows = await conn.fetch(
        "SELECT user_id, handle FROM community_profiles WHERE user_id = ANY($1::uuid[])",
        list(user_ids),
    )
    return {r["user_id"]: r["handle"] for r in rows}


# Reputation is computed, never stored: a post a moderator deleted ('removed') stops
# counting its votes at once, as a deleted accepted answer stops counting its 15 (its
# topic's accepted_post_id is cleared). Held and hidden posts still count: they wait for
# a decision that may publish them again.
_REPUTATION = f"""
    SELECT p.author_id AS user_id,
           coalesce(sum(CASE WHEN v.value > 0 THEN {REPUTATION_PER_UPVOTE}
                             ELSE {REPUTATION_PER_DOWNVOTE} END), 0) AS from_votes
      FROM community_votes v JOIN community_posts p ON p.id = v.post_id
     WHERE p.status <> 'removed'
     GROUP BY p.author_id
"""
# An asker may accept their own answer (it marks the question solved) but earns nothing
# by it: reputation is what others' judgement gives, or asking and answering oneself
# would climb the trust levels (as Stack Overflow rules).
_ACCEPTED = f"""
    SELECT p.author_id AS user_id, count(*) * {REPUTATION_PER_ACCEPTED_ANSWER} AS from_accepted
      FROM community_topics t JOIN community_posts p ON p.id = t.accepted_post_id
     WHERE p.author_id <> t.author_id
     GROUP BY p.author_id
"""


async def reputation(conn: Connection, user_id: uuid.UUID) -> int:
    value = await conn.fetchval(
        f"""SELECT coalesce((SELECT from_votes FROM ({_REPUTATION}) v WHERE user_id = $1), 0)
                 + coalesce((SELECT from_accepted FROM ({_ACCEPTED}) a WHERE user_id = $1), 0)""",
        user_id,
    )
    return int(value)


async def standings(conn: Connection, since: datetime) -> list[Standing]:
    """Every member with a profile: stored level, reputation, posts, active days since
    `since`."""
    rows = await conn.fetch(
        f"""
        SELECT pr.user_id, pr.trust_level,
               (coalesce(v.from_votes, 0) + coalesce(a.from_accepted, 0))::int AS reputation,
               (SELECT count(*) FROM community_posts p
                 WHERE p.author_id = pr.user_id AND p.status = 'visible')::int AS posts,
               (SELECT count(DISTINCT (p.created_at AT TIME ZONE 'UTC')::date)
                  FROM community_posts p
                 WHERE p.author_id = pr.user_id AND p.created_at >= $1)::int AS active_days
          FROM community_profiles pr
          LEFT JOIN ({_REPUTATION}) v ON v.user_id = pr.user_id
          LEFT JOIN ({_ACCEPTED}) a ON a.user_id = pr.user_id
        """,
        since,
    )
    return records(Standing, rows)


async def set_trust_levels(
    conn: Connection, levels: Sequence[tuple[uuid.UUID, TrustLevel]], now: datetime
) -> None:
    await conn.execute(
        """UPDATE community_profiles p SET trust_level = x.level, trust_computed_at = $3
             FROM unnest($1::uuid[], $2::text[]) AS x(user_id, level)
            WHERE p.user_id = x.user_id""",
        [u for u, _ in levels],
        [str(level) for _, level in levels],
        now,
    )


async def posts_since(conn: Connection, user_id: uuid.UUID, since: datetime) -> int:
    count = await conn.fetchval(
        "SELECT count(*) FROM community_posts WHERE author_id = $1 AND created_at >= $2",
        user_id,
        since,
    )
    return int(count)
