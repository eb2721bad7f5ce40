from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace

import asyncpg
import msgspec
import pytest
from prometheus_client import REGISTRY
from redis.asyncio import Redis
from structlog.testing import capture_logs

from dracarys.db import Connection, Database, transaction
from dracarys.outbox import (
    STUCK_AFTER_ATTEMPTS,
    ConsumersOf,
    Event,
    EventHandler,
    OutboxRelay,
    consume_batch,
    emit,
    redeliver_due,
    relay_batch,
    stuck_events,
)
from dracarys.platform import Platform
from dracarys.settings import Settings
from tests.conftest import REDIS_URL, make_settings
from workers.broker import Delivery
from workers.consumers import CONSUMERS, Consumer, ConsumerHandler
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


def _consumes(handler: EventHandler) -> ConsumerHandler:
    """A probe handler as a listed consumer: it needs nothing the delivery hands over."""

    async def consume(conn: Connection, event: Event, _: Delivery) -> None:
        await handler(conn, event)

    return consume


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
    consumer = Consumer(
        name="probe.tally", topics=frozenset({"probe.tally"}), handler=_consumes(_tally)
    )
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
    broken = Consumer(
        name="probe.broken", topics=frozenset({"probe.both"}), handler=_consumes(_explode)
    )
    healthy = Consumer(
        name="probe.healthy", topics=frozenset({"probe.both"}), handler=_consumes(_tally)
    )
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


# ---- completion and re-delivery ---------------------------------------------------------


async def _lose(events: Sequence[Event]) -> None:
    """A queue that loses what it is handed: an in-memory broker killed with its process,
    or a Redis without persistence that restarts empty."""


async def _emit_all(pool: asyncpg.Pool, topic: str, count: int) -> list[uuid.UUID]:
    async with transaction(pool) as conn:
        return [await emit(conn, topic, {"n": n}) for n in range(count)]


async def _age_hand_overs(pool: asyncpg.Pool, seconds: float) -> None:
    """As if `seconds` had passed since each event was last handed to the queue."""
    await pool.execute(
        """UPDATE outbox SET published_at = published_at - make_interval(secs => $1)
           WHERE published_at IS NOT NULL""",
        seconds,
    )


def _consumers(mapping: dict[str, set[str]]) -> ConsumersOf:
    return lambda topic: mapping.get(topic, set())


class _Handovers:
    def __init__(self) -> None:
        self.batches: list[tuple[frozenset[str], list[uuid.UUID]]] = []

    async def __call__(self, events: Sequence[Event], consumers: frozenset[str]) -> None:
        self.batches.append((consumers, sorted(e.id for e in events)))


async def test_an_event_lost_by_the_queue_goes_again_after_the_deadline_to_its_pending_consumers(
    pool: asyncpg.Pool,
) -> None:
    await pool.execute("CREATE TABLE probe_tally (event_id uuid, n int)")
    consumers_of = _consumers({"probe.pair": {"probe.first", "probe.second"}})
    paired = await _emit_all(pool, "probe.pair", 3)
    [unread] = await _emit_all(pool, "probe.unread", 1)
    published: list[Event] = []

    async def publish(events: Sequence[Event]) -> None:
        published.extend(events)

    assert await relay_batch(pool, publish, consumers_of=consumers_of) == 4
    # A topic nobody reads is complete on publish and never reaches the queue.
    assert sorted(e.id for e in published) == sorted(paired)
    assert await pool.fetchval("SELECT completed_at IS NOT NULL FROM outbox WHERE id = $1", unread)
    # The queue lost the batch after one consumer had committed the first event.
    first = next(e for e in published if e.id == paired[0])
    await consume_batch(pool, "probe.first", [first], _tally)

    handovers = _Handovers()
    assert await redeliver_due(pool, handovers, consumers_of, after_s=60) == 0
    await _age_hand_overs(pool, 61)
    assert await redeliver_due(pool, handovers, consumers_of, after_s=60) == 3
    assert sorted(handovers.batches, key=lambda b: len(b[0])) == [
        (frozenset({"probe.second"}), [paired[0]]),
        (frozenset({"probe.first", "probe.second"}), sorted(paired[1:])),
    ]
    rows = await pool.fetch(
        "SELECT attempts, pending_consumers, completed_at FROM outbox WHERE id = ANY($1)", paired
    )
    assert [r["attempts"] for r in rows] == [2, 2, 2]
    assert all(r["completed_at"] is None for r in rows)
    # Handed over just now: not due again before the (doubled) deadline.
    assert await redeliver_due(pool, handovers, consumers_of, after_s=60) == 0


async def test_a_sweep_marks_complete_without_a_hand_over_what_every_consumer_committed(
    pool: asyncpg.Pool,
) -> None:
    await pool.execute("CREATE TABLE probe_tally (event_id uuid, n int)")
    consumers_of = _consumers({"probe.tally": {"probe"}})
    [event_id] = await _emit_all(pool, "probe.tally", 1)
    published: list[Event] = []

    async def publish(events: Sequence[Event]) -> None:
        published.extend(events)

    await relay_batch(pool, publish, consumers_of=consumers_of)
    # The consumer committed, but its worker died before recording completion.
    await consume_batch(pool, "probe", published, _tally)
    await _age_hand_overs(pool, 61)
    handovers = _Handovers()
    assert await redeliver_due(pool, handovers, consumers_of, after_s=60) == 1
    assert handovers.batches == []
    row = await pool.fetchrow("SELECT attempts, completed_at FROM outbox WHERE id = $1", event_id)
    assert row["attempts"] == 1
    assert row["completed_at"] is not None


async def test_delivery_records_completion_only_for_events_whose_consumers_all_committed(
    platform: Platform,
) -> None:
    await platform.pool.execute("CREATE TABLE probe_tally (event_id uuid, n int)")
    broken = Consumer(
        name="probe.broken", topics=frozenset({"probe.both"}), handler=_consumes(_explode)
    )
    healthy = Consumer(
        name="probe.healthy",
        topics=frozenset({"probe.both", "probe.tally"}),
        handler=_consumes(_tally),
    )
    CONSUMERS.extend([broken, healthy])
    worker = Worker(platform)
    await worker.broker.startup()
    try:
        [both] = await _emit_all(platform.pool, "probe.both", 1)
        [tally] = await _emit_all(platform.pool, "probe.tally", 1)
        events: list[Event] = []

        async def collect(batch: Sequence[Event]) -> None:
            events.extend(batch)

        await relay_batch(platform.pool, collect)
        context = SimpleNamespace(broker=worker.broker, state=worker.broker.state)
        with pytest.raises(RuntimeError, match="broken"):
            await deliver_events(msgspec.to_builtins(events), context)  # type: ignore[arg-type]
        done = await platform.pool.fetch("SELECT id FROM outbox WHERE completed_at IS NOT NULL")
        assert [r["id"] for r in done] == [tally]

        # Re-delivered to the consumer that had not committed, once it works, the event
        # is complete; the healthy consumer is not run again.
        CONSUMERS.remove(broken)
        CONSUMERS.append(
            Consumer(name="probe.broken", topics=broken.topics, handler=_consumes(_tally))
        )
        await deliver_events(
            msgspec.to_builtins([e for e in events if e.id == both]),
            context,  # type: ignore[arg-type]
            consumers=["probe.broken"],
        )
    finally:
        CONSUMERS[:] = [c for c in CONSUMERS if not c.name.startswith("probe.")]
        await worker.broker.shutdown()
    assert (
        await platform.pool.fetchval("SELECT count(*) FROM outbox WHERE completed_at IS NULL") == 0
    )
    # Once by the healthy consumer's first delivery, once by the repaired one.
    assert (
        await platform.pool.fetchval("SELECT count(*) FROM probe_tally WHERE event_id = $1", both)
        == 2
    )


async def test_redelivery_backs_off_reports_a_stuck_event_and_never_waits_more_than_an_hour(
    pool: asyncpg.Pool, database_url: str
) -> None:
    consumers_of = _consumers({"probe.never": {"probe.never"}})
    [event_id] = await _emit_all(pool, "probe.never", 1)
    await relay_batch(pool, _lose, consumers_of=consumers_of)
    handovers = _Handovers()
    sent_before = (
        REGISTRY.get_sample_value("dracarys_outbox_redeliveries_total", {"consumer": "probe.never"})
        or 0.0
    )
    with capture_logs() as logs:
        for attempts in range(1, STUCK_AFTER_ATTEMPTS):
            wait_s = 10 * 2 ** (attempts - 1)
            await _age_hand_overs(pool, wait_s - 1)
            assert await redeliver_due(pool, handovers, consumers_of, after_s=10) == 0
            await _age_hand_overs(pool, 2)
            assert await redeliver_due(pool, handovers, consumers_of, after_s=10) == 1
    assert len(handovers.batches) == STUCK_AFTER_ATTEMPTS - 1
    stuck = [entry for entry in logs if entry["event"] == "outbox_events_stuck"]
    assert [(e["event_ids"], e["max_attempts"], e["by_topic"]) for e in stuck] == [
        ([str(event_id)], STUCK_AFTER_ATTEMPTS, {"probe.never": 1})
    ]
    sent_after = REGISTRY.get_sample_value(
        "dracarys_outbox_redeliveries_total", {"consumer": "probe.never"}
    )
    assert sent_after == sent_before + STUCK_AFTER_ATTEMPTS - 1

    async with pool.acquire() as conn:
        [reported] = await stuck_events(conn)
    assert (reported.id, reported.topic, reported.attempts, reported.pending_consumers) == (
        event_id,
        "probe.never",
        STUCK_AFTER_ATTEMPTS,
        ["probe.never"],
    )
    relay = OutboxRelay(pool, database_url, _lose, handovers, consumers_of, redeliver_after_s=10)
    await relay.sweep()
    assert REGISTRY.get_sample_value("dracarys_outbox_stuck_events") == 1

    # However many attempts, the wait is capped at an hour (no overflow, no hot loop).
    await pool.execute("UPDATE outbox SET attempts = 4000")
    await _age_hand_overs(pool, 3590)
    assert await redeliver_due(pool, handovers, consumers_of, after_s=10) == 0
    await _age_hand_overs(pool, 20)
    assert await redeliver_due(pool, handovers, consumers_of, after_s=10) == 1


async def test_worker_delivers_what_its_queue_lost_once_the_deadline_passes(
    pool: asyncpg.Pool, tmp_path: Path, database_url: str, tally_consumer: Consumer
) -> None:
    await pool.execute("CREATE TABLE probe_tally (event_id uuid, n int)")
    lost = await _emit_all(pool, "probe.tally", 20)
    # Handed to a queue that then died, before any consumer ran.
    await relay_batch(pool, _lose)
    settings = make_settings(database_url, tmp_path, DRACARYS_OUTBOX_REDELIVER_AFTER_S="0.5")
    worker = Worker(Platform(settings=settings, database=Database(pool=pool, dsn=database_url)))
    await worker.start()
    try:
        async with asyncio.timeout(15):
            while await pool.fetchval("SELECT count(*) FROM outbox WHERE completed_at IS NULL"):
                await asyncio.sleep(0.05)
    finally:
        await worker.stop()
    rows = await pool.fetch("SELECT event_id, count(*) AS n FROM probe_tally GROUP BY event_id")
    assert sorted(r["event_id"] for r in rows) == sorted(lost)
    assert {r["n"] for r in rows} == {1}
    assert await pool.fetchval("SELECT min(attempts) FROM outbox") == 2
