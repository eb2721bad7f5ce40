"""The SQL of preferences and quiet hours."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime, time

from dracarys.db import Connection, records
from dracarys.notifications.preferences.models import QuietWindow, Switch


async def switches_of(conn: Connection, user_ids: Collection[uuid.UUID]) -> list[Switch]:
    rows = await conn.fetch(
        """SELECT user_id, category, channel, enabled FROM notification_preferences
           WHERE user_id = ANY($1::uuid[])""",
        list(user_ids),
    )
    return records(Switch, rows)


async def save_switches(conn: Connection, switches: Sequence[Switch], at: datetime) -> None:
    await conn.execute(
        """INSERT INTO notification_preferences (user_id, category, channel, enabled, updated_at)
           SELECT *, $5::timestamptz
           FROM unnest($1::uuid[], $2::text[], $3::text[], $4::boolean[])
           ON CONFLICT (user_id, category, channel)
           DO UPDATE SET enabled = excluded.enabled, updated_at = excluded.updated_at""",
        [s.user_id for s in switches],
        [s.category for s in switches],
        [s.channel for s in switches],
        [s.enabled for s in switches],
        at,
    )


async def quiet_windows(conn: Connection, user_ids: Collection[uuid.UUID]) -> list[QuietWindow]:
    rows = await conn.fetch(
        """SELECT user_id, starts_at, ends_at FROM notification_quiet_hours
           WHERE user_id = ANY($1::uuid[])""",
        list(user_ids),
    )
    return records(QuietWindow, rows)


async def save_quiet_hours(
    conn: Connection, user_id: uuid.UUID, starts_at: time, ends_at: time, at: datetime
) -> None:
    await conn.execute(
        """INSERT INTO notification_quiet_hours (user_id, starts_at, ends_at, updated_at)
           VALUES ($1, $2, $3, $4)
           ON CONFLICT (user_id) DO UPDATE SET starts_at = excluded.starts_at,
               ends_at = excluded.ends_at, updated_at = excluded.updated_at""",
        user_id,
        starts_at,
        ends_at,
        at,
    )


async def clear_quiet_hours(conn: Connection, user_id: uuid.UUID) -> None:
    await conn.execute("DELETE FROM notification_quiet_hours WHERE user_id = $1", user_id)
