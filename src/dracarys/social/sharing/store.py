"""The SQL of shares, their visits, their cards and the badges members hold."""

from __future__ import annotations

import uuid
from datetime import datetime

from dracarys.db import Connection, record, record_or_none, records
from dracarys.social.sharing.models import Channel, Share, ShareKind

_COLUMNS = (
    "id, token, user_id, kind, subject_id, channel, title, description, target_path, "
    "card_hash, sharer_network_hash, created_at, signed_in_visitors, qualifying_visitors, "
    "anonymous_visitors, qualified_at"
)


async def save_card(conn: Connection, content_hash: str, png: bytes, at: datetime) -> None:
    await conn.execute(
        """INSERT INTO social_share_cards (content_hash, png, created_at) VALUES ($1, $2, $3)
           ON CONFLICT (content_hash) DO NOTHING""",
        content_hash,
        png,
        at,
    )


async def has_card(conn: Connection, content_hash: str) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT 1 FROM social_share_cards WHERE content_hash = $1", content_hash
        )
    )


async def card_png(conn: Connection, content_hash: str) -> bytes | None:
    png: bytes | None = await conn.fetchval(
        "SELECT png FROM social_share_cards WHERE content_hash = $1", content_hash
    )
    return png


async def insert_share(
    conn: Connection,
    *,
    token: str,
    user_id: uuid.UUID,
    kind: ShareKind,
    subject_id: str,
    channel: Channel,
    title: str,
    description: str,
    target_path: str,
    card_hash: str,
    sharer_network_hash: bytes | None,
    at: datetime,
) -> Share | None:
    """The new share; None when the user shared this thing on this channel before."""
    row = await conn.fetchrow(
        f"""INSERT INTO social_shares (id, token, user_id, kind, subject_id, channel, title,
                                       description, target_path, card_hash,
                                       sharer_network_hash, created_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
            ON CONFLICT (user_id, kind, subject_id, channel) DO NOTHING
            RETURNING {_COLUMNS}""",
        uuid.uuid4(),
        token,
        user_id,
        kind.value,
        subject_id,
        channel.value,
        title,
        description,
        target_path,
        card_hash,
        sharer_network_hash,
        at,
    )
    return record_or_none(Share, row)


async def share_of(
    conn: Connection, user_id: uuid.UUID, kind: ShareKind, subject_id: str, channel: Channel
) -> Share | None:
    row = await conn.fetchrow(
        f"""SELECT {_COLUMNS} FROM social_shares
            WHERE user_id = $1 AND kind = $2 AND subject_id = $3 AND channel = $4""",
        user_id,
        kind.value,
        subject_id,
        channel.value,
    )
    return record_or_none(Share, row)


async def share_by_token(conn: Connection, token: str, *, lock: bool = False) -> Share | None:
    """The share behind a link; `lock` holds its row until the transaction ends, so the
    visits of one share are counted one after the other."""
    locking = "FOR UPDATE" if lock else ""
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM social_shares WHERE token = $1 {locking}", token
    )
    return record_or_none(Share, row)


async def shares_of(conn: Connection, user_id: uuid.UUID, limit: int) -> list[Share]:
    """The user's shares, newest first."""
    rows = await conn.fetch(
        f"""SELECT {_COLUMNS} FROM social_shares WHERE user_id = $1
            ORDER BY created_at DESC, id LIMIT $2""",
        user_id,
        limit,
    )
    return records(Share, rows)


async def insert_visit(
    conn: Connection,
    *,
    share_id: uuid.UUID,
    visitor_key: str,
    user_id: uuid.UUID | None,
    qualifies: bool,
    excluded: str | None,
    at: datetime,
) -> bool:
    """Record a visitor's first visit of the share; False when they visited before."""
    status = await conn.execute(
        """INSERT INTO social_share_visits (share_id, visitor_key, user_id, qualifies, excluded,
                                            visited_at)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (share_id, visitor_key) DO NOTHING""",
        share_id,
        visitor_key,
        user_id,
        qualifies,
        excluded,
        at,
    )
    return status.endswith(" 1")


async def count_visitor(
    conn: Connection, share_id: uuid.UUID, *, signed_in: bool, qualifies: bool
) -> Share:
    """Add one distinct visitor to the share's counts (the caller holds its row lock)."""
    row = await conn.fetchrow(
        f"""UPDATE social_shares
            SET signed_in_visitors = signed_in_visitors + $2::int,
                qualifying_visitors = qualifying_visitors + $3::int,
                anonymous_visitors = anonymous_visitors + (1 - $2::int)
            WHERE id = $1 RETURNING {_COLUMNS}""",
        share_id,
        int(signed_in),
        int(qualifies),
    )
    assert row is not None  # the caller found and locked the share
    return record(Share, row)


async def mark_qualified(conn: Connection, share_id: uuid.UUID, at: datetime) -> bool:
    """Mark the share as having earned; False when it had already."""
    status = await conn.execute(
        "UPDATE social_shares SET qualified_at = $2 WHERE id = $1 AND qualified_at IS NULL",
        share_id,
        at,
    )
    return status.endswith(" 1")


async def record_badges(conn: Connection, badges: list[tuple[uuid.UUID, str, datetime]]) -> None:
    await conn.executemany(
        """INSERT INTO social_badges (user_id, badge, earned_at) VALUES ($1, $2, $3)
           ON CONFLICT (user_id, badge) DO NOTHING""",
        badges,
    )


async def badge_earned_at(conn: Connection, user_id: uuid.UUID, badge: str) -> datetime | None:
    earned: datetime | None = await conn.fetchval(
        "SELECT earned_at FROM social_badges WHERE user_id = $1 AND badge = $2", user_id, badge
    )
    return earned
