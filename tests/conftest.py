"""Shared fixtures: every test gets its own PostgreSQL database cloned from a template
that was migrated once per migration set, and its own Redis key prefix, so tests never
see each other's rows or keys and can run in any order."""

from __future__ import annotations

import asyncio
import hashlib
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Iterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
import structlog
from litestar import Litestar
from redis.asyncio import Redis

from dracarys.app import create_app
from dracarys.clock import ManualClock
from dracarys.db import Database
from dracarys.db.migrate import discover_migrations, migrate
from dracarys.db.pool import create_pool
from dracarys.platform import Platform
from dracarys.settings import Settings, load_settings
from tests.services import test_services
from tests.support import AppClient, TestUser, create_user, fund_wallet

# The processes tests start (`dracarys up`, `serve`, `worker`) do not warm the engine's
# Numba cache beside themselves: dozens of them at once would each compile every kernel on
# a fresh clone's empty cache, on the same cores as the suite. The warm-up's own tests turn
# it back on.
os.environ.setdefault("DRACARYS_ENGINE_WARMUP", "off")

# `await fund_wallet(user_id, currency, amount_minor)`: see the fixture.
FundWallet = Callable[[uuid.UUID, str, int], Awaitable[None]]
ADMIN_DSN = test_services().admin_dsn
REDIS_URL = test_services().redis_url
_TEMPLATE_LOCK_KEY = 0x44524143_54504C54  # "DRACTPLT"


def dsn_for(database: str) -> str:
    parts = urlsplit(ADMIN_DSN)
    return urlunsplit(parts._replace(path=f"/{database}"))


@asynccontextmanager
async def database_migrated_without(versions: Collection[int]) -> AsyncIterator[str]:
    """A fresh database migrated as an older version left it, every migration but
    `versions` applied (a test writes rows the old way, then upgrades); its DSN."""
    name = f"dracarys_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(ADMIN_DSN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        conn = await asyncpg.connect(dsn_for(name))
        try:
            await migrate(conn, [m for m in discover_migrations() if m.version not in versions])
        finally:
            await conn.close()
        yield dsn_for(name)
    finally:
        admin = await asyncpg.connect(ADMIN_DSN)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


def _template_name() -> str:
    digest = hashlib.sha256()
    for migration in discover_migrations():
        digest.update(f"{migration.version}:{migration.checksum}".encode())
    return f"dracarys_tpl_{digest.hexdigest()[:16]}"


@pytest.fixture(scope="session")
async def template_database() -> str:
    """A migrated template, built once per set of migration files (and reused across
    runs while the migrations stay the same)."""
    name = _template_name()
    admin = await asyncpg.connect(ADMIN_DSN)
    try:
        await admin.execute("SELECT pg_advisory_lock($1)", _TEMPLATE_LOCK_KEY)
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            building = f"{name}_building_{uuid.uuid4().hex[:6]}"
            await admin.execute(f'CREATE DATABASE "{building}"')
            conn = await asyncpg.connect(dsn_for(building))
            try:
                await migrate(conn)
            finally:
                await conn.close()
            await admin.execute(f'ALTER DATABASE "{building}" RENAME TO "{name}"')
            await admin.execute(f'ALTER DATABASE "{name}" WITH IS_TEMPLATE true')
        await admin.execute("SELECT pg_advisory_unlock($1)", _TEMPLATE_LOCK_KEY)
    finally:
        await admin.close()
    return name


class DatabaseDropper:
    """Drops finished test databases in the background. DROP DATABASE forces a
    checkpoint, which would otherwise add seconds to every test's teardown; the next
    test starts while the drop runs, and the session waits for all of them at the end."""

    def __init__(self) -> None:
        self._pending: set[asyncio.Task[None]] = set()
        self._limit = asyncio.Semaphore(4)

    async def _drop(self, name: str) -> None:
        async with self._limit:
            admin = await asyncpg.connect(ADMIN_DSN)
            try:
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            finally:
                await admin.close()

    def drop_later(self, name: str) -> None:
        task = asyncio.get_running_loop().create_task(self._drop(name))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def wait(self) -> None:
        await asyncio.gather(*self._pending, return_exceptions=True)


@pytest.fixture(scope="session")
async def database_dropper() -> AsyncIterator[DatabaseDropper]:
    dropper = DatabaseDropper()
    yield dropper
    await dropper.wait()


@pytest.fixture
async def database_url(
    template_database: str, database_dropper: DatabaseDropper
) -> AsyncIterator[str]:
    name = f"dracarys_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(ADMIN_DSN)
    try:
        # WAL_LOG copies the small template without the checkpoint FILE_COPY needs.
        await admin.execute(
            f'CREATE DATABASE "{name}" TEMPLATE "{template_database}" STRATEGY WAL_LOG'
        )
    finally:
        await admin.close()
    yield dsn_for(name)
    database_dropper.drop_later(name)


@pytest.fixture(autouse=True)
def _logging_configuration_restored() -> Iterator[None]:
    """A test that starts the app configures structlog process-wide (an ERROR-level app
    filters out the warnings a later test in the same worker captures): put it back."""
    before = structlog.get_config()
    yield
    structlog.configure(**before)


@pytest.fixture
def redis_prefix() -> str:
    return f"t{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def redis_cleanup(redis_prefix: str) -> AsyncIterator[None]:
    yield
    client = Redis.from_url(REDIS_URL)
    try:
        keys = [key async for key in client.scan_iter(match=f"{redis_prefix}:*", count=1000)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


def make_settings(database_url: str, tmp_path: Any, **extra: str) -> Settings:
    env = {
        "DATABASE_URL": database_url,
        "DRACARYS_ENV": "test",
        "DRACARYS_DATA_DIR": str(tmp_path),
        "DRACARYS_SECRET_KEY": "test-secret-key-" + "x" * 32,
        "DRACARYS_LOG_LEVEL": "WARNING",
        "DRACARYS_SEED_DEMO": "false",
        **extra,
    }
    return load_settings(env)


@pytest.fixture
def settings(database_url: str, tmp_path: Any) -> Settings:
    return make_settings(database_url, tmp_path)


@pytest.fixture
def redis_settings(
    database_url: str, tmp_path: Any, redis_prefix: str, redis_cleanup: None
) -> Settings:
    return make_settings(
        database_url, tmp_path, REDIS_URL=REDIS_URL, DRACARYS_REDIS_PREFIX=redis_prefix
    )


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database_url, min_size=1, max_size=20)
    yield pool
    await pool.close()


@pytest.fixture
async def platform(settings: Settings, pool: asyncpg.Pool, clock: ManualClock) -> Platform:
    return Platform(
        settings=settings,
        database=Database(pool=pool, dsn=settings.database_url or ""),
        clock=clock,
    )


@pytest.fixture
def app(settings: Settings, clock: ManualClock) -> Litestar:
    return create_app(settings, clock=clock)


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[AppClient]:
    async with AppClient(app) as test_client:
        yield test_client


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def make_user(
    pool: asyncpg.Pool, settings: Settings, clock: ManualClock
) -> Callable[..., Awaitable[TestUser]]:
    """`await make_user(role=Role.MENTOR, kyc_level=2)` → a user with a live session."""

    async def make(**kwargs: Any) -> TestUser:
        return await create_user(pool, settings, clock, **kwargs)

    return make


@pytest.fixture(name="fund_wallet")
def fund_wallet_fixture(pool: asyncpg.Pool, clock: ManualClock) -> FundWallet:
    """`await fund_wallet(user.id, "KES", 100_000)`: money in a user's wallet now, without
    a provider (`tests.support.fund_wallet` on the test's pool and clock)."""

    async def fund(user_id: uuid.UUID, currency: str, amount_minor: int) -> None:
        await fund_wallet(pool, user_id, currency, amount_minor, clock.now())

    return fund
