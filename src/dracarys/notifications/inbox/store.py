"""The SQL of the inbox: notifications written once per (person, dedupe key), listed,
counted, read and archived."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from dracarys.db import Connection, records
from dracarys.notifications.inbox.models import NewNotification, Notification

_COLUMNS = (
    "id, user_id, kind, category, priority, title, body, link, in_app, created_at, read_at, "
    "archived_at"
)


async def insert_notifications(
    conn: Connection, rows: Sequence[NewNotification], at: datetime
) -> set[uuid.UUID]:
    """Write them in one statement; returns the ids of those not written before (a
    repeated dedupe key for the same person inserts nothing)."""
    if not rows:
        return set()
    found = await conn.fetch(
        """INSERT INTO notifications (id, user_id, kind, category, priority, title, body,
                                       link, dedupe_key, in_app, digest, created_at)
            SELECT *, $12::timestamptz FROM unnest($1::uuid[], $2::uuid[], $3::text[],
                 $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
                 $10::boolean[], $11::text[])
            ON CONFLICT (user_id, dedupe_key) DO NOTHING
            RETURNING id""",
        [r.id for r in rows],
        [r.user_id for r in rows],
        [r.kind for r in rows],
        [r.category for r in rows],
        [r.priority for r in rows],
        [r.title for r in rows],
        [r.body for r in rows],
        [r.link for r in rows],
        [r.dedupe_key for r in rows],
        [r.in_app for r in rows],
        ["pending" if r.digest else None for r in rows],
        at,
    )
    return {r["id"] for r in found}


async def inbox(
    conn: Connection,
    user_id: uuid.UUID,
    *,
    category: str | None,
    archived: bool,
    before: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Notification]:
    rows = await conn.fetch(
        f"""SELECT {_COLUMNS} FROM notifications
            WHERE user_id = $1 AND in_app AND ($2::text IS NULL OR category = $2)
              AND (archived_at IS NOT NULL) = $3
              AND ($4::timestamptz IS NULL OR (created_at, id) < ($4, $5::uuid))
            ORDER BY created_at DESC, id DESC LIMIT $6""",
        user_id,
        category,
        archived,
        before[0] if before else None,
        before[1] if before else None,
        limit,
    )
    return records(Notification, rows)


async def unread_by_category(conn: Connection, user_id: uuid.UUID) -> dict[str, int]:
    rows = await conn.fetch(
        """SELECT category, count(*) AS n FROM notifications
           WHERE user_id = $1 AND in_app AND read_at IS NULL AND archived_at IS NULL
           GROUP BY category""",
        user_id,
    )
    return {r["category"]: int(r["n"]) for r in rows}


async def mark_read(
    conn: Connection, user_id: uuid.UUID, ids: Sequence[uuid.UUID], at: datetime
) -> int:
    status = await conn.execute(
        """UPDATE notifications SET read_at = $3
           WHERE user_id = $1 AND id = ANY($2::uuid[]) AND read_at IS NULL""",
        user_id,
        list(ids),
        at,
    )
    return int(status.split()[-1])


async def mark_link_read(
    conn: Connection, user_id: uuid.UUID, kinds: Sequence[str], link: str, at: datetime
) -> int:
    """Read the person's unread notices of these kinds that lead to `link` (what they
    have just read where it leads)."""
    status = await conn.execute(
        """UPDATE notifications SET read_at = $4
           WHERE user_id = $1 AND in_app AND read_at IS NULL AND archived_at IS NULL
             AND kind = ANY($2::text[]) AND link = $3""",
        user_id,
        list(kinds),
        link,
        at,
    )
    return int(status.split()[-1])


async def mark_all_read(
    conn: Connection, user_id: uuid.UUID, category: str | None, at: datetime
) -> int:
    status = await conn.execute(
        """UPDATE notifications SET read_at = $3
           WHERE user_id = $1 AND in_app AND read_at IS NULL
             AND ($2::text IS NULL OR category = $2)""",
        user_id,
        category,
        at,
    )
    return int(status.split()[-1])


async def archive(conn: Connection, user_id: uuid.UUID, id: uuid.UUID, at: datetime) -> bool:
    """Archived (and so read); False when the person has no such notification."""
    status = await conn.execute(
        """UPDATE notifications SET archived_at = coalesce(archived_at, $3),
                                    read_at = coalesce(read_at, $3)
           WHERE user_id = $1 AND id = $2""",
        user_id,
        id,
        at,
    )
    return status.split()[-1] != "0"
