"""Points fixtures: synthetic domain events delivered through the real consumer code
(`consume_batch` with the points consumers under their names), and a user factory."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg
import msgspec
import pytest

from dracarys.clock import Clock
from dracarys.db import Connection, Database
from dracarys.identity import store as identity_store
from dracarys.identity.personal import personal_data_cipher
from dracarys.outbox import Event, consume_batch, emit, relay_batch
from dracarys.platform import Platform
from dracarys.points import CONSUMED_TOPICS, POINTS_AWARDED, apply_events, count_awards
from dracarys.settings import Settings


async def _unused(conn: Connection, event: Event) -> None:
    raise AssertionError("batch consumers do not take single events")


async def deliver(platform: Platform, events: Sequence[Event]) -> int:
    """Hand events to the points consumers' code under their consumer names, through
    `consume_batch` (de-duplication included): the worker path minus the queue."""

    async def award(conn: Connection, batch: Sequence[Event]) -> None:
        await apply_events(conn, platform, batch)

    async def count(conn: Connection, batch: Sequence[Event]) -> None:
        await count_awards(conn, platform, batch)

    applied = 0
    for name, topics, batch_handler in (
        ("points.award", CONSUMED_TOPICS, award),
        ("points.leaderboard", frozenset({POINTS_AWARDED}), count),
    ):
        batch = [e for e in events if e.topic in topics]
        applied += await consume_batch(
            platform.pool, name, batch, _unused, batch_handler=batch_handler
        )
    return applied


async def drain(platform: Platform) -> int:
    """Relay every committed outbox event to the points consumers until none is left
    (awards emit `points.awarded`, which the leaderboard consumer takes)."""
    total = 0
    while True:
        moved = await relay_batch(platform.pool, lambda evs: deliver(platform, evs), limit=500)
        total += moved
        if moved == 0:
            return total


def event(topic: str, payload: dict[str, Any]) -> Event:
    return Event(id=uuid.uuid4(), topic=topic, payload=payload, created_at=datetime.now(UTC))


def velocity_limited(settings: Settings, pool: asyncpg.Pool, clock: Clock) -> Platform:
    """A platform that freezes a member's earning past 500 points in 10 minutes."""
    return Platform(
        settings=msgspec.structs.replace(
            settings, points_velocity_limit=500, points_velocity_window_minutes=10
        ),
        database=Database(pool=pool, dsn=settings.database_url or ""),
        clock=clock,
    )


async def send(target: Platform, topic: str, /, **payload: Any) -> None:
    """Emit a synthetic event into the outbox and drain it through the consumers."""
    platform = target
    async with platform.pool.acquire() as conn, conn.transaction():
        await emit(
            conn, topic, {k: str(v) if isinstance(v, uuid.UUID) else v for k, v in payload.items()}
        )
    await drain(platform)


async def balance_of(pool: asyncpg.Pool, user_id: uuid.UUID) -> int:
    return int(
        await pool.fetchval(
            "SELECT coalesce(balance, 0) FROM points_balances WHERE user_id = $1", user_id
        )
        or 0
    )


async def ledger_sum(pool: asyncpg.Pool, user_id: uuid.UUID) -> int:
    return int(
        await pool.fetchval(
            "SELECT coalesce(sum(delta), 0) FROM points_ledger WHERE user_id = $1", user_id
        )
    )


async def entries(pool: asyncpg.Pool, user_id: uuid.UUID) -> list[asyncpg.Record]:
    return list(
        await pool.fetch("SELECT * FROM points_ledger WHERE user_id = $1 ORDER BY seq", user_id)
    )


async def outbox_topics(pool: asyncpg.Pool, topic: str) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        "SELECT payload FROM outbox WHERE topic = $1 ORDER BY created_at", topic
    )
    return [r["payload"] for r in rows]


async def new_user(
    pool: asyncpg.Pool, settings: Settings, *, kyc_level: int = 0, role: str = "mentee"
) -> uuid.UUID:
    """An account row alone (no session, no profile), written through identity's store."""
    user_id = uuid.uuid4()
    email = f"u-{user_id.hex[:10]}@example.com"
    contact = personal_data_cipher(settings).seal_contact(user_id, email=email, name="", phone=None)
    async with pool.acquire() as conn:
        await identity_store.insert_user(
            conn,
            user_id=user_id,
            contact=contact,
            password_hash=None,
            role=role,
            now=datetime.now(UTC),
            kyc_level=kyc_level,
        )
    return user_id


@pytest.fixture
def user_factory(pool: asyncpg.Pool, settings: Settings) -> Callable[..., Awaitable[uuid.UUID]]:
    async def make(**kwargs: Any) -> uuid.UUID:
        return await new_user(pool, settings, **kwargs)

    return make


async def in_tx(pool: asyncpg.Pool, work: Callable[[Connection], Awaitable[Any]]) -> Any:
    async with pool.acquire() as conn, conn.transaction():
        return await work(conn)
