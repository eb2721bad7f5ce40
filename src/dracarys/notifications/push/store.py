"""The SQL of push: the VAPID key pair, subscriptions, and pushes."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from dracarys.db import Connection, record_or_none, records
from dracarys.notifications.push.models import QueuedPush, Subscription, UnsentPush, VapidKeys


async def vapid_keys(conn: Connection) -> VapidKeys | None:
    row = await conn.fetchrow("SELECT public_key, private_key_sealed FROM push_vapid_keys")
    return record_or_none(VapidKeys, row)


async def insert_vapid_keys(
    conn: Connection, public_key: str, private_key_sealed: bytes, at: datetime
) -> None:
    """The first caller's pair wins; a concurrent start's pair is dropped."""
    await conn.execute(
        """INSERT INTO push_vapid_keys (id, public_key, private_key_sealed, created_at)
           VALUES (1, $1, $2, $3) ON CONFLICT (id) DO NOTHING""",
        public_key,
        private_key_sealed,
        at,
    )


async def save_subscription(
    conn: Connection,
    *,
    user_id: uuid.UUID,
    endpoint: str,
    p256dh: str,
    auth: str,
    label: str,
    at: datetime,
) -> Subscription:
    """Insert, or take over the row of the same endpoint (the browser subscribed again, or
    another account signed in on it): a browser is one device, whoever uses it now."""
    row = await conn.fetchrow(
        """INSERT INTO push_subscriptions (id, user_id, endpoint, p256dh, auth, label,
                                           created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (endpoint) DO UPDATE SET user_id = excluded.user_id,
               p256dh = excluded.p256dh, auth = excluded.auth, label = excluded.label,
               created_at = CASE WHEN push_subscriptions.user_id = excluded.user_id
                                 THEN push_subscriptions.created_at
                                 ELSE excluded.created_at END
           RETURNING *""",
        uuid.uuid4(),
        user_id,
        endpoint,
        p256dh,
        auth,
        label,
        at,
    )
    assert row is not None
    return records(Subscription, [row])[0]


async def subscriptions_of(conn: Connection, user_id: uuid.UUID) -> list[Subscription]:
    rows = await conn.fetch(
        "SELECT * FROM push_subscriptions WHERE user_id = $1 ORDER BY created_at, id", user_id
    )
    return records(Subscription, rows)


async def delete_subscription(
    conn: Connection, user_id: uuid.UUID, subscription_id: uuid.UUID
) -> bool:
    status = await conn.execute(
        "DELETE FROM push_subscriptions WHERE id = $1 AND user_id = $2", subscription_id, user_id
    )
    return status.split()[-1] == "1"


async def delete_endpoint(conn: Connection, user_id: uuid.UUID, endpoint: str) -> bool:
    status = await conn.execute(
        "DELETE FROM push_subscriptions WHERE endpoint = $1 AND user_id = $2", endpoint, user_id
    )
    return status.split()[-1] == "1"


async def forget_subscription(conn: Connection, subscription_id: uuid.UUID) -> None:
    """The push service said the subscription is gone; its unsent pushes go with it."""
    await conn.execute("DELETE FROM push_subscriptions WHERE id = $1", subscription_id)


async def insert_pushes(
    conn: Connection,
    notification_ids: Sequence[uuid.UUID],
    user_ids: Sequence[uuid.UUID],
    at: datetime,
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """One push per (notification, each subscription of its person); returns
    (push id, notification id) of each."""
    rows = await conn.fetch(
        """INSERT INTO push_messages (id, notification_id, subscription_id, created_at)
           SELECT gen_random_uuid(), t.n, s.id, $3
           FROM unnest($1::uuid[], $2::uuid[]) AS t(n, u)
           JOIN push_subscriptions s ON s.user_id = t.u
           RETURNING id, notification_id""",
        list(notification_ids),
        list(user_ids),
        at,
    )
    return [(r["id"], r["notification_id"]) for r in rows]


async def push_for_update(conn: Connection, push_id: uuid.UUID) -> QueuedPush | None:
    row = await conn.fetchrow(
        """SELECT m.id, m.sent_at, s.id AS subscription_id, s.endpoint, s.p256dh, s.auth,
                  n.id AS notification_id, n.kind, n.priority, n.title, n.body, n.link
           FROM push_messages m
           JOIN push_subscriptions s ON s.id = m.subscription_id
           JOIN notifications n ON n.id = m.notification_id
           WHERE m.id = $1 FOR UPDATE OF m""",
        push_id,
    )
    return record_or_none(QueuedPush, row)


async def mark_sent(
    conn: Connection, push_id: uuid.UUID, subscription_id: uuid.UUID, at: datetime
) -> None:
    await conn.execute("UPDATE push_messages SET sent_at = $2 WHERE id = $1", push_id, at)
    await conn.execute(
        "UPDATE push_subscriptions SET last_used_at = $2 WHERE id = $1", subscription_id, at
    )


async def claim_unsent(
    conn: Connection, *, created_before: datetime, max_requeues: int, limit: int
) -> list[UnsentPush]:
    rows = await conn.fetch(
        """UPDATE push_messages SET requeue_count = requeue_count + 1
           WHERE id IN (SELECT id FROM push_messages
                        WHERE sent_at IS NULL AND created_at < $1 AND requeue_count < $2
                        ORDER BY created_at LIMIT $3 FOR UPDATE SKIP LOCKED)
           RETURNING id""",
        created_before,
        max_requeues,
        limit,
    )
    return records(UnsentPush, rows)
