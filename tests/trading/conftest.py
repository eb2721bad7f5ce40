"""Trading fixtures: an instrument on a scripted bar feed, an engine over the app's own
platform (same database, clock and stream hub as the API under test), and helpers to
acknowledge the disclaimer, open portfolios and mark users experienced."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import msgspec
import numpy as np
import pytest

from dracarys.clock import ManualClock
from dracarys.db import Database
from dracarys.db.pool import create_pool
from dracarys.platform import Platform
from dracarys.settings import Settings
from dracarys.trading.paper_loop.loop import PaperTradingEngine
from engine.feeds import ReplayFeed
from engine.matching import Tick
from tests.conftest import ADMIN_DSN, dsn_for
from tests.support import AppClient, TestUser, add_instrument

API = "/api/v1/trading"
DAY_NS = 86_400 * 10**9
START_NS = 1_767_225_600 * 10**9  # 2026-01-01T00:00:00Z

Bar = tuple[float, float, float, float, float]


def scripted_feed(
    bars: list[Bar], symbol: str = "XYZ", name: str = "test", tick_size: float = 0.01
) -> ReplayFeed:
    matrix = np.ascontiguousarray(np.array(bars, dtype=np.float64).T)
    return ReplayFeed(
        name=name,
        symbols=[symbol],
        timestamps_ns=START_NS + np.arange(len(bars), dtype=np.int64) * DAY_NS,
        bars=[matrix],
        speed=float("inf"),
        tick_size=[tick_size],
        qty_step=[1.0],
    )


@dataclass
class Desk:
    """The app under test with an engine driven tick by tick."""

    client: AppClient
    platform: Platform
    clock: ManualClock
    feed: ReplayFeed
    engine: PaperTradingEngine

    async def tick(self, seq: int | None = None) -> Any:
        tick = self.feed.tick_at(seq if seq is not None else self.engine.last_seq + 1)
        assert tick is not None
        return await self.engine.step(tick)

    async def run(self, count: int) -> None:
        for _ in range(count):
            await self.tick()

    async def acknowledge(self, user: TestUser) -> None:
        response = await self.client.post(
            f"{API}/disclaimer/acknowledgements", json={"version": 1}, headers=user.headers
        )
        assert response.status_code == 201, response.text

    async def portfolio(self, user: TestUser, **body: Any) -> dict[str, Any]:
        response = await self.client.post(
            f"{API}/portfolios", json={"name": "Main", **body}, headers=user.headers
        )
        assert response.status_code == 201, response.text
        data: dict[str, Any] = response.json()
        return data

    async def order(self, user: TestUser, portfolio_id: str, **body: Any) -> Any:
        return await self.client.post(
            f"{API}/portfolios/{portfolio_id}/orders",
            json={"symbol": "XYZ", **body},
            headers=user.headers,
        )

    async def placed(self, user: TestUser, portfolio_id: str, **body: Any) -> dict[str, Any]:
        response = await self.order(user, portfolio_id, **body)
        assert response.status_code == 201, response.text
        data: dict[str, Any] = response.json()
        return data

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        async with self.platform.pool.acquire() as conn:
            return await conn.fetch(sql, *args)


# Day 1 opens at 100; later bars wander so that every order type has something to do.
DEFAULT_BARS: list[Bar] = [
    (100.0, 101.0, 99.0, 100.0, 1e6),
    (100.0, 102.0, 98.0, 101.0, 1e6),
    (101.0, 106.0, 100.0, 105.0, 1e6),
    (105.0, 111.0, 104.0, 110.0, 1e6),
    (110.0, 112.0, 93.0, 94.0, 1e6),
    (94.0, 96.0, 90.0, 95.0, 1e6),
    (95.0, 97.0, 94.0, 96.0, 1e6),
    (96.0, 98.0, 95.0, 97.0, 1e6),
]


@pytest.fixture
async def desk(client: AppClient, platform: Platform, clock: ManualClock) -> Desk:
    """The engine runs on the test's own platform (its loop, pool and hub) over the
    same database and clock as the app the client talks to."""
    await add_instrument(platform.pool)
    feed = scripted_feed(DEFAULT_BARS)
    engine = PaperTradingEngine(platform, feed)
    await engine.start()
    return Desk(client=client, platform=platform, clock=clock, feed=feed, engine=engine)


@pytest.fixture
def experienced(pool: asyncpg.Pool) -> Callable[[TestUser], Awaitable[None]]:
    """Make a user a non-novice: KYC level 1 and 'advanced' on the onboarding quiz."""

    async def mark(user: TestUser) -> None:
        async with pool.acquire() as conn:
            await conn.execute("UPDATE users SET kyc_level = 1 WHERE id = $1", user.id)
            await conn.execute(
                """INSERT INTO user_profiles (user_id, experience_level) VALUES ($1, 'advanced')
                   ON CONFLICT (user_id) DO UPDATE SET experience_level = 'advanced'""",
                user.id,
            )

    return mark


def fill_key(row: asyncpg.Record) -> tuple[Any, ...]:
    return (row["client"], row["role"], row["bar_seq"], float(row["qty"]), float(row["price"]))


async def logical_fills(pool: asyncpg.Pool) -> list[tuple[Any, ...]]:
    """Fills keyed by what identifies them across databases (not by random ids)."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            """SELECT coalesce(o.client_order_id, parent.client_order_id,
                               s.rationale, ps.rationale) AS client,
                      o.role, f.bar_seq, f.qty, f.price
               FROM paper_fills f JOIN paper_orders o ON o.id = f.order_id
               LEFT JOIN paper_orders parent ON parent.id = o.parent_id
               LEFT JOIN signals s ON s.id = o.signal_id
               LEFT JOIN signals ps ON ps.id = parent.signal_id
               ORDER BY f.bar_seq, 1, 2"""
        )
    return [fill_key(r) for r in rows]


def ticks_of(feed: ReplayFeed, count: int) -> list[Tick]:
    return [t for t in (feed.tick_at(s) for s in range(1, count + 1)) if t is not None]


def new_id() -> str:
    return str(uuid.uuid4())


@pytest.fixture
async def other_platform(template_database: str, settings: Settings) -> AsyncIterator[Platform]:
    """A second, independent database (same migrations) with its own pool and clock,
    for runs that must be compared across databases."""
    name = f"dracarys_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(ADMIN_DSN)
    try:
        await admin.execute(
            f'CREATE DATABASE "{name}" TEMPLATE "{template_database}" STRATEGY FILE_COPY'
        )
    finally:
        await admin.close()
    dsn = dsn_for(name)
    pool = await create_pool(dsn, min_size=1, max_size=10)
    try:
        yield Platform(
            settings=msgspec.structs.replace(settings, database_url=dsn),
            database=Database(pool=pool, dsn=dsn),
            clock=ManualClock(),
        )
    finally:
        await pool.close()
        admin = await asyncpg.connect(ADMIN_DSN)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()
