"""Points awards through the full event path on real PostgreSQL and Redis — domain events
committed to the outbox, relayed to the Redis Streams task queue, consumed by the award
service (ledger entry, balance, caps, streak, badge, `points.awarded`) — beside a named
peer from the same run: a naive loop of one autocommitted INSERT per award into a bare
table (no balance, no caps, no idempotency). Then the time to reconcile 1,000,000 ledger
rows (sums vs balances, the balance_after chain, pending totals, economy metrics), beside
the peer of fetching the rows and checking them in a Python loop.

Run: ``uv run python benchmarks/points_awards.py`` (PostgreSQL at 127.0.0.1:5432, Redis at
127.0.0.1:6379; override with BENCH_ADMIN_DSN / BENCH_REDIS_URL)."""

from __future__ import annotations

import asyncio
import hashlib
import os
import platform as host
import sys
import tempfile
import time
import uuid
from collections import defaultdict

import asyncpg
import msgspec
import polars
import redis
from benchdb import ADMIN_DSN, create_database, drop_database, dsn_for, insert_users
from redis.asyncio import Redis

from dracarys.clock import SystemClock
from dracarys.db import Database, transaction
from dracarys.db.pool import create_pool
from dracarys.outbox import emit_many
from dracarys.platform import Platform
from dracarys.points import reconcile
from dracarys.settings import load_settings
from workers.runtime import Worker

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
USERS = 2_000
AWARDS = int(os.environ.get("BENCH_AWARDS", "40000"))
NAIVE_AWARDS = 5_000
LEDGER_ROWS = 1_000_000
LEDGER_USERS = 10_000
BENCH_SECRET = "bench-secret-" + "x" * 40


async def full_event_path(dsn: str, prefix: str) -> tuple[float, float, int]:
    env = {
        "DATABASE_URL": dsn,
        "REDIS_URL": REDIS_URL,
        "DRACARYS_REDIS_PREFIX": prefix,
        "DRACARYS_ENV": "test",
        "DRACARYS_SECRET_KEY": BENCH_SECRET,
        "DRACARYS_LOG_LEVEL": "ERROR",
        "DRACARYS_DATA_DIR": tempfile.mkdtemp(prefix="dracarys-bench-"),
        "DRACARYS_DB_POOL_MAX_SIZE": "24",
        # No SMTP server here: award e-mails are left out (they are queued by a separate
        # consumer after the award commits); leaderboards and live notifications run.
        "DRACARYS_POINTS_EMAIL_ON_AWARD": "false",
    }
    settings = load_settings(env)
    pool = await create_pool(dsn, min_size=4, max_size=settings.db_pool_max_size)
    redis_client = Redis.from_url(REDIS_URL)
    platform = Platform(
        settings=settings,
        database=Database(pool=pool, dsn=dsn),
        redis=redis_client,
        clock=SystemClock(),
    )
    users = [uuid.uuid4() for _ in range(USERS)]
    await insert_users(pool, settings, users)
    per_user = AWARDS // USERS
    async with transaction(pool) as conn:
        await emit_many(
            conn,
            [
                ("lesson.completed", {"user_id": str(u), "lesson_id": f"lesson-{i}"})
                for i in range(per_user)
                for u in users
            ],
        )
    total = per_user * USERS
    worker = Worker(platform)
    started = time.perf_counter()
    await worker.start()
    await wait_for_ledger(pool, total)
    elapsed = time.perf_counter() - started
    await wait_for_followers(pool, total)
    drained = time.perf_counter() - started
    await worker.stop()
    mismatched = await pool.fetchval(
        """SELECT count(*) FROM points_balances b
           WHERE b.balance <> (SELECT sum(delta) FROM points_ledger l
                               WHERE l.user_id = b.user_id)"""
    )
    assert mismatched == 0
    await redis_client.aclose()
    try:
        await asyncio.wait_for(pool.close(), 10)
    except TimeoutError:
        pool.terminate()
    return elapsed, drained, total


async def wait_for_ledger(pool: asyncpg.Pool, total: int) -> None:
    done = asyncio.Event()
    while not done.is_set():
        if await pool.fetchval("SELECT count(*) FROM points_ledger") >= total:
            done.set()
        else:
            await asyncio.sleep(0.05)


async def wait_for_followers(pool: asyncpg.Pool, total: int) -> None:
    """Until every `points.awarded` was counted on the leaderboards and notified."""
    done = asyncio.Event()
    while not done.is_set():
        followed = await pool.fetchval(
            """SELECT min(n) FROM (SELECT count(*) AS n FROM processed_events
                                   WHERE consumer IN ('points.leaderboard',
                                                      'notifications.workflows')
                                   GROUP BY consumer) c"""
        )
        if (followed or 0) >= total:
            done.set()
        else:
            await asyncio.sleep(0.05)


async def naive_insert_loop(dsn: str) -> float:
    conn = await asyncpg.connect(dsn)
    await conn.execute(
        """CREATE TABLE naive_points (id uuid PRIMARY KEY, user_id uuid, delta bigint,
                                      reason text, created_at timestamptz DEFAULT now())"""
    )
    user = uuid.uuid4()
    started = time.perf_counter()
    for _ in range(NAIVE_AWARDS):
        await conn.execute(
            "INSERT INTO naive_points (id, user_id, delta, reason) VALUES ($1, $2, 10, 'lesson')",
            uuid.uuid4(),
            user,
        )
    elapsed = time.perf_counter() - started
    await conn.close()
    return elapsed


async def build_large_ledger(dsn: str) -> None:
    pool = await create_pool(dsn, min_size=1, max_size=1)
    # The same ids as md5('u' || g)::uuid below.
    ids = [
        uuid.UUID(hashlib.md5(f"u{g}".encode(), usedforsecurity=False).hexdigest())
        for g in range(1, LEDGER_USERS + 1)
    ]
    settings = load_settings(
        {
            "DATABASE_URL": dsn,
            "DRACARYS_ENV": "test",
            "DRACARYS_SECRET_KEY": BENCH_SECRET,
            "DRACARYS_DATA_DIR": tempfile.mkdtemp(prefix="dracarys-bench-"),
        }
    )
    await insert_users(pool, settings, ids)
    await pool.close()
    conn = await asyncpg.connect(dsn)
    per_user = LEDGER_ROWS // LEDGER_USERS
    await conn.execute(
        """INSERT INTO points_ledger (id, user_id, delta, reason_code, category, related_entity,
                                      rule_code, rule_version, balance_after, created_at,
                                      idempotency_key)
           SELECT gen_random_uuid(), md5('u' || u)::uuid, 10, 'lesson_completed', 'learning',
                  'l' || k, 'lesson_completed', 1, 10 * k,
                  now() - make_interval(mins => ($2 - k)), 'b:' || u || ':' || k
           FROM generate_series(1, $1) u, generate_series(1, $2) k
           ORDER BY u, k""",
        LEDGER_USERS,
        per_user,
    )
    await conn.execute(
        """INSERT INTO points_balances (user_id, balance, updated_at)
           SELECT md5('u' || g)::uuid, 10 * $2, now() FROM generate_series(1, $1) g""",
        LEDGER_USERS,
        per_user,
    )
    await conn.execute("ANALYZE")
    await conn.close()


async def reconcile_large_ledger(dsn: str) -> float:
    settings = load_settings(
        {
            "DATABASE_URL": dsn,
            "DRACARYS_ENV": "test",
            "DRACARYS_SECRET_KEY": BENCH_SECRET,
            "DRACARYS_DATA_DIR": tempfile.mkdtemp(prefix="dracarys-bench-"),
        }
    )
    pool = await create_pool(dsn, min_size=1, max_size=4)
    platform = Platform(settings=settings, database=Database(pool=pool, dsn=dsn))
    started = time.perf_counter()
    report = await reconcile(platform, days=2)
    elapsed = time.perf_counter() - started
    assert report["consistent"], report
    await pool.close()
    return elapsed


async def python_loop_reconcile(dsn: str) -> float:
    """The peer: fetch every row and check sums and the chain in Python."""
    conn = await asyncpg.connect(dsn)
    started = time.perf_counter()
    rows = await conn.fetch(
        "SELECT user_id, delta, balance_after FROM points_ledger ORDER BY user_id, seq"
    )
    balances = {
        r["user_id"]: r["balance"] for r in await conn.fetch("SELECT * FROM points_balances")
    }
    sums: dict[uuid.UUID, int] = defaultdict(int)
    breaks = 0
    for r in rows:
        previous = sums[r["user_id"]]
        if r["balance_after"] != previous + r["delta"]:
            breaks += 1
        sums[r["user_id"]] = previous + r["delta"]
    mismatches = sum(1 for u, b in balances.items() if sums.get(u, 0) != b)
    elapsed = time.perf_counter() - started
    assert breaks == 0
    assert mismatches == 0
    await conn.close()
    return elapsed


async def main() -> None:
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    name = await create_database()
    try:
        dsn = dsn_for(name)
        awards_s, drained_s, total = await full_event_path(dsn, prefix)
        naive_s = await naive_insert_loop(dsn)
    finally:
        await drop_database(name)
        sync_redis = redis.Redis.from_url(REDIS_URL)
        for key in sync_redis.scan_iter(match=f"{prefix}:*", count=1000):
            sync_redis.delete(key)
    name = await create_database()
    try:
        dsn = dsn_for(name)
        started = time.perf_counter()
        await build_large_ledger(dsn)
        build_s = time.perf_counter() - started
        ours_reconcile = await reconcile_large_ledger(dsn)
        peer_reconcile = await python_loop_reconcile(dsn)
    finally:
        await drop_database(name)

    ours_rate = total / awards_s
    naive_rate = NAIVE_AWARDS / naive_s
    admin = await asyncpg.connect(ADMIN_DSN)
    pg_version = await admin.fetchval("SHOW server_version")
    await admin.close()
    redis_version = redis.Redis.from_url(REDIS_URL).info("server")["redis_version"]
    print(f"load average at the end: {os.getloadavg()[0]:.1f} (the machine is shared)")
    print(
        f"machine: {host.machine()} {host.processor() or ''} cpus={os.cpu_count()} "
        f"{host.system()} {host.release()}"
    )
    print(
        f"python {sys.version.split()[0]}, PostgreSQL {pg_version}, Redis {redis_version}, "
        f"asyncpg {asyncpg.__version__}, msgspec {msgspec.__version__}, polars {polars.__version__}"
    )
    print()
    print(
        f"awards through outbox → Redis Streams → award service: {total:,} awards in "
        f"{awards_s:.2f} s = {ours_rate:,.0f} awards/s (goal ≥ 5,000)"
    )
    print(
        f"  … and every points.awarded counted on the leaderboards and sent live: "
        f"{drained_s:.2f} s = {total / drained_s:,.0f} awards/s end to end"
    )
    print("  (an award: ledger entry, balance, caps, velocity and tier checks, streak, badge,")
    print("   points.awarded; award e-mails off: no SMTP server on this machine)")
    print(
        f"peer, naive loop of one autocommitted INSERT per award:  {NAIVE_AWARDS:,} in "
        f"{naive_s:.2f} s = {naive_rate:,.0f} inserts/s"
    )
    print(f"ratio ours / naive: {ours_rate / naive_rate:.2f}×")
    print()
    print(
        f"reconcile {LEDGER_ROWS:,} ledger rows ({LEDGER_USERS:,} users): {ours_reconcile:.2f} s "
        f"(goal < 5 s; building them took {build_s:.1f} s)"
    )
    print(f"peer, fetch all rows and check in a Python loop:      {peer_reconcile:.2f} s")
    print(f"ratio peer / ours: {peer_reconcile / ours_reconcile:.2f}×")


if __name__ == "__main__":
    asyncio.run(main())
