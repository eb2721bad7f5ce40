"""Helpers for notification tests: domain events as the outbox hands them to the
`notifications.workflows` consumer, delivered through the real `consume_batch`."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import asyncpg
import msgspec

from dracarys.notifications import notify
from dracarys.outbox import Event, EventPayload, consume_batch
from dracarys.platform import Platform
from streams import channels


def event_of(platform: Platform, payload: EventPayload, event_id: uuid.UUID | None = None) -> Event:
    return Event(
        id=event_id or uuid.uuid4(),
        topic=payload.topic,
        payload=msgspec.to_builtins(payload),
        created_at=platform.clock.now(),
    )


async def deliver(
    platform: Platform, events: Sequence[Event], consumer: str = "notifications.workflows"
) -> int:
    async def one(conn: Any, event: Event) -> None:
        await notify(conn, platform, [event])

    async def batch(conn: Any, events: Sequence[Event]) -> None:
        await notify(conn, platform, events)

    return await consume_batch(platform.pool, consumer, events, one, batch_handler=batch)


async def live_frames(platform: Platform, user_id: uuid.UUID) -> list[dict[str, Any]]:
    """The notification frames published on the person's channel, oldest first."""
    caught = await platform.streams.catch_up(channels.notifications(user_id), 0)
    found: list[dict[str, Any]] = []
    for _, frame in caught.frames:
        message = msgspec.json.decode(frame)
        data = message.get("data") if isinstance(message, dict) else None
        if isinstance(data, dict) and data.get("type") == "notification":
            found.append(data)
    return found


async def mails(pool: asyncpg.Pool, user_id: uuid.UUID) -> list[str]:
    rows = await pool.fetch(
        "SELECT template FROM outbound_messages WHERE user_id = $1 ORDER BY created_at",
        user_id,
    )
    return [r["template"] for r in rows]


async def messages_on(pool: asyncpg.Pool, user_id: uuid.UUID, channel: str) -> list[str]:
    rows = await pool.fetch(
        """SELECT template FROM outbound_messages WHERE user_id = $1 AND channel = $2
           ORDER BY created_at""",
        user_id,
        channel,
    )
    return [r["template"] for r in rows]


async def set_language(pool: asyncpg.Pool, user_id: uuid.UUID, language: str) -> None:
    await pool.execute(
        """INSERT INTO user_profiles (user_id, language) VALUES ($1, $2)
           ON CONFLICT (user_id) DO UPDATE SET language = excluded.language""",
        user_id,
        language,
    )


async def set_timezone(pool: asyncpg.Pool, user_id: uuid.UUID, zone: str) -> None:
    await pool.execute(
        """INSERT INTO user_profiles (user_id, timezone) VALUES ($1, $2)
           ON CONFLICT (user_id) DO UPDATE SET timezone = excluded.timezone""",
        user_id,
        zone,
    )
