from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace

import asyncpg
import msgspec
import pytest
from redis.asyncio import Redis

from dracarys.db import Connection, Database, transaction
from dracarys.outbox import Event, consume_batch, emit, relay_batch
from dracarys.platform import Platform
from dracarys.settings import Settings
from tests.conftest import REDIS_URL
from workers.consumers import CONSUMERS, Consumer
from workers.runtime import Worker
from workers.tasks import deliver_events

pytestmark = pytest.mark.asyncio


async def test_event_leaves_only_when_its_transaction_commits(pool: asyncpg.Pool) -> None:
    async with transaction(pool) as conn:
        await emit(conn, "probe.kept", {"n": 1})
    with pytest.raises(RuntimeError):
        async with transaction(pool) as conn:
            await emit(conn, "probe.lost", {"n": 2})
            raise RuntimeError("the domain change failed")
    topics = [r["topic"] for r in await pool.fetch("SELECT topic FROM outbox")]
    assert topics == ["probe.kept"]


async def test_relay_publishes_each_committed_event_once_and_marks_it(pool: asyncpg.Pool) -> None:
    async with transaction(pool) as conn:
        for n in range(5):
            await emit(conn, "probe.counted", {"n": n})
    published: list[Event] = []

    async def publish(events: Sequence[Event]) -> None:
        published.extend(events)

    assert await relay_batch(pool, publish, limit=3) == 3
    assert await relay_batch(pool, publish, limit=3) == 2
    assert await relay_batch(pool, publish, limit=3) == 0
    assert [e.payload["n"] for e in published] == [0, 1, 2, 3, 4]
    assert await pool.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0


async def test_publish_failure_leaves_events_for_the_next_attempt(pool: asyncpg.Pool) -> None:
    async with transaction(pool) as conn:
        await emit(conn, "probe.retry", {})

    async def broken(events: Sequence[Event]) -> None:
        raise ConnectionError("queue is down")

    with pytest.raises(ConnectionError):
        await relay_batch(pool, broken)
    assert await pool.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 1


async def test_concurrent_relays_never_publish_the_same_event_twice(pool: asyncpg.Pool) -> None:
    async with transaction(pool) as conn:
        for n in range(200):
            await emit(conn, "probe.shared", {"n": n})
    seen: list[int] = []

    async def publish(events: Sequence[Event]) -> None:
        await asyncio.sleep(0.001)
        seen.extend(e.payload["n"] for e in events)

    async def drain() -> None:
        while await relay_batch(pool, publish, limit=7):
            pass

    await asyncio.gather(*(drain() for _ in range(6)))
    assert sorted(seen) == list(range(200))


async def _tally(conn: Connection, event: Event) -> None:
    await conn.execute(
        "INSERT INTO probe_tally (event_id, n) VALUES ($1, $2)", event.id, event.payload["n"]
    )


async def test_consumer_applies_each_event_once_even_when_delivered_twice(
    pool: asyncpg.Pool,
) -> None:
    await pool.execute("CREATE TABLE probe_tally (event_id uuid, n int)")
    async with transaction(pool) as conn:
        await emit(conn, "probe.tally", {"n": 7})
    events: list[Event] = []

    async def publish(batch: Sequence[Event]) -> None:
        events.extend(batch)

    await relay_batch(pool, publish)
    assert await consume_batch(pool, "probe", events, _tally) == 1
    assert await consume_batch(pool, "probe", events, _tally) == 0
    assert await pool.fetchval("SELECT count(*) FROM probe_tally") == 1


async def test_one_poisoned_event_does_not_hold_back_the_rest(pool: asyncpg.Pool) -> None:
    await pool.execute("CREATE TABLE probe_tally (event_id uuid, n int CHECK (n >= 0))")
    async with transaction(pool) as conn:
        for n in (1, -1, 2):
            await emit(conn, "probe.tally", {"n": n})
    events: list[Event] = []

    async def publish(batch: Sequence[Event]) -> None:
        events.extend(batch)

    await relay_batch(pool, publish)
    with pytest.raises(asyncpg.CheckViolationError):
        await consume_batch(pool, "probe", events, _tally)
    assert sorted(r["n"] for r in await pool.fetch("SELECT n FROM probe_tally")) == [1, 2]


@pytest.fixture
def tally_consumer() -> Consumer:
    consumer = Consumer(name="probe.tally", topics=frozenset({"probe.tally"}), handler=_tally)
    CONSUMERS.append(consumer)
    yield consumer
    CONSUMERS.remove(consumer)


async def test_in_process_worker_delivers_outbox_events_to_consumers(
    platform: Platform, tally_consumer: Consumer
) -> None:
    await platform.pool.execute("CREATE TABLE probe_tally (event_id uuid, n int)")
    worker = Worker(platform)
    await worker.start()
    try:
        async with transaction(platform.pool) as conn:
            for n in range(50):
                await emit(conn, "probe.tally", {"n": n})
        async with asyncio.timeout(10):
            while await platform.pool.fetchval("SELECT count(*) FROM probe_tally") < 50:
                await asyncio.sleep(0.02)
    finally:
        await worker.stop()
    assert await platform.pool.fetchval("SELECT count(DISTINCT n) FROM probe_tally") == 50


# The relay that is killed runs in its own process: it publishes to the real Redis queue,
# then dies by SIGKILL before its transaction marks the events published.
_CRASHING_RELAY = textwrap.dedent(
    """
    import asyncio, os, signal, sys
    from dracarys.db.pool import create_pool
    from dracarys.outbox import relay_batch
    from dracarys.platform import Platform
    from dracarys.db import Database
    from dracarys.settings import load_settings
    from workers.runtime import Worker

    async def main():
        settings = load_settings()
        pool = await create_pool(settings.database_url, min_size=1, max_size=2)
        database = Database(pool=pool, dsn=settings.database_url)
        platform = Platform(settings=settings, database=database)
        worker = Worker(platform)
        await worker.broker.startup()

        async def publish_then_die(events):
            await worker.publish_events(events)
            print("published", len(events), flush=True)
            os.kill(os.getpid(), signal.SIGKILL)

        await relay_batch(pool, publish_then_die)

    asyncio.run(main())
    """
)


async def test_relay_killed_between_publish_and_commit_delivers_exactly_once_in_effect(
    redis_settings: Settings, pool: asyncpg.Pool, tmp_path: Path, tally_consumer: Consumer
) -> None:
    await pool.execute("CREATE TABLE probe_tally (event_id uuid, n int)")
    async with transaction(pool) as conn:
        for n in range(3):
            await emit(conn, "probe.tally", {"n": n})

    env = {
        **os.environ,
        "DATABASE_URL": redis_settings.database_url or "",
        "REDIS_URL": REDIS_URL,
        "DRACARYS_REDIS_PREFIX": redis_settings.redis_prefix,
        "DRACARYS_DATA_DIR": str(tmp_path),
        "DRACARYS_LOG_LEVEL": "WARNING",
    }
    crashed = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", _CRASHING_RELAY],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert crashed.returncode == -9, crashed.stderr
    assert "published 3" in crashed.stdout
    # The kill landed after publishing and before the commit: still unpublished.
    assert await pool.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 3

    platform = Platform(
        settings=redis_settings,
        database=Database(pool=pool, dsn=redis_settings.database_url or ""),
    )
    worker = Worker(platform)
    await worker.start(receive=True, relay=True)
    try:
        async with asyncio.timeout(20):
            while (
                await pool.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")
                or await pool.fetchval("SELECT count(*) FROM probe_tally") < 3
            ):
                await asyncio.sleep(0.05)
            # Both copies (the crashed relay's and the restarted one's) reach the worker.
            await asyncio.sleep(0.5)
    finally:
        await worker.stop()
    # Two deliveries of the batch went through the queue; the effect happened once.
    redis = Redis.from_url(REDIS_URL)
    try:
        assert await redis.xlen(f"{redis_settings.redis_prefix}:tasks") == 2
    finally:
        await redis.aclose()
    rows = await pool.fetch("SELECT n FROM probe_tally ORDER BY n")
    assert [r["n"] for r in rows] == [0, 1, 2]
    assert await pool.fetchval("SELECT count(*) FROM processed_events") == 3


async def _explode(conn: Connection, event: Event) -> None:
    raise RuntimeError("this consumer is broken")


async def test_a_failing_consumer_does_not_hold_back_the_others(platform: Platform) -> None:
    await platform.pool.execute("CREATE TABLE probe_tally (event_id uuid, n int)")
    broken = Consumer(name="probe.broken", topics=frozenset({"probe.both"}), handler=_explode)
    healthy = Consumer(name="probe.healthy", topics=frozenset({"probe.both"}), handler=_tally)
    CONSUMERS.extend([broken, healthy])
    worker = Worker(platform)
    await worker.broker.startup()
    try:
        async with transaction(platform.pool) as conn:
            await emit(conn, "probe.both", {"n": 1})
        events: list[Event] = []

        async def collect(batch: Sequence[Event]) -> None:
            events.extend(batch)

        await relay_batch(platform.pool, collect)
        with pytest.raises(RuntimeError, match="broken"):
            # What taskiq hands the task: its broker, whose state carries the platform.
            context = SimpleNamespace(broker=worker.broker, state=worker.broker.state)
            await deliver_events(msgspec.to_builtins(events), context)  # type: ignore[arg-type]
    finally:
        CONSUMERS.remove(broken)
        CONSUMERS.remove(healthy)
        await worker.broker.shutdown()
    assert await platform.pool.fetchval("SELECT count(*) FROM probe_tally") == 1
