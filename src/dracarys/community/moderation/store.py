"""Moderation SQL: the screen's look-ups (blocked domains, the same text in another space,
the recent posting rate, suspensions), flags, the review queue, post and topic status
changes, appeals, and the log of decisions."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from dracarys.community.moderation.models import (
    BlockedDomain,
    ModerationAction,
    QueuedPost,
    Suspension,
)
from dracarys.db import Connection, record_or_none, records

# ---- the screen ----


async def blocked_among(conn: Connection, hosts: Sequence[str]) -> list[str]:
    """The blocklisted domains `hosts` are or are under (`x.spam.example` is under
    `spam.example`)."""
    if not hosts:
        return []
    rows = await conn.fetch(
        """
        SELECT DISTINCT b.domain FROM community_blocked_domains b
          JOIN unnest($1::text[]) AS h (host)
            ON h.host = b.domain OR h.host LIKE '%.' || b.domain
         ORDER BY b.domain
        """,
        list(hosts),
    )
    return [r["domain"] for r in rows]


async def same_text_elsewhere(
    conn: Connection, author_id: uuid.UUID, source: str, space_id: uuid.UUID, since: datetime
) -> bool:
    """Whether the author wrote this exact text in another space since `since`."""
    found: bool = await conn.fetchval(
        """
        SELECT EXISTS (
            SELECT 1 FROM community_posts p JOIN community_topics t ON t.id = p.topic_id
             WHERE p.author_id = $1 AND p.created_at >= $4 AND t.space_id <> $3
               AND md5(p.source) = md5($2) AND p.source = $2)
        """,
        author_id,
        source,
        space_id,
        since,
    )
    return found


async def posts_since(conn: Connection, author_id: uuid.UUID, since: datetime) -> int:
    count: int = await conn.fetchval(
        "SELECT count(*) FROM community_posts WHERE author_id = $1 AND created_at >= $2",
        author_id,
        since,
    )
    return count


async def active_suspension(
    conn: Connection, user_id: uuid.UUID, now: datetime
) -> Suspension | None:
    row = await conn.fetchrow(
        """
        SELECT user_id, reason, ends_at FROM community_suspensions
         WHERE user_id = $1 AND starts_at <= $2 AND ends_at > $2
         ORDER BY ends_at DESC LIMIT 1
        """,
        user_id,
        now,
    )
    return record_or_none(Suspension, row)


async def suspended_until(
    conn: Connection, user_ids: Sequence[uuid.UUID], now: datetime
) -> dict[uuid.UUID, datetime]:
    rows = await conn.fetch(
        """
        SELECT user_id, max(ends_at) AS ends_at FROM community_suspensions
         WHERE user_id = ANY($1::uuid[]) AND ends_at > $2 GROUP BY user_id
        """,
        list(user_ids),
        now,
    )
    return {r["user_id"]: r["ends_at"] for r in rows}


async def insert_suspension(
    conn: Connection,
    *,
    user_id: uuid.UUID,
    moderator_id: uuid.UUID,
    post_id: uuid.UUID,
    reason: str,
    starts_at: datetime,
    ends_at: datetime,
) -> None:
    await conn.execute(
        """
        INSERT INTO community_suspensions
               (id, user_id, moderator_id, post_id, reason, starts_at, ends_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7)
        """,
        uuid.uuid4(),
        user_id,
        moderator_id,
        post_id,
        reason,
        starts_at,
        ends_at,
    )


# ---- posts under review ----


async def hold_post(conn: Connection, post_id: uuid.UUID, status: str, reason: str) -> None:
    """Take a post out of view (held or hidden) and into the queue, with its reason; an
    opening post takes its topic along."""
    await conn.execute(
        """
        UPDATE community_posts SET status = $2, moderation_reason = $3, in_review = true
         WHERE id = $1
        """,
        post_id,
        status,
        reason,
    )
    await conn.execute(
        """
        UPDATE community_topics t SET status = $2 FROM community_posts p
         WHERE p.id = $1 AND p.seq = 1 AND t.id = p.topic_id
        """,
        post_id,
        status,
    )


async def decide_post(
    conn: Connection, post_id: uuid.UUID, status: str, reason: str | None
) -> None:
    """A moderator's decision: the post's status (and an opening post's topic's), out of
    the queue. Publishing settles the flags so far (their rows stay, and each flagger's one
    flag is spent): only flags after the decision count towards hiding it again, or one
    flag from a newcomer would hide a post a moderator has just cleared."""
    await conn.execute(
        """
        UPDATE community_posts SET status = $2, moderation_reason = $3, in_review = false,
               flag_weight = CASE WHEN $2 = 'visible' THEN 0 ELSE flag_weight END
         WHERE id = $1
        """,
        post_id,
        status,
        reason,
    )
    await conn.execute(
        """
        UPDATE community_topics t SET status = $2 FROM community_posts p
         WHERE p.id = $1 AND p.seq = 1 AND t.id = p.topic_id
        """,
        post_id,
        status,
    )
    if status == "removed":
        # A deleted answer solves nothing: the question opens again (the asker may accept
        # another) and its author's reputation, read from the topic, loses the 15.
        await conn.execute(
            "UPDATE community_topics SET accepted_post_id = NULL WHERE accepted_post_id = $1",
            post_id,
        )


async def lock_queued(conn: Connection, post_id: uuid.UUID) -> QueuedPost | None:
    await conn.execute("SELECT 1 FROM community_posts WHERE id = $1 FOR UPDATE", post_id)
    found = await queued_posts(conn, post_id=post_id, only_in_review=False)
    return found[0] if found else None


async def queued_posts(
    conn: Connection,
    *,
    post_id: uuid.UUID | None = None,
    only_in_review: bool = True,
    public_only: bool = False,
    limit: int = 100,
) -> list[QueuedPost]:
    rows = await conn.fetch(
        """
        SELECT p.id AS post_id, p.topic_id, p.seq, t.title AS topic_title, s.id AS space_id,
               s.slug AS space_slug,
               (s.visibility = 'public' AND s.monthly_price_minor = 0) AS space_public,
               p.author_id,
               p.status, p.source, p.html, p.moderation_reason, p.flag_weight,
               (SELECT count(*) FROM community_flags f WHERE f.post_id = p.id) AS flags,
               p.appeal, p.appealed_at, p.created_at
          FROM community_posts p
          JOIN community_topics t ON t.id = p.topic_id
          JOIN community_spaces s ON s.id = t.space_id
         WHERE ($1::uuid IS NULL OR p.id = $1)
           AND (NOT $2 OR p.in_review)
           AND (NOT $3 OR (s.visibility = 'public' AND s.monthly_price_minor = 0))
         ORDER BY p.appealed_at NULLS FIRST, p.created_at
         LIMIT $4
        """,
        post_id,
        only_in_review,
        public_only,
        limit,
    )
    return records(QueuedPost, rows)


async def add_flag(
    conn: Connection,
    post_id: uuid.UUID,
    flagger_id: uuid.UUID,
    weight: int,
    reason: str,
    now: datetime,
) -> int | None:
    """The post's flag weight after this flag, or None when the member flagged it before."""
    added = await conn.fetchval(
        """
        INSERT INTO community_flags (post_id, flagger_id, weight, reason, created_at)
        VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING 1
        """,
        post_id,
        flagger_id,
        weight,
        reason,
        now,
    )
    if added is None:
        return None
    total: int = await conn.fetchval(
        "UPDATE community_posts SET flag_weight = flag_weight + $2 WHERE id = $1 "
        "RETURNING flag_weight",
        post_id,
        weight,
    )
    return total


async def record_appeal(conn: Connection, post_id: uuid.UUID, text: str, now: datetime) -> bool:
    """The post's one appeal, which puts it back in the queue; False if it has one."""
    done = await conn.fetchval(
        """
        UPDATE community_posts SET appeal = $2, appealed_at = $3, in_review = true
         WHERE id = $1 AND appealed_at IS NULL RETURNING 1
        """,
        post_id,
        text,
        now,
    )
    return done is not None


async def log_action(
    conn: Connection,
    post_id: uuid.UUID,
    moderator_id: uuid.UUID | None,
    action: ModerationAction,
    reason: str,
    now: datetime,
) -> None:
    await conn.execute(
        """
        INSERT INTO community_moderation_actions (post_id, moderator_id, action, reason,
                                                  created_at)
        VALUES ($1, $2, $3, $4, $5)
        """,
        post_id,
        moderator_id,
        action.value,
        reason,
        now,
    )


# ---- the blocklist ----


async def blocked_domains(conn: Connection) -> list[BlockedDomain]:
    rows = await conn.fetch(
        "SELECT domain, reason, added_by, added_at FROM community_blocked_domains ORDER BY domain"
    )
    return records(BlockedDomain, rows)


async def upsert_blocked_domain(
    conn: Connection, domain: str, reason: str, added_by: uuid.UUID, now: datetime
) -> BlockedDomain:
    row = await conn.fetchrow(
        """
        INSERT INTO community_blocked_domains (domain, reason, added_by, added_at)
        VALUES ($1, $2, $3, $4)
        ON CONFLICT (domain) DO UPDATE SET reason = $2, added_by = $3, added_at = $4
        RETURNING domain, reason, added_by, added_at
        """,
        domain,
        reason,
        added_by,
        now,
    )
    found = record_or_none(BlockedDomain, row)
    assert found is not None
    return found


async def delete_blocked_domain(conn: Connection, domain: str) -> bool:
    gone = await conn.fetchval(
        "DELETE FROM community_blocked_domains WHERE domain = $1 RETURNING 1", domain
    )
    return gone is not None


async def ever_published(conn: Connection, post_id: uuid.UUID) -> bool:
    """Whether the post went live before (was announced): not if the screen held it and no
    moderator has published it since."""
    published: bool = await conn.fetchval(
        """
        SELECT NOT EXISTS (SELECT 1 FROM community_moderation_actions
                            WHERE post_id = $1 AND action = 'held')
            OR EXISTS (SELECT 1 FROM community_moderation_actions
                        WHERE post_id = $1 AND action IN ('approved', 'edited'))
        """,
        post_id,
    )
    return published
