"""All SQL of the backtests domain; rows come back as structs."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from dracarys.backtests.models import Backtest, BacktestSummary, ClaimedBacktest
from dracarys.db import Connection, record_or_none, records

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
            WHERE id = $1""",
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
