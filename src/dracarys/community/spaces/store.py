"""SQL of spaces and their members."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime

from dracarys.community.spaces.models import GroupInput, Space
from dracarys.db import Connection, record_or_none, records


async def spaces(conn: Connection) -> list[Space]:
    rows = await conn.fetch("SELECT * FROM community_spaces ORDER BY kind, title")
    return records(Space, rows)


async def space_by_slug(conn: Connection, slug: str) -> Space | None:
    row = await conn.fetchrow("SELECT * FROM community_spaces WHERE slug = $1", slug)
    return record_or_none(Space, row)


async def space(conn: Connection, space_id: uuid.UUID) -> Space | None:
    row = await conn.fetchrow("SELECT * FROM community_spaces WHERE id = $1", space_id)
    return record_or_none(Space, row)


async def insert_group(
    conn: Connection, mentor_id: uuid.UUID, data: GroupInput, now: datetime
) -> Space | None:
    """None when the slug is taken."""
    row = await conn.fetchrow(
        """INSERT INTO community_spaces
               (id, slug, title, description, kind, visibility, mentor_id, cohort_id, created_at)
           VALUES ($1, $2, $3, $4, 'group', $5, $6, $7, $8)
           ON CONFLICT (slug) DO NOTHING RETURNING *""",
        uuid.uuid4(),
        data.slug,
        data.title,
        data.description,
        data.visibility.value,
        mentor_id,
        data.cohort_id,
        now,
    )
    return record_or_none(Space, row)


async def topic_counts(conn: Connection) -> dict[uuid.UUID, int]:
    rows = await conn.fetch(
        "SELECT space_id, count(*) AS n FROM community_topics WHERE status = 'visible' "
        "GROUP BY space_id"
    )
    return {r["space_id"]: r["n"] for r in rows}


async def joined_spaces(conn: Connection, user_id: uuid.UUID) -> set[uuid.UUID]:
    rows = await conn.fetch(
        "SELECT space_id FROM community_space_members WHERE user_id = $1", user_id
    )
    return {r["space_id"] for r in rows}


async def joined(
    conn: Connection, space_id: uuid.UUID, user_ids: Collection[uuid.UUID]
) -> set[uuid.UUID]:
    rows = await conn.fetch(
        "SELECT user_id FROM community_space_members WHERE space_id = $1 "
        "AND user_id = ANY($2::uuid[])",
        space_id,
        list(user_ids),
    )
    return {r["user_id"] for r in rows}


async def members(conn: Connection, space_id: uuid.UUID) -> list[uuid.UUID]:
    rows = await conn.fetch(
        "SELECT user_id FROM community_space_members WHERE space_id = $1 ORDER BY joined_at",
        space_id,
    )
    return [r["user_id"] for r in rows]


async def add_member(
    conn: Connection, space_id: uuid.UUID, user_id: uuid.UUID, now: datetime
) -> None:
    await conn.execute(
        "INSERT INTO community_space_members (space_id, user_id, joined_at) VALUES ($1, $2, $3) "
        "ON CONFLICT DO NOTHING",
        space_id,
        user_id,
        now,
    )


async def remove_member(conn: Connection, space_id: uuid.UUID, user_id: uuid.UUID) -> None:
    await conn.execute(
        "DELETE FROM community_space_members WHERE space_id = $1 AND user_id = $2",
        space_id,
        user_id,
    )
