"""Distributed sweeps across real processes: two `dracarys worker` processes share a
platform sweep through the Redis sweep queue; one is killed (SIGKILL) in the middle of a
chunk, the other runs that chunk again once its lease expires, and the stored ranking is
exactly the single-process `run_sweep`'s. SIGTERM then stops the survivor cleanly."""

from __future__ import annotations

import asyncio
import io
import math
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import msgspec
import polars as pl
import pytest

from dracarys.backtests.models import BacktestInput, SweepRange
from dracarys.backtests.service import queue_backtest
from dracarys.db import Database, transaction
from dracarys.identity import CurrentUser
from dracarys.marketdata.service import upload_dataset
from dracarys.platform import Platform
from dracarys.settings import Settings
from engine.data import Bars
from engine.strategy import ExecutionSettings, SpecBuilder
from engine.sweep import grid, run_sweep
from engine.synthetic import generate_intraday
from tests.support import TestUser

REPO = Path(__file__).resolve().parents[2]
# The project's own program, installed beside the interpreter running the tests: no `uv`
# (or anything else) needs to be on PATH.
DRACARYS = str(Path(sys.executable).with_name("dracarys"))
MakeUser = Callable[..., Awaitable[TestUser]]
BARS = 1_000_000  # a chunk of 12 combinations takes about a second on one thread
# fast 3, 6, 9, 12 × slow 20..250: 96 combinations, 8 chunks of 12.
FAST = SweepRange(start=3, stop=12, step=3)
SLOW = SweepRange(start=20, stop=250, step=10)
CHUNK = 12
LEASE_S = 4


class Workers:
    def __init__(self, processes: list[asyncio.subprocess.Process], logs: list[Path]) -> None:
        self.processes = processes
        self.logs = logs

    def by_pid(self, pid: int) -> asyncio.subprocess.Process:
        return next(p for p in self.processes if p.pid == pid)

    def output(self) -> str:
        return "\n".join(f"--- {log.name}\n{log.read_text()[-4000:]}" for log in self.logs)


async def one(pool: asyncpg.Pool, query: str, *args: Any) -> asyncpg.Record:
    """The query's one row (there must be one)."""
    row = await pool.fetchrow(query, *args)
    assert row is not None, query
    return row


def listening(log: Path) -> bool:
    """Both of the worker's receivers (its tasks' queue and the sweep queue) listen."""
    return log.exists() and log.read_text().count('"Listening started."') >= 2


@asynccontextmanager
async def worker_processes(
    settings: Settings, data_dir: Path, count: int, **extra_env: str
) -> AsyncIterator[Workers]:
    """`count` `dracarys worker` processes on the test's database and Redis prefix, once
    they listen; killed at the end if they still run."""
    assert settings.database_url
    assert settings.redis_url
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "DRACARYS_REDIS_PREFIX": settings.redis_prefix,
        "DRACARYS_SECRET_KEY": settings.secret_key,
        "DRACARYS_ENV": "test",
        "DRACARYS_DATA_DIR": str(data_dir),
        # INFO: the receivers say when they listen.
        "DRACARYS_LOG_LEVEL": "INFO",
        "DRACARYS_SEED_DEMO": "false",
        "DRACARYS_BACKTEST_CHUNK_EVALUATIONS": str(CHUNK),
        "DRACARYS_BACKTEST_CHUNK_LEASE_S": str(LEASE_S),
        # One thread each: two processes on two cores, as two machines would be.
        "NUMBA_NUM_THREADS": "1",
        **extra_env,
    }
    logs = [data_dir / f"worker-{k}.log" for k in range(count)]
    processes = []
    for log in logs:
        with log.open("wb") as out:
            processes.append(
                await asyncio.create_subprocess_exec(
                    DRACARYS, "worker", cwd=REPO, env=env, stdout=out, stderr=out
                )
            )
    workers = Workers(processes, logs)
    try:
        # A boot imports the platform and the engine's compiler: allow two minutes on a
        # busy machine. Each is ready once both its receivers listen.
        deadline = asyncio.get_running_loop().time() + 120
        while not all(listening(log) for log in logs):
            if asyncio.get_running_loop().time() > deadline:
                pytest.fail(f"the workers did not start within two minutes\n{workers.output()}")
            await asyncio.sleep(0.1)
        yield workers
    finally:
        for process in processes:
            if process.returncode is None:
                process.kill()
                await process.wait()


@pytest.fixture
async def two_workers(redis_settings: Settings, tmp_path: Path) -> AsyncIterator[Workers]:
    async with worker_processes(redis_settings, tmp_path, 2) as workers:
        yield workers


async def queued_sweep(pool: asyncpg.Pool, settings: Settings, user: TestUser) -> uuid.UUID:
    """A 96-combination sweep of a million uploaded bars, queued as the API queues it."""
    settings = msgspec.structs.replace(settings, market_data_max_upload_bytes=400_000_000)
    platform = Platform(
        settings=settings, database=Database(pool=pool, dsn=settings.database_url or "")
    )
    dataset_id = await big_dataset(platform, user)
    request = BacktestInput(
        template="sma_cross",
        dataset_id=dataset_id,
        sweep={"fast": FAST, "slow": SLOW},
        allow_short=True,
    )
    backtest_id = uuid.uuid4()
    async with transaction(pool) as conn:
        await queue_backtest(
            conn,
            backtest_id=backtest_id,
            owner_id=user.id,
            request=request,
            combinations=96,
            now=platform.clock.now(),
        )
    return backtest_id


async def first_lease(
    pool: asyncpg.Pool, backtest_id: uuid.UUID, workers: Workers
) -> asyncpg.Record:
    """The first chunk a worker leases, polled for closely: its chunk and lease owner."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 180
    while True:
        leased = await pool.fetchrow(
            """SELECT chunk, lease_owner FROM backtest_sweep_chunks
                WHERE backtest_id = $1 AND status = 'running' ORDER BY chunk LIMIT 1""",
            backtest_id,
        )
        if leased is not None:
            return leased
        if loop.time() > deadline:
            pytest.fail(f"no chunk was leased within three minutes\n{workers.output()}")
        await asyncio.sleep(0.01)


async def big_dataset(platform: Platform, user: TestUser) -> uuid.UUID:
    frame = generate_intraday(BARS, seed=23)
    content = io.BytesIO()
    frame.write_parquet(content)
    dataset = await upload_dataset(
        platform,
        CurrentUser(id=user.id, role=user.role, session_id=user.session_id),
        name="a million minutes",
        symbol="BTCUSD",
        timeframe="1m",
        visibility="private",
        content=content.getvalue(),
    )
    return dataset.id


def finite_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows as the job stores them: NaN and infinities as null."""
    return [
        {k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in row.items()}
        for row in rows
    ]


async def test_a_sweep_on_two_workers_one_killed_mid_chunk_ranks_as_one_process(
    two_workers: Workers,
    redis_settings: Settings,
    pool: asyncpg.Pool,
    make_user: MakeUser,
) -> None:
    user = await make_user()
    backtest_id = await queued_sweep(pool, redis_settings, user)
    # The first worker to lease a chunk is killed while it runs it: its first chunk also
    # loads the million bars, so the chunk is a second or more underway.
    leased = await first_lease(pool, backtest_id, two_workers)
    victim = two_workers.by_pid(int(leased["lease_owner"].split(":")[1]))
    victim.send_signal(signal.SIGKILL)
    await victim.wait()
    killed = await one(
        pool,
        """SELECT status, lease_owner FROM backtest_sweep_chunks
            WHERE backtest_id = $1 AND chunk = $2""",
        backtest_id,
        leased["chunk"],
    )
    # Killed mid-chunk: the chunk is still leased to the dead worker.
    assert (killed["status"], killed["lease_owner"]) == ("running", leased["lease_owner"])

    loop = asyncio.get_running_loop()
    deadline = loop.time() + 300

    while True:
        job = await one(
            pool,
            """SELECT status, progress_done, progress_total, sweep, error
                 FROM backtests WHERE id = $1""",
            backtest_id,
        )
        if job["status"] in ("succeeded", "failed"):
            break
        if loop.time() > deadline:
            pytest.fail(f"the sweep did not finish\n{two_workers.output()}")
        await asyncio.sleep(0.2)
    assert job["status"] == "succeeded", job["error"]

    chunks = await pool.fetch(
        """SELECT chunk, status, attempts, lease_owner FROM backtest_sweep_chunks
            WHERE backtest_id = $1 ORDER BY chunk""",
        backtest_id,
    )
    assert len(chunks) == 8
    assert all(c["status"] == "done" for c in chunks)
    # The killed worker's chunk ran again elsewhere; every combination counted once.
    assert chunks[leased["chunk"]]["attempts"] >= 2
    assert (job["progress_done"], job["progress_total"]) == (96, 96)

    dataset_id = uuid.UUID(
        await pool.fetchval(
            "SELECT request ->> 'dataset_id' FROM backtests WHERE id = $1", backtest_id
        )
    )
    frame = pl.read_parquet(
        redis_settings.data_path
        / await pool.fetchval("SELECT path FROM market_datasets WHERE id = $1", dataset_id)
    )
    single = run_sweep(
        Bars.from_frame(frame, symbol=str(dataset_id)),
        SpecBuilder("sma_cross", allow_short=True),
        grid({"fast": [3.0, 6.0, 9.0, 12.0], "slow": [20.0 + 10 * k for k in range(24)]}),
        ExecutionSettings(),
        rank_by="sharpe",
    )
    assert job["sweep"]["results"] == finite_rows(list(single.ranking.iter_rows(named=True)))

    # SIGTERM stops the surviving worker cleanly: exit status 0 within its grace period.
    survivor = next(p for p in two_workers.processes if p is not victim)
    survivor.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(survivor.wait(), 60) == 0, two_workers.output()


async def test_sigterm_mid_chunk_gives_the_chunk_back_and_exits_0(
    redis_settings: Settings, tmp_path: Path, pool: asyncpg.Pool, make_user: MakeUser
) -> None:
    """A stopping worker (a one-second grace, a lease of a minute) gives its chunk back
    at once rather than leaving it leased until its lease expires, and exits 0."""
    async with worker_processes(
        redis_settings,
        tmp_path,
        1,
        DRACARYS_SHUTDOWN_GRACE_S="1",
        DRACARYS_BACKTEST_CHUNK_LEASE_S="60",
    ) as workers:
        backtest_id = await queued_sweep(pool, redis_settings, await make_user())
        leased = await first_lease(pool, backtest_id, workers)
        (worker,) = workers.processes
        worker.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(worker.wait(), 60) == 0, workers.output()
    chunks = await pool.fetch(
        """SELECT status, lease_owner, attempts FROM backtest_sweep_chunks
            WHERE backtest_id = $1 ORDER BY chunk""",
        backtest_id,
    )
    # Within its grace the worker may finish the chunk and lease the next: whichever it
    # held when the grace ran out is queued again, leased once before, with no owner.
    assert leased["chunk"] == 0
    assert all(c["status"] != "running" for c in chunks)
    given_back = [c for c in chunks if c["status"] == "queued" and c["attempts"] >= 1]
    assert len(given_back) == 1
    assert given_back[0]["lease_owner"] is None
