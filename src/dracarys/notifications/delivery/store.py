"""The SQL of e-mail and SMS deliveries and of daily digests."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime

import msgspec

from dracarys.db import Connection, records
from dracarys.notifications.delivery.models import DigestItem, HeldDelivery, NewDelivery

_HELD = """d.notification_id, d.channel, d.user_id, d.template, d.context, n.title, n.body,
           n.created_at, n.read_at"""


async def insert_deliveries(
    conn: Connection, deliveries: Sequence[NewDelivery], at: datetime
) -> None:
    if not deliveries:
        return
    await conn.execute(
        """INSERT INTO notification_deliveries (notification_id, channel, user_id, state,
                                                due_at, template, context, message_id,
                                                created_at, settled_at)
           SELECT n, c, u, s, d, t, x::jsonb, m, $9::timestamptz,
                  CASE WHEN s = 'sent' THEN $9::timestamptz END
           FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::timestamptz[],
                       $6::text[], $7::text[], $8::uuid[]) AS t(n, c, u, s, d, t, x, m)""",
        [d.notification_id for d in deliveries],
        [d.channel for d in deliveries],
        [d.user_id for d in deliveries],
        [d.state for d in deliveries],
        [d.due_at for d in deliveries],
        [d.template for d in deliveries],
        [msgspec.json.encode(d.context).decode() for d in deliveries],
        [d.message_id for d in deliveries],
        at,
    )


def _held(rows: Sequence[object]) -> list[HeldDelivery]:
    out = []
    for row in rows:
        values = dict(row.items())  # type: ignore[attr-defined]
        if isinstance(values["context"], str):
            values["context"] = msgspec.json.decode(values["context"])
        out.append(msgspec.convert(values, HeldDelivery))
    return out


async def claim_due(conn: Connection, now: datetime, limit: int) -> list[HeldDelivery]:
    """Deferred deliveries whose quiet hours ended, locked (others' workers skip them)."""
    rows = await conn.fetch(
        f"""SELECT {_HELD} FROM notification_deliveries d
            JOIN notifications n ON n.id = d.notification_id
            WHERE d.state = 'deferred' AND d.due_at <= $1
            ORDER BY d.due_at LIMIT $2 FOR UPDATE OF d SKIP LOCKED""",
        now,
        limit,
    )
    return _held(rows)


async def settle(
    conn: Connection,
    notification_id: uuid.UUID,
    channel: str,
    *,
    state: str,
    message_id: uuid.UUID | None,
    at: datetime,
) -> None:
    await conn.execute(
        """UPDATE notification_deliveries
           SET state = $3, message_id = $4, settled_at = $5, due_at = NULL
           WHERE notification_id = $1 AND channel = $2""",
        notification_id,
        channel,
        state,
        message_id,
        at,
    )


async def digest_recipients(
    conn: Connection, after: uuid.UUID | None, limit: int
) -> list[uuid.UUID]:
    """People with digest items waiting, in id order after `after` (a page of them)."""
    rows = await conn.fetch(
        """SELECT DISTINCT user_id FROM notifications
           WHERE digest = 'pending' AND ($1::uuid IS NULL OR user_id > $1)
           ORDER BY user_id LIMIT $2""",
        after,
        limit,
    )
    return [r["user_id"] for r in rows]


async def claim_digest_items(conn: Connection, user_id: uuid.UUID) -> list[DigestItem]:
    """The person's items waiting for a digest that they have not read (or archived) in
    the app; those they have are settled 'dropped' (never e-mailed: they saw them)."""
    await conn.execute(
        """UPDATE notifications SET digest = 'dropped'
           WHERE user_id = $1 AND digest = 'pending'
             AND (read_at IS NOT NULL OR archived_at IS NOT NULL)""",
        user_id,
    )
    rows = await conn.fetch(
        """SELECT id AS notification_id, title, body, created_at FROM notifications
           WHERE user_id = $1 AND digest = 'pending'
           ORDER BY created_at, id FOR UPDATE""",
        user_id,
    )
    return records(DigestItem, rows)


async def claim_digest_day(
    conn: Connection, user_id: uuid.UUID, day: date, items: int, at: datetime
) -> bool:
    """True for the first digest of this person's day; False if one went already."""
    status = await conn.execute(
        """INSERT INTO notification_digests (user_id, day, items, sent_at)
           VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING""",
        user_id,
        day,
        items,
        at,
    )
    return status.split()[-1] == "1"


async def record_digest_message(
    conn: Connection, user_id: uuid.UUID, day: date, message_id: uuid.UUID
) -> None:
    await conn.execute(
        "UPDATE notification_digests SET message_id = $3 WHERE user_id = $1 AND day = $2",
        user_id,
        day,
        message_id,
    )


async def settle_digest_items(
    conn: Connection, notification_ids: Sequence[uuid.UUID], state: str
) -> None:
    """The digest went ('sent') or cannot ('dropped')."""
    await conn.execute(
        "UPDATE notifications SET digest = $2 WHERE id = ANY($1::uuid[])",
        list(notification_ids),
        state,
    )
