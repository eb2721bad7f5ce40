"""All SQL of the backtests domain; rows come back as structs."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from dracarys.backtests.models import (
    Backtest,
    BacktestSummary,
    ChunkProgress,
    ClaimedBacktest,
    LeasedChunk,
)
from dracarys.db import Connection, record, record_or_none, records

_COLUMNS = (
    "id, owner_id, status, kind, request, progress_done, progress_total, metrics, equity, "
    "trades, trade_count, sweep, assets, error, created_at, started_at, finished_at"
)


async def insert_backtest(
    conn: Connection,
    *,
    backtest_id: uuid.UUID,
    owner_id: uuid.UUID,
    kind: str,
    request: dict[str, Any],
    progress_total: int,
    now: datetime,
) -> None:
    await conn.execute(
        """INSERT INTO backtests (id, owner_id, kind, request, progress_total, created_at)
           VALUES ($1, $2, $3, $4, $5, $6)""",
        backtest_id,
        owner_id,
        kind,
        request,
        progress_total,
        now,
    )


async def add_shares(
    conn: Connection, backtest_id: uuid.UUID, user_ids: list[uuid.UUID], now: datetime
) -> None:
    await conn.executemany(
        """INSERT INTO backtest_shares (backtest_id, user_id, created_at) VALUES ($1, $2, $3)
           ON CONFLICT DO NOTHING""",
        [(backtest_id, user_id, now) for user_id in user_ids],
    )


async def get_backtest(conn: Connection, backtest_id: uuid.UUID) -> Backtest | None:
    """The backtest with the users it is shared with (oldest share first)."""
    row = await conn.fetchrow(
        f"""SELECT {_COLUMNS},
                   array(SELECT s.user_id FROM backtest_shares s WHERE s.backtest_id = b.id
                          ORDER BY s.created_at, s.user_id) AS shared_with
              FROM backtests b WHERE id = $1""",
        backtest_id,
    )
    return record_or_none(Backtest, row)


async def list_readable(conn: Connection, user_id: uuid.UUID, limit: int) -> list[BacktestSummary]:
    """The caller's own backtests and those shared with them, newest first."""
    rows = await conn.fetch(
        """SELECT id, owner_id, status, kind, request ->> 'template' AS template,
                  CASE WHEN jsonb_typeof(request -> 'datasets') = 'array'
                       THEN (SELECT string_agg(d, ' + ')
                               FROM jsonb_array_elements_text(request -> 'datasets') d)
                       ELSE coalesce(request ->> 'dataset_id', request ->> 'dataset',
                                     'sample_daily') END AS dataset,
                  progress_done, progress_total,
                  metrics -> 'total_return_pct' AS total_return_pct, created_at, finished_at
             FROM backtests b
            WHERE owner_id = $1
               OR EXISTS (SELECT 1 FROM backtest_shares s
                           WHERE s.backtest_id = b.id AND s.user_id = $1)
            ORDER BY created_at DESC, id
            LIMIT $2""",
        user_id,
        limit,
    )
    return records(BacktestSummary, rows)


async def claim(
    conn: Connection, backtest_id: uuid.UUID, now: datetime, *, quiet_since: datetime
) -> ClaimedBacktest | None:
    """Mark a queued job running, or take over one whose worker's heartbeat has been
    quiet since `quiet_since` (that worker died); None when it finished or is running."""
    row = await conn.fetchrow(
        """UPDATE backtests
               SET status = 'running', started_at = $2, heartbeat_at = $2, progress_done = 0
             WHERE id = $1
               AND (status = 'queued'
                    OR (status = 'running' AND coalesce(heartbeat_at, started_at) < $3))
            RETURNING id, request""",
        backtest_id,
        now,
        quiet_since,
    )
    return record_or_none(ClaimedBacktest, row)


async def beat(conn: Connection, backtest_id: uuid.UUID, done: int, now: datetime) -> None:
    """The running job's heartbeat, with its progress."""
    await conn.execute(
        """UPDATE backtests SET progress_done = LEAST($2, progress_total), heartbeat_at = $3
            WHERE id = $1 AND status = 'running'""",
        backtest_id,
        done,
        now,
    )


async def unattended(conn: Connection, quiet_since: datetime) -> list[uuid.UUID]:
    """Jobs nobody is working on: queued before `quiet_since` and never started (their
    task was lost), or running with a heartbeat quiet since then (their worker died)."""
    rows = await conn.fetch(
        """SELECT id FROM backtests
            WHERE (status = 'queued' AND created_at < $1)
               OR (status = 'running' AND coalesce(heartbeat_at, started_at) < $1)
            ORDER BY created_at""",
        quiet_since,
    )
    return [r["id"] for r in rows]


async def store_result(
    conn: Connection,
    backtest_id: uuid.UUID,
    *,
    metrics: dict[str, Any],
    equity: list[dict[str, Any]],
    trades: list[dict[str, Any]],
    trade_count: int,
    sweep: dict[str, Any] | None,
    assets: list[dict[str, Any]] | None = None,
    now: datetime,
) -> None:
    await conn.execute(
        """UPDATE backtests
              SET status = 'succeeded', progress_done = progress_total, metrics = $2,
                  equity = $3, trades = $4, trade_count = $5, sweep = $6, assets = $7,
                  finished_at = $8
            WHERE id = $1 AND status = 'running'""",
        backtest_id,
        metrics,
        equity,
        trades,
        trade_count,
        sweep,
        assets,
        now,
    )


async def store_failure(
    conn: Connection, backtest_id: uuid.UUID, error: str, now: datetime
) -> None:
    await conn.execute(
        """UPDATE backtests SET status = 'failed', error = $2, finished_at = $3
            WHERE id = $1""",
        backtest_id,
        error,
        now,
    )


async def insert_sweep_chunks(
    conn: Connection, backtest_id: uuid.UUID, ranges: list[tuple[int, int]]
) -> None:
    """The sweep's chunks, queued, unless they exist (a job taken over keeps them)."""
    await conn.executemany(
        """INSERT INTO backtest_sweep_chunks
                  (backtest_id, chunk, first_combination, stop_combination)
           VALUES ($1, $2, $3, $4)
           ON CONFLICT (backtest_id, chunk) DO NOTHING""",
        [(backtest_id, k, start, stop) for k, (start, stop) in enumerate(ranges)],
    )


async def lease_sweep_chunk(
    conn: Connection, backtest_id: uuid.UUID, owner: str, now: datetime, until: datetime
) -> LeasedChunk | None:
    """Lease the first chunk nobody runs: queued, or leased by a worker whose lease
    expired (it died). SKIP LOCKED: workers leasing at once each get another chunk."""
    row = await conn.fetchrow(
        """UPDATE backtest_sweep_chunks c
              SET status = 'running', lease_owner = $2, lease_expires_at = $4,
                  attempts = c.attempts + 1
            WHERE (c.backtest_id, c.chunk) = (
                  SELECT backtest_id, chunk FROM backtest_sweep_chunks
                   WHERE backtest_id = $1
                     AND (status = 'queued' OR (status = 'running' AND lease_expires_at <= $3))
                     AND EXISTS (SELECT 1 FROM backtests b
                                  WHERE b.id = $1 AND b.status = 'running')
                   ORDER BY chunk
                   LIMIT 1
                   FOR UPDATE SKIP LOCKED)
        RETURNING c.chunk, c.first_combination, c.stop_combination, c.attempts""",
        backtest_id,
        owner,
        now,
        until,
    )
    return record_or_none(LeasedChunk, row)


async def renew_chunk_lease(
    conn: Connection,
    backtest_id: uuid.UUID,
    chunk: int,
    owner: str,
    now: datetime,
    until: datetime,
) -> bool:
    """Extend the lease while its owner computes, and the job's heartbeat with it; False
    when the chunk is no longer this owner's (it finished, or the lease expired and
    another worker took it)."""
    renewed = await conn.fetchval(
        """WITH renewed AS (
               UPDATE backtest_sweep_chunks SET lease_expires_at = $5
                WHERE backtest_id = $1 AND chunk = $2 AND status = 'running'
                  AND lease_owner = $3
               RETURNING backtest_id),
           beat AS (
               UPDATE backtests SET heartbeat_at = $4
                WHERE id IN (SELECT backtest_id FROM renewed) AND status = 'running')
           SELECT count(*) FROM renewed""",
        backtest_id,
        chunk,
        owner,
        now,
        until,
    )
    return bool(renewed)


async def finish_sweep_chunk(
    conn: Connection, backtest_id: uuid.UUID, chunk: int, metrics: bytes, now: datetime
) -> bool:
    """Store a chunk's metrics once: the first finish wins, whoever's lease it ran under
    (every run of a chunk computes the same metrics), and the job's progress becomes the
    combinations of its finished chunks. False when the chunk had already finished."""
    async with conn.transaction():
        finished = await conn.fetchval(
            """UPDATE backtest_sweep_chunks
                  SET status = 'done', metrics = $3, finished_at = $4,
                      lease_owner = NULL, lease_expires_at = NULL
                WHERE backtest_id = $1 AND chunk = $2 AND status <> 'done'
            RETURNING true""",
            backtest_id,
            chunk,
            metrics,
            now,
        )
        if not finished:
            return False
        await conn.execute(
            """UPDATE backtests
                  SET heartbeat_at = $2,
                      progress_done = LEAST(progress_total, (
                          SELECT coalesce(sum(stop_combination - first_combination), 0)
                            FROM backtest_sweep_chunks
                           WHERE backtest_id = $1 AND status = 'done'))
                WHERE id = $1 AND status = 'running'""",
            backtest_id,
            now,
        )
    return True


async def sweep_chunk_progress(conn: Connection, backtest_id: uuid.UUID) -> ChunkProgress:
    row = await conn.fetchrow(
        """SELECT count(*) FILTER (WHERE status = 'done') AS chunks_done,
                  count(*) AS chunks,
                  coalesce(sum(stop_combination - first_combination)
                           FILTER (WHERE status = 'done'), 0) AS combinations_done,
                  coalesce(sum(stop_combination - first_combination), 0) AS combinations,
                  min(lease_expires_at) FILTER (WHERE status = 'running') AS next_expiry
             FROM backtest_sweep_chunks WHERE backtest_id = $1""",
        backtest_id,
    )
    assert row is not None  # an aggregate always has its row
    return record(ChunkProgress, row)


async def sweep_chunk_metrics(conn: Connection, backtest_id: uuid.UUID) -> list[tuple[int, bytes]]:
    """Each finished chunk's first combination and metrics, in chunk order."""
    rows = await conn.fetch(
        """SELECT first_combination, metrics FROM backtest_sweep_chunks
            WHERE backtest_id = $1 AND status = 'done' ORDER BY chunk""",
        backtest_id,
    )
    return [(r["first_combination"], bytes(r["metrics"])) for r in rows]


async def sync_sweep_progress(conn: Connection, backtest_id: uuid.UUID) -> None:
    """A job taken over keeps its finished chunks' progress (the claim reset it)."""
    await conn.execute(
        """UPDATE backtests
              SET progress_done = LEAST(progress_total, (
                  SELECT coalesce(sum(stop_combination - first_combination), 0)
                    FROM backtest_sweep_chunks WHERE backtest_id = $1 AND status = 'done'))
            WHERE id = $1""",
        backtest_id,
    )


async def release_chunk_lease(
    conn: Connection, backtest_id: uuid.UUID, chunk: int, owner: str
) -> None:
    """A stopping worker gives its unfinished chunk back at once, for another to run."""
    await conn.execute(
        """UPDATE backtest_sweep_chunks
              SET status = 'queued', lease_owner = NULL, lease_expires_at = NULL
            WHERE backtest_id = $1 AND chunk = $2 AND status = 'running' AND lease_owner = $3""",
        backtest_id,
        chunk,
        owner,
    )


async def running_job(conn: Connection, backtest_id: uuid.UUID) -> ClaimedBacktest | None:
    """The job's request while it runs; None once it finished or failed."""
    row = await conn.fetchrow(
        "SELECT id, request FROM backtests WHERE id = $1 AND status = 'running'", backtest_id
    )
    return record_or_none(ClaimedBacktest, row)
