"""Paper trading's SQL on the account side: last prices, disclaimers, portfolios, the
orders their owners place and cancel, and the fills, positions and equity marks read back
(the paper loop writes those: `trading.paper_loop.store`). Rows come back as structs."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from dracarys.db import Connection, record, record_or_none, records
from dracarys.trading.models import (
    OPEN_STATUSES,
    PENDING_STATUSES,
    Acknowledgement,
    Disclaimer,
    EquityCurve,
    EquityMark,
    Fill,
    HeldPosition,
    LastClose,
    MarkedPosition,
    MonthResult,
    Order,
    Portfolio,
    PortfolioAccess,
)


def num(value: float | None) -> float | None:
    """A float as it is written to a numeric column: no binary noise past 10 decimals."""
    return None if value is None else round(value, 10)


async def insert_row(
    conn: Connection, table: str, fields: dict[str, Any], *, on_conflict: str = ""
) -> asyncpg.Record | None:
    """INSERT one row of `fields` (column names are ours, never a client's) → the row,
    or None when `on_conflict` skipped it."""
    columns = ", ".join(fields)
    placeholders = ", ".join(f"${k + 1}" for k in range(len(fields)))
    values = [num(v) if isinstance(v, float) else v for v in fields.values()]
    return await conn.fetchrow(
        f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) {on_conflict} RETURNING *",
        *values,
    )


# --- prices -----------------------------------------------------------------------


async def last_close(conn: Connection, symbol: str) -> LastClose | None:
    row = await conn.fetchrow(
        """SELECT (s.last_closes ->> i.symbol)::numeric AS price,
                  s.last_market_time AS market_time
           FROM instruments i JOIN market_feed_state s ON s.feed = i.feed
           WHERE i.symbol = $1 AND s.last_closes ->> i.symbol IS NOT NULL""",
        symbol,
    )
    return record_or_none(LastClose, row)


# --- disclaimers --------------------------------------------------------------------


async def current_disclaimer(conn: Connection) -> Disclaimer:
    row = await conn.fetchrow("SELECT * FROM risk_disclaimers ORDER BY version DESC LIMIT 1")
    assert row is not None, "migration 0400 publishes version 1"
    return record(Disclaimer, row)


async def acknowledge(
    conn: Connection, user_id: uuid.UUID, version: int, now: datetime, source_ip: str | None
) -> Acknowledgement:
    row = await conn.fetchrow(
        """WITH added AS (
               INSERT INTO disclaimer_acknowledgements
                   (user_id, version, acknowledged_at, source_ip)
               VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING *)
           SELECT * FROM added
           UNION ALL SELECT * FROM disclaimer_acknowledgements WHERE user_id = $1 AND version = $2
           LIMIT 1""",
        user_id,
        version,
        now,
        source_ip,
    )
    assert row is not None
    return record(Acknowledgement, row)


async def has_acknowledged(conn: Connection, user_id: uuid.UUID, version: int) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT 1 FROM disclaimer_acknowledgements WHERE user_id = $1 AND version = $2",
            user_id,
            version,
        )
    )


# --- portfolios ---------------------------------------------------------------------


async def insert_portfolio(
    conn: Connection,
    *,
    portfolio_id: uuid.UUID,
    user_id: uuid.UUID,
    name: str,
    kind: str,
    currency: str,
    starting_cash_minor: int,
    preset: str,
    max_position_pct: float,
    now: datetime,
) -> Portfolio:
    row = await conn.fetchrow(
        """INSERT INTO paper_portfolios (id, user_id, name, kind, currency, starting_cash_minor,
               cash_minor, preset, max_position_pct, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8, $9) RETURNING *""",
        portfolio_id,
        user_id,
        name,
        kind,
        currency,
        starting_cash_minor,
        preset,
        max_position_pct,
        now,
    )
    assert row is not None
    return record(Portfolio, row)


async def get_portfolio(
    conn: Connection, portfolio_id: uuid.UUID, *, lock: bool = False
) -> Portfolio | None:
    sql = "SELECT * FROM paper_portfolios WHERE id = $1" + (" FOR UPDATE" if lock else "")
    return record_or_none(Portfolio, await conn.fetchrow(sql, portfolio_id))


async def list_portfolios(conn: Connection, user_id: uuid.UUID) -> list[Portfolio]:
    rows = await conn.fetch(
        "SELECT * FROM paper_portfolios WHERE user_id = $1 ORDER BY created_at, id", user_id
    )
    return records(Portfolio, rows)


async def signal_book(conn: Connection, mentor_id: uuid.UUID) -> Portfolio | None:
    row = await conn.fetchrow(
        "SELECT * FROM paper_portfolios WHERE user_id = $1 AND kind = 'signal_book'", mentor_id
    )
    return record_or_none(Portfolio, row)


async def reset_portfolio(conn: Connection, portfolio_id: uuid.UUID, now: datetime) -> Portfolio:
    await conn.execute(
        """UPDATE paper_orders SET status = 'cancelled', status_reason = 'portfolio reset',
               updated_at = $2, change_seq = nextval('paper_order_changes'),
               change_xid = pg_current_xact_id()
           WHERE portfolio_id = $1 AND status = ANY($3::text[])""",
        portfolio_id,
        now,
        list(OPEN_STATUSES),
    )
    await conn.execute("DELETE FROM paper_positions WHERE portfolio_id = $1", portfolio_id)
    row = await conn.fetchrow(
        """UPDATE paper_portfolios SET cash_minor = starting_cash_minor, epoch = epoch + 1,
               reset_at = $2 WHERE id = $1 RETURNING *""",
        portfolio_id,
        now,
    )
    assert row is not None
    return record(Portfolio, row)


async def share_portfolio(
    conn: Connection, portfolio_id: uuid.UUID, mentor_ids: Sequence[uuid.UUID]
) -> Portfolio:
    row = await conn.fetchrow(
        "UPDATE paper_portfolios SET shared_with = $2 WHERE id = $1 RETURNING *",
        portfolio_id,
        list(dict.fromkeys(mentor_ids)),
    )
    assert row is not None
    return record(Portfolio, row)


async def portfolio_access(conn: Connection, portfolio_id: uuid.UUID) -> PortfolioAccess | None:
    """Who owns the portfolio and whom it is shared with."""
    row = await conn.fetchrow(
        "SELECT user_id, shared_with FROM paper_portfolios WHERE id = $1", portfolio_id
    )
    return record_or_none(PortfolioAccess, row)


# --- orders -------------------------------------------------------------------------


async def insert_order(conn: Connection, **fields: Any) -> Order:
    row = await insert_row(conn, "paper_orders", fields)
    assert row is not None
    return record(Order, row)


async def order_by_client_id(
    conn: Connection, portfolio_id: uuid.UUID, client_order_id: str
) -> Order | None:
    row = await conn.fetchrow(
        "SELECT * FROM paper_orders WHERE portfolio_id = $1 AND client_order_id = $2",
        portfolio_id,
        client_order_id,
    )
    return record_or_none(Order, row)


async def get_order(conn: Connection, order_id: uuid.UUID, *, lock: bool = False) -> Order | None:
    sql = "SELECT * FROM paper_orders WHERE id = $1" + (" FOR UPDATE" if lock else "")
    return record_or_none(Order, await conn.fetchrow(sql, order_id))


async def legs_of(conn: Connection, parent_id: uuid.UUID) -> list[Order]:
    rows = await conn.fetch(
        "SELECT * FROM paper_orders WHERE parent_id = $1 ORDER BY role", parent_id
    )
    return records(Order, rows)


async def list_orders(
    conn: Connection, portfolio_id: uuid.UUID, *, open_only: bool, limit: int
) -> list[Order]:
    rows = await conn.fetch(
        """SELECT * FROM paper_orders WHERE portfolio_id = $1
               AND (NOT $2 OR status = ANY($3::text[]))
           ORDER BY created_at DESC, id LIMIT $4""",
        portfolio_id,
        open_only,
        list(OPEN_STATUSES),
        limit,
    )
    return records(Order, rows)


async def close_orders(
    conn: Connection,
    order_ids: Sequence[uuid.UUID],
    status: str,
    reason: str,
    now: datetime,
    *,
    from_statuses: Sequence[str] = OPEN_STATUSES,
) -> list[Order]:
    """Move those of `order_ids` still in `from_statuses` (the open ones) to a final
    `status`; → those changed."""
    rows = await conn.fetch(
        """UPDATE paper_orders SET status = $2, status_reason = $3, updated_at = $4,
               change_seq = nextval('paper_order_changes'),
               change_xid = pg_current_xact_id()
           WHERE id = ANY($1::uuid[]) AND status = ANY($5::text[]) RETURNING *""",
        list(order_ids),
        status,
        reason,
        now,
        list(from_statuses),
    )
    return records(Order, rows)


async def open_orders_of_signal(conn: Connection, signal_id: uuid.UUID) -> list[Order]:
    rows = await conn.fetch(
        """SELECT * FROM paper_orders WHERE signal_id = $1 AND status = ANY($2::text[])
           ORDER BY id FOR UPDATE""",
        signal_id,
        list(OPEN_STATUSES),
    )
    return records(Order, rows)


async def orders_of_signal(
    conn: Connection, signal_id: uuid.UUID, portfolio_id: uuid.UUID
) -> list[Order]:
    rows = await conn.fetch(
        """SELECT * FROM paper_orders WHERE signal_id = $1 AND portfolio_id = $2
           ORDER BY created_at, id""",
        signal_id,
        portfolio_id,
    )
    return records(Order, rows)


async def open_order_exposure(conn: Connection, portfolio_id: uuid.UUID, symbol: str) -> float:
    """Signed quantity still to fill on open entry orders, those routed to a broker
    included (bracket legs only reduce)."""
    value = await conn.fetchval(
        """SELECT coalesce(sum(CASE side WHEN 'buy' THEN 1 ELSE -1 END * (qty - filled_qty)), 0)
           FROM paper_orders WHERE portfolio_id = $1 AND symbol = $2 AND role = 'entry'
             AND status = ANY($3::text[])""",
        portfolio_id,
        symbol,
        list(PENDING_STATUSES),
    )
    return float(value or 0)


# --- fills, positions and equity, as read back ---------------------------------------


async def list_fills(
    conn: Connection, portfolio_id: uuid.UUID, epoch: int, limit: int
) -> list[Fill]:
    rows = await conn.fetch(
        """SELECT * FROM paper_fills WHERE portfolio_id = $1 AND epoch = $2
           ORDER BY bar_seq DESC, id LIMIT $3""",
        portfolio_id,
        epoch,
        limit,
    )
    return records(Fill, rows)


async def fills_of_orders(conn: Connection, order_ids: Sequence[uuid.UUID]) -> list[Fill]:
    rows = await conn.fetch(
        "SELECT * FROM paper_fills WHERE order_id = ANY($1::uuid[]) ORDER BY bar_seq, id",
        list(order_ids),
    )
    return records(Fill, rows)


async def count_fills(conn: Connection, portfolio_id: uuid.UUID, epoch: int) -> int:
    value: int = await conn.fetchval(
        "SELECT count(*) FROM paper_fills WHERE portfolio_id = $1 AND epoch = $2",
        portfolio_id,
        epoch,
    )
    return value


async def count_exits(conn: Connection, portfolio_id: uuid.UUID, epoch: int) -> int:
    """Fills of orders other than entries: each reduced or closed a position."""
    value: int = await conn.fetchval(
        """SELECT count(*) FROM paper_fills f JOIN paper_orders o ON o.id = f.order_id
           WHERE f.portfolio_id = $1 AND f.epoch = $2 AND o.role <> 'entry'""",
        portfolio_id,
        epoch,
    )
    return value


async def positions(conn: Connection, portfolio_id: uuid.UUID) -> list[HeldPosition]:
    rows = await conn.fetch(
        "SELECT * FROM paper_positions WHERE portfolio_id = $1 ORDER BY symbol", portfolio_id
    )
    return records(HeldPosition, rows)


async def position_qty(conn: Connection, portfolio_id: uuid.UUID, symbol: str) -> float:
    value = await conn.fetchval(
        "SELECT qty FROM paper_positions WHERE portfolio_id = $1 AND symbol = $2",
        portfolio_id,
        symbol,
    )
    return float(value or 0)


async def marked_positions(conn: Connection, portfolio_id: uuid.UUID) -> list[MarkedPosition]:
    rows = await conn.fetch(
        """SELECT p.symbol, p.qty,
                  coalesce((s.last_closes ->> p.symbol)::numeric, p.avg_price) AS mark
           FROM paper_positions p JOIN instruments i ON i.symbol = p.symbol
           LEFT JOIN market_feed_state s ON s.feed = i.feed
           WHERE p.portfolio_id = $1 AND p.qty <> 0""",
        portfolio_id,
    )
    return records(MarkedPosition, rows)


async def equity_curve(conn: Connection, portfolio_id: uuid.UUID, epoch: int) -> list[EquityMark]:
    rows = await conn.fetch(
        """SELECT bar_seq, market_time, equity_minor FROM paper_equity
           WHERE portfolio_id = $1 AND epoch = $2 ORDER BY bar_seq""",
        portfolio_id,
        epoch,
    )
    return records(EquityMark, rows)


async def equity_curves(conn: Connection, since: datetime | None, kind: str) -> list[EquityCurve]:
    """Every current-epoch curve of portfolios of `kind`, for leaderboards."""
    rows = await conn.fetch(
        """SELECT p.id, p.user_id, p.name, p.starting_cash_minor,
                  array_agg(e.equity_minor ORDER BY e.bar_seq) AS curve
           FROM paper_portfolios p
           JOIN paper_equity e ON e.portfolio_id = p.id AND e.epoch = p.epoch
           WHERE p.kind = $2 AND ($1::timestamptz IS NULL OR e.recorded_at >= $1)
           GROUP BY p.id""",
        since,
        kind,
    )
    return records(EquityCurve, rows)


async def close_month(
    conn: Connection, month_start: datetime, month_end: datetime, now: datetime
) -> list[MonthResult]:
    """Record the month [month_start, month_end) of every member's paper portfolio marked
    in it, once: its profit or loss is, for each epoch (a reset starts a new one) marked in
    the month, the last equity marked in it less the last marked before it (or the
    epoch's starting cash). Returns the portfolios closed now, not those closed before."""
    rows = await conn.fetch(
        """WITH closing AS (
               SELECT DISTINCT ON (e.portfolio_id, e.epoch)
                      e.portfolio_id, e.epoch, e.equity_minor
               FROM paper_equity e
               JOIN paper_portfolios p ON p.id = e.portfolio_id AND p.kind = 'personal'
               WHERE e.recorded_at >= $1 AND e.recorded_at < $2
               ORDER BY e.portfolio_id, e.epoch, e.recorded_at DESC, e.bar_seq DESC
           ),
           results AS (
               SELECT c.portfolio_id, p.user_id, rtrim(p.currency) AS currency,
                      sum(c.equity_minor - coalesce(
                          (SELECT b.equity_minor FROM paper_equity b
                           WHERE b.portfolio_id = c.portfolio_id AND b.epoch = c.epoch
                             AND b.recorded_at < $1
                           ORDER BY b.recorded_at DESC, b.bar_seq DESC LIMIT 1),
                          p.starting_cash_minor))::bigint AS pnl_minor
               FROM closing c JOIN paper_portfolios p ON p.id = c.portfolio_id
               GROUP BY c.portfolio_id, p.user_id, p.currency
           )
           INSERT INTO paper_month_closes
               (portfolio_id, month, user_id, currency, pnl_minor, closed_at)
           SELECT portfolio_id, $4::date, user_id, currency, pnl_minor, $3
           FROM results
           ON CONFLICT (portfolio_id, month) DO NOTHING
           RETURNING portfolio_id, user_id, rtrim(currency) AS currency, pnl_minor""",
        month_start,
        month_end,
        now,
        month_start.date(),
    )
    return records(MonthResult, rows)
