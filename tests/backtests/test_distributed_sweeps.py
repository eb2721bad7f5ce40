"""Distributed sweeps in one process: chunk leases (one holder at a time, expired leases
taken over), a chunk finished twice counted once, progress as the finished chunks'
share, and chunks worked on by several workers, one of them dead, merging into the
single-process ranking."""

from __future__ import annotations

import asyncio
import math
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import asyncpg
import msgspec
import numpy as np
import pytest

from dracarys.backtests import store
from dracarys.backtests.models import BacktestInput, SweepRange
from dracarys.backtests.service import (
    _queue_sweep_chunks,
    dataset_bars,
    queue_backtest,
    work_on_sweep,
)
from dracarys.clock import ManualClock
from dracarys.db import transaction
from dracarys.platform import Platform
from engine.metrics import METRIC_NAMES
from engine.strategy import ExecutionSettings, SpecBuilder
from engine.sweep import grid, run_sweep
from tests.support import TestUser

MakeUser = Callable[..., Awaitable[TestUser]]
LEASE = timedelta(seconds=60)  # the default DRACARYS_BACKTEST_CHUNK_LEASE_S
# 4 × 6 = 24 combinations, chunks of 25 by default: the tests ask for chunks of 5.
REQUEST = BacktestInput(
    template="sma_cross",
    sweep={
        "fast": SweepRange(start=3, stop=12, step=3),
        "slow": SweepRange(start=20, stop=70, step=10),
    },
    rank_by="sharpe",
    allow_short=True,
)


@pytest.fixture
def chunked(platform: Platform) -> Platform:
    """The platform with chunks of 5 combinations: 24 make five chunks, the last of 4."""
    settings = msgspec.structs.replace(platform.settings, backtest_chunk_evaluations=5)
    return Platform(settings=settings, database=platform.database, clock=platform.clock)


async def running_sweep(platform: Platform, user: TestUser) -> uuid.UUID:
    """A sweep queued and claimed by a job, its chunks queued as the job does."""
    backtest_id = uuid.uuid4()
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        await queue_backtest(
            conn,
            backtest_id=backtest_id,
            owner_id=user.id,
            request=REQUEST,
            combinations=24,
            now=now,
        )
    async with platform.pool.acquire() as conn:
        assert await store.claim(conn, backtest_id, now, quiet_since=now) is not None
    assert await _queue_sweep_chunks(platform, backtest_id, 24) == 5
    return backtest_id


def single_process_rows() -> list[dict[str, Any]]:
    """The ranking run_sweep gives, as the job stores it (NaN and infinities as null)."""
    combos = grid({"fast": [3, 6, 9, 12], "slow": [20, 30, 40, 50, 60, 70]})
    ranking = run_sweep(
        dataset_bars("sample_daily"),
        SpecBuilder("sma_cross", allow_short=True),
        combos,
        ExecutionSettings(),
        rank_by="sharpe",
    ).ranking
    return [
        {k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in row.items()}
        for row in ranking.iter_rows(named=True)
    ]


async def one(pool: asyncpg.Pool, query: str, *args: Any) -> asyncpg.Record:
    """The query's one row (there must be one)."""
    row = await pool.fetchrow(query, *args)
    assert row is not None, query
    return row


async def chunk_rows(pool: asyncpg.Pool, backtest_id: uuid.UUID) -> list[asyncpg.Record]:
    return await pool.fetch(
        "SELECT * FROM backtest_sweep_chunks WHERE backtest_id = $1 ORDER BY chunk", backtest_id
    )


async def test_each_chunk_has_one_lease_holder_and_an_expired_lease_is_taken_over(
    chunked: Platform, make_user: MakeUser, clock: ManualClock
) -> None:
    backtest_id = await running_sweep(chunked, await make_user())
    now = clock.now()
    async with chunked.pool.acquire() as conn:
        first = await store.lease_sweep_chunk(conn, backtest_id, "a", now, now + LEASE)
        second = await store.lease_sweep_chunk(conn, backtest_id, "b", now, now + LEASE)
        assert first is not None
        assert second is not None
        assert (first.chunk, first.first_combination, first.stop_combination) == (0, 0, 5)
        assert second.chunk == 1
        # "a" renews; "b" goes quiet (its process died).
        later = now + LEASE / 2
        assert await store.renew_chunk_lease(conn, backtest_id, 0, "a", later, later + LEASE)
        expired = now + LEASE + timedelta(seconds=1)
        taken = await store.lease_sweep_chunk(conn, backtest_id, "c", expired, expired + LEASE)
        assert taken is not None
        assert (taken.chunk, taken.attempts) == (1, 2)
        # "b" wakes up: the chunk is no longer its own.
        assert not await store.renew_chunk_lease(conn, backtest_id, 1, "b", expired, expired)
        # "a"'s renewed lease still holds: the next lease is a queued chunk.
        following = await store.lease_sweep_chunk(conn, backtest_id, "d", expired, expired)
        assert following is not None
        assert following.chunk == 2


async def test_a_chunk_finished_twice_counts_once_and_progress_is_the_finished_chunks(
    chunked: Platform, make_user: MakeUser, clock: ManualClock, pool: asyncpg.Pool
) -> None:
    backtest_id = await running_sweep(chunked, await make_user())
    now = clock.now()
    metrics = np.arange(5 * len(METRIC_NAMES), dtype="<f8").tobytes()
    again = np.zeros(5 * len(METRIC_NAMES), dtype="<f8").tobytes()
    async with chunked.pool.acquire() as conn:
        assert await store.lease_sweep_chunk(conn, backtest_id, "a", now, now + LEASE)
        assert await store.finish_sweep_chunk(conn, backtest_id, 0, metrics, now)
        # The worker whose lease had expired finishes the same chunk: nothing changes.
        assert not await store.finish_sweep_chunk(conn, backtest_id, 0, again, now)
        progress = await store.sweep_chunk_progress(conn, backtest_id)
        assert (progress.chunks_done, progress.chunks) == (1, 5)
        assert (progress.combinations_done, progress.combinations) == (5, 24)
        # The last chunk holds 4 combinations: progress counts them, not chunks of 5.
        for chunk in range(1, 5):
            leased = await store.lease_sweep_chunk(conn, backtest_id, "a", now, now + LEASE)
            assert leased is not None
            assert leased.chunk == chunk
        assert await store.finish_sweep_chunk(
            conn, backtest_id, 4, metrics[: 4 * 8 * len(METRIC_NAMES)], now
        )
    (done, total) = await one(
        pool, "SELECT progress_done, progress_total FROM backtests WHERE id = $1", backtest_id
    )
    assert (done, total) == (9, 24)
    stored = await chunk_rows(pool, backtest_id)
    assert bytes(stored[0]["metrics"]) == metrics
    assert [r["status"] for r in stored] == ["done", "running", "running", "running", "done"]


async def test_a_job_taken_over_keeps_its_chunks_and_their_progress(
    chunked: Platform, make_user: MakeUser, clock: ManualClock, pool: asyncpg.Pool
) -> None:
    backtest_id = await running_sweep(chunked, await make_user())
    now = clock.now()
    async with chunked.pool.acquire() as conn:
        assert await store.lease_sweep_chunk(conn, backtest_id, "a", now, now + LEASE)
        metrics = np.zeros(5 * len(METRIC_NAMES), dtype="<f8").tobytes()
        assert await store.finish_sweep_chunk(conn, backtest_id, 0, metrics, now)
        later = clock.advance(timedelta(minutes=5))
        assert await store.claim(conn, backtest_id, later, quiet_since=later) is not None
    assert await _queue_sweep_chunks(chunked, backtest_id, 24) == 5
    stored = await chunk_rows(pool, backtest_id)
    assert [r["status"] for r in stored] == ["done"] + ["queued"] * 4
    assert (
        await pool.fetchval("SELECT progress_done FROM backtests WHERE id = $1", backtest_id) == 5
    )


async def test_workers_one_dead_mid_chunk_rank_exactly_as_one_process(
    chunked: Platform, make_user: MakeUser, clock: ManualClock, pool: asyncpg.Pool
) -> None:
    """A worker leased chunk 0 and died; two workers then share the rest, and once the
    dead one's lease expires one of them runs its chunk again."""
    backtest_id = await running_sweep(chunked, await make_user())
    now = clock.now()
    async with chunked.pool.acquire() as conn:
        assert await store.lease_sweep_chunk(conn, backtest_id, "dead", now, now + LEASE)

    async def expire_the_dead_lease() -> None:
        while (
            await pool.fetchval(
                "SELECT count(*) FROM backtest_sweep_chunks WHERE backtest_id = $1 AND status = "
                "'done'",
                backtest_id,
            )
            < 4
        ):
            await asyncio.sleep(0.02)
        clock.advance(LEASE + timedelta(seconds=1))

    finished = await asyncio.wait_for(
        asyncio.gather(
            work_on_sweep(chunked, backtest_id),
            work_on_sweep(chunked, backtest_id),
            expire_the_dead_lease(),
        ),
        timeout=300,
    )
    assert finished[0] + finished[1] == 5  # every chunk finished once, by the two
    stored = await chunk_rows(pool, backtest_id)
    assert all(r["status"] == "done" for r in stored)
    assert [r["attempts"] for r in stored] == [2, 1, 1, 1, 1]
    job = await one(
        pool,
        "SELECT status, progress_done, progress_total, sweep FROM backtests WHERE id = $1",
        backtest_id,
    )
    assert (job["status"], job["progress_done"], job["progress_total"]) == ("succeeded", 24, 24)
    assert job["sweep"]["results"] == single_process_rows()
    # A worker asked afterwards (a late message) finds nothing to do.
    assert await work_on_sweep(chunked, backtest_id) == 0
