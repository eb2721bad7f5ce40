"""Trading's SQL: the only place in the domain that speaks to PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import asyncpg

from dracarys.db import Connection
from dracarys.trading.models import (
    OPEN_STATUSES,
    Acknowledgement,
    Disclaimer,
    FeedPlan,
    Fill,
    Mirror,
    Order,
    Portfolio,
    Signal,
    Subscription,
)

Row = asyncpg.Record


def _f(value: Decimal | float | None) -> float | None:
    return None if value is None else float(value)


def num(value: float | None) -> float | None:
    """A float as it is written to a numeric column: no binary noise past 10 decimals."""
    return None if value is None else round(value, 10)


async def _insert(
    conn: Connection, table: str, fields: dict[str, Any], *, on_conflict: str = ""
) -> Row | None:
    """INSERT one row of `fields` (column names are ours, never a client's) → the row,
    or None when `on_conflict` skipped it."""
    columns = ", ".join(fields)
    placeholders = ", ".join(f"${k + 1}" for k in range(len(fields)))
    values = [num(v) if isinstance(v, float) else v for v in fields.values()]
    return await conn.fetchrow(
        f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) {on_conflict} RETURNING *",
        *values,
    )


# --- instruments and feeds ----------------------------------------------------------


class Instrument:
    __slots__ = ("currency", "feed", "min_qty", "qty_step", "symbol", "tick_size")

    def __init__(self, row: Row) -> None:
        self.symbol: str = row["symbol"]
        self.feed: str = row["feed"]
        self.tick_size = float(row["tick_size"])
        self.qty_step = float(row["qty_step"])
        self.min_qty = float(row["min_qty"])
        self.currency: str = row["currency"]


async def upsert_instrument(
    conn: Connection,
    *,
    symbol: str,
    feed: str,
    tick_size: float,
    qty_step: float,
    min_qty: float,
    currency: str = "USD",
) -> None:
    await conn.execute(
        """INSERT INTO instruments (symbol, feed, tick_size, qty_step, min_qty, currency)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (symbol) DO UPDATE SET feed = EXCLUDED.feed,
               tick_size = EXCLUDED.tick_size, qty_step = EXCLUDED.qty_step,
               min_qty = EXCLUDED.min_qty, currency = EXCLUDED.currency""",
        symbol,
        feed,
        tick_size,
        qty_step,
        min_qty,
        currency,
    )


async def get_instrument(conn: Connection, symbol: str) -> Instrument | None:
    row = await conn.fetchrow("SELECT * FROM instruments WHERE symbol = $1", symbol)
    return None if row is None else Instrument(row)


async def feed_state(conn: Connection, feed: str) -> Row | None:
    return await conn.fetchrow("SELECT * FROM market_feed_state WHERE feed = $1", feed)


async def save_feed_state(
    conn: Connection,
    feed: str,
    seq: int,
    market_time: datetime,
    closes: dict[str, float],
    now: datetime,
) -> None:
    await conn.execute(
        """INSERT INTO market_feed_state (feed, last_seq, last_market_time, last_closes, updated_at)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (feed) DO UPDATE SET last_seq = EXCLUDED.last_seq,
               last_market_time = EXCLUDED.last_market_time,
               last_closes = market_feed_state.last_closes || EXCLUDED.last_closes,
               updated_at = EXCLUDED.updated_at""",
        feed,
        seq,
        market_time,
        closes,
        now,
    )


async def last_close(conn: Connection, symbol: str) -> tuple[float, datetime] | None:
    row = await conn.fetchrow(
        """SELECT s.last_closes ->> i.symbol AS close, s.last_market_time
           FROM instruments i JOIN market_feed_state s ON s.feed = i.feed
           WHERE i.symbol = $1""",
        symbol,
    )
    if row is None or row["close"] is None:
        return None
    return float(row["close"]), row["last_market_time"]


# --- users --------------------------------------------------------------------------


async def risk_profile(conn: Connection, user_id: uuid.UUID) -> tuple[int, str | None]:
    """(KYC level, onboarding experience level) of a user."""
    row = await conn.fetchrow(
        """SELECT u.kyc_level, p.experience_level FROM users u
           LEFT JOIN user_profiles p ON p.user_id = u.id WHERE u.id = $1""",
        user_id,
    )
    if row is None:
        return 0, None
    return int(row["kyc_level"]), row["experience_level"]


async def user_role(conn: Connection, user_id: uuid.UUID) -> str | None:
    role: str | None = await conn.fetchval("SELECT role FROM users WHERE id = $1", user_id)
    return role


# --- disclaimers --------------------------------------------------------------------


async def current_disclaimer(conn: Connection) -> Disclaimer:
    row = await conn.fetchrow("SELECT * FROM risk_disclaimers ORDER BY version DESC LIMIT 1")
    assert row is not None, "migration 0400 publishes version 1"
    return Disclaimer(version=row["version"], body=row["body"], published_at=row["published_at"])


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
    return Acknowledgement(
        user_id=row["user_id"], version=row["version"], acknowledged_at=row["acknowledged_at"]
    )


async def has_acknowledged(conn: Connection, user_id: uuid.UUID, version: int) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT 1 FROM disclaimer_acknowledgements WHERE user_id = $1 AND version = $2",
            user_id,
            version,
        )
    )


# --- portfolios ---------------------------------------------------------------------


def portfolio_of(row: Row) -> Portfolio:
    return Portfolio(
        id=row["id"],
        user_id=row["user_id"],
        name=row["name"],
        kind=row["kind"],
        currency=row["currency"],
        starting_cash_minor=row["starting_cash_minor"],
        cash_minor=row["cash_minor"],
        preset=row["preset"],
        max_position_pct=float(row["max_position_pct"]),
        shared_with=list(row["shared_with"]),
        epoch=row["epoch"],
        created_at=row["created_at"],
        reset_at=row["reset_at"],
    )


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
    return portfolio_of(row)


async def get_portfolio(
    conn: Connection, portfolio_id: uuid.UUID, *, lock: bool = False
) -> Portfolio | None:
    sql = "SELECT * FROM paper_portfolios WHERE id = $1" + (" FOR UPDATE" if lock else "")
    row = await conn.fetchrow(sql, portfolio_id)
    return None if row is None else portfolio_of(row)


async def list_portfolios(conn: Connection, user_id: uuid.UUID) -> list[Portfolio]:
    rows = await conn.fetch(
        "SELECT * FROM paper_portfolios WHERE user_id = $1 ORDER BY created_at, id", user_id
    )
    return [portfolio_of(r) for r in rows]


async def signal_book(conn: Connection, mentor_id: uuid.UUID) -> Portfolio | None:
    row = await conn.fetchrow(
        "SELECT * FROM paper_portfolios WHERE user_id = $1 AND kind = 'signal_book'", mentor_id
    )
    return None if row is None else portfolio_of(row)


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
    return portfolio_of(row)


async def share_portfolio(
    conn: Connection, portfolio_id: uuid.UUID, mentor_ids: Sequence[uuid.UUID]
) -> Portfolio:
    row = await conn.fetchrow(
        "UPDATE paper_portfolios SET shared_with = $2 WHERE id = $1 RETURNING *",
        portfolio_id,
        list(dict.fromkeys(mentor_ids)),
    )
    assert row is not None
    return portfolio_of(row)


async def portfolio_viewers(
    conn: Connection, user_ids: Sequence[uuid.UUID], portfolio_id: uuid.UUID
) -> set[uuid.UUID]:
    """Those of `user_ids` who may view the portfolio: its owner and the mentors it is
    shared with."""
    row = await conn.fetchrow(
        "SELECT user_id, shared_with FROM paper_portfolios WHERE id = $1", portfolio_id
    )
    if row is None:
        return set()
    viewers = {row["user_id"], *(row["shared_with"] or ())}
    return {u for u in user_ids if u in viewers}


async def mentors_exist(conn: Connection, ids: Sequence[uuid.UUID]) -> int:
    count: int = await conn.fetchval(
        "SELECT count(*) FROM users WHERE id = ANY($1::uuid[]) AND role = 'mentor'", list(ids)
    )
    return count


# --- orders -------------------------------------------------------------------------


def order_of(row: Row) -> Order:
    return Order(
        id=row["id"],
        portfolio_id=row["portfolio_id"],
        symbol=row["symbol"],
        side=row["side"],
        kind=row["kind"],
        role=row["role"],
        qty=float(row["qty"]),
        limit_price=_f(row["limit_price"]),
        stop_price=_f(row["stop_price"]),
        tif=row["tif"],
        preset=row["preset"],
        parent_id=row["parent_id"],
        status=row["status"],
        filled_qty=float(row["filled_qty"]),
        avg_fill_price=_f(row["avg_fill_price"]),
        status_reason=row["status_reason"],
        signal_id=row["signal_id"],
        replaces_id=row["replaces_id"],
        client_order_id=row["client_order_id"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


async def insert_order(conn: Connection, **fields: Any) -> Order:
    row = await _insert(conn, "paper_orders", fields)
    assert row is not None
    return order_of(row)


async def order_by_client_id(
    conn: Connection, portfolio_id: uuid.UUID, client_order_id: str
) -> Order | None:
    row = await conn.fetchrow(
        "SELECT * FROM paper_orders WHERE portfolio_id = $1 AND client_order_id = $2",
        portfolio_id,
        client_order_id,
    )
    return None if row is None else order_of(row)


async def get_order(conn: Connection, order_id: uuid.UUID, *, lock: bool = False) -> Order | None:
    sql = "SELECT * FROM paper_orders WHERE id = $1" + (" FOR UPDATE" if lock else "")
    row = await conn.fetchrow(sql, order_id)
    return None if row is None else order_of(row)


async def legs_of(conn: Connection, parent_id: uuid.UUID) -> list[Order]:
    rows = await conn.fetch(
        "SELECT * FROM paper_orders WHERE parent_id = $1 ORDER BY role", parent_id
    )
    return [order_of(r) for r in rows]


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
    return [order_of(r) for r in rows]


async def close_orders(
    conn: Connection, order_ids: Sequence[uuid.UUID], status: str, reason: str, now: datetime
) -> list[Order]:
    """Move the still-open ones of `order_ids` to a final `status`; → those changed."""
    rows = await conn.fetch(
        """UPDATE paper_orders SET status = $2, status_reason = $3, updated_at = $4,
               change_seq = nextval('paper_order_changes'),
               change_xid = pg_current_xact_id()
           WHERE id = ANY($1::uuid[]) AND status = ANY($5::text[]) RETURNING *""",
        list(order_ids),
        status,
        reason,
        now,
        list(OPEN_STATUSES),
    )
    return [order_of(r) for r in rows]


async def open_orders_of_signal(conn: Connection, signal_id: uuid.UUID) -> list[Order]:
    rows = await conn.fetch(
        """SELECT * FROM paper_orders WHERE signal_id = $1 AND status = ANY($2::text[])
           ORDER BY id FOR UPDATE""",
        signal_id,
        list(OPEN_STATUSES),
    )
    return [order_of(r) for r in rows]


async def orders_of_signal(
    conn: Connection, signal_id: uuid.UUID, portfolio_id: uuid.UUID
) -> list[Order]:
    rows = await conn.fetch(
        """SELECT * FROM paper_orders WHERE signal_id = $1 AND portfolio_id = $2
           ORDER BY created_at, id""",
        signal_id,
        portfolio_id,
    )
    return [order_of(r) for r in rows]


async def engine_orders(conn: Connection, symbols: Sequence[str], horizon: int | None) -> list[Row]:
    """Open orders of these symbols (`horizon` None), or every order of them changed by
    a transaction at or past `horizon`; with what the engine needs to rebuild a bracket
    leg's remaining quantity."""
    return await conn.fetch(
        """SELECT o.*, p.user_id,
                  parent.filled_qty AS parent_filled,
                  (SELECT coalesce(sum(s.filled_qty), 0) FROM paper_orders s
                    WHERE s.parent_id = o.parent_id AND s.id <> o.id
                      AND o.role IN ('stop_loss', 'take_profit')
                      AND s.role IN ('stop_loss', 'take_profit')) AS sibling_filled
           FROM paper_orders o
           JOIN paper_portfolios p ON p.id = o.portfolio_id
           LEFT JOIN paper_orders parent ON parent.id = o.parent_id
           WHERE o.symbol = ANY($1::text[])
             AND CASE WHEN $2::text IS NULL THEN o.status = ANY($3::text[])
                      ELSE o.change_xid >= $2::text::xid8 END
           ORDER BY o.change_seq""",
        list(symbols),
        None if horizon is None else str(horizon),
        list(OPEN_STATUSES),
    )


async def snapshot_horizon(conn: Connection) -> int:
    """The oldest transaction still running: every later commit is at or past it."""
    value: str = await conn.fetchval("SELECT pg_snapshot_xmin(pg_current_snapshot())::text")
    return int(value)


async def set_day_end(conn: Connection, order_ids: Sequence[uuid.UUID], moment: datetime) -> None:
    """Fix the trading day of DAY orders placed before the feed had a market time."""
    await conn.execute(
        "UPDATE paper_orders SET day_ends_at = $2 WHERE id = ANY($1::uuid[])",
        list(order_ids),
        moment,
    )


async def cancel_unfilled_legs(
    conn: Connection, parent_ids: Sequence[uuid.UUID], now: datetime
) -> list[Order]:
    """Bracket legs still waiting for an entry that ended without a fill."""
    rows = await conn.fetch(
        """UPDATE paper_orders SET status = 'cancelled',
               status_reason = 'the entry ended without a fill', updated_at = $2,
               change_seq = nextval('paper_order_changes'),
               change_xid = pg_current_xact_id()
           WHERE parent_id = ANY($1::uuid[]) AND status = 'waiting_parent' RETURNING *""",
        list(parent_ids),
        now,
    )
    return [order_of(r) for r in rows]


async def expire_due_orders(conn: Connection, symbols: Sequence[str], now: datetime) -> list[Order]:
    rows = await conn.fetch(
        """UPDATE paper_orders SET status = 'expired', status_reason = 'signal expired',
               updated_at = $2, change_seq = nextval('paper_order_changes'),
               change_xid = pg_current_xact_id()
           WHERE symbol = ANY($1::text[]) AND expires_at <= $2 AND status = ANY($3::text[])
           RETURNING *""",
        list(symbols),
        now,
        list(OPEN_STATUSES),
    )
    return [order_of(r) for r in rows]


async def lock_orders(conn: Connection, order_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Row]:
    rows = await conn.fetch(
        """SELECT o.*, p.user_id FROM paper_orders o
           JOIN paper_portfolios p ON p.id = o.portfolio_id
           WHERE o.id = ANY($1::uuid[]) ORDER BY o.id FOR UPDATE OF o""",
        list(order_ids),
    )
    return {r["id"]: r for r in rows}


async def apply_order_changes(conn: Connection, changes: Sequence[tuple[Any, ...]]) -> list[Order]:
    """(id, status, filled_qty, avg_fill_price, qty, reason, now) per order."""
    rows = await conn.fetch(
        """UPDATE paper_orders o SET status = c.status, filled_qty = c.filled_qty,
               avg_fill_price = c.avg_price, qty = c.qty,
               status_reason = coalesce(c.reason, o.status_reason),
               updated_at = c.now, change_seq = nextval('paper_order_changes'),
               change_xid = pg_current_xact_id()
           FROM unnest($1::uuid[], $2::text[], $3::numeric[], $4::numeric[], $5::numeric[],
                       $6::text[], $7::timestamptz[])
                AS c(id, status, filled_qty, avg_price, qty, reason, now)
           WHERE o.id = c.id RETURNING o.*""",
        [c[0] for c in changes],
        [c[1] for c in changes],
        [num(c[2]) for c in changes],
        [num(c[3]) for c in changes],
        [num(c[4]) for c in changes],
        [c[5] for c in changes],
        [c[6] for c in changes],
    )
    return [order_of(r) for r in rows]


# --- fills, positions, cash, equity -------------------------------------------------


def fill_of(row: Row) -> Fill:
    return Fill(
        id=row["id"],
        order_id=row["order_id"],
        portfolio_id=row["portfolio_id"],
        symbol=row["symbol"],
        side=row["side"],
        qty=float(row["qty"]),
        price=float(row["price"]),
        reference_price=float(row["reference_price"]),
        slippage_bps=float(row["slippage_bps"]),
        preset=row["preset"],
        bar_seq=row["bar_seq"],
        market_time=row["market_time"],
        filled_at=row["filled_at"],
    )


async def insert_fills(conn: Connection, fills: Sequence[dict[str, Any]]) -> list[Fill]:
    if not fills:
        return []
    keys = (
        "id", "order_id", "portfolio_id", "epoch", "symbol", "side", "qty", "price",
        "reference_price", "slippage_bps", "preset", "feed", "bar_seq", "market_time", "filled_at",
    )  # fmt: skip
    rows = await conn.fetch(
        """INSERT INTO paper_fills (id, order_id, portfolio_id, epoch, symbol, side, qty, price,
               reference_price, slippage_bps, preset, feed, bar_seq, market_time, filled_at)
           SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::int[], $5::text[],
               $6::text[], $7::numeric[], $8::numeric[], $9::numeric[], $10::numeric[],
               $11::text[], $12::text[], $13::bigint[], $14::timestamptz[], $15::timestamptz[])
           ON CONFLICT DO NOTHING RETURNING *""",
        *[[num(f[k]) if isinstance(f[k], float) else f[k] for f in fills] for k in keys],
    )
    return [fill_of(r) for r in rows]


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
    return [fill_of(r) for r in rows]


async def fills_of_orders(conn: Connection, order_ids: Sequence[uuid.UUID]) -> list[Fill]:
    rows = await conn.fetch(
        "SELECT * FROM paper_fills WHERE order_id = ANY($1::uuid[]) ORDER BY bar_seq, id",
        list(order_ids),
    )
    return [fill_of(r) for r in rows]


async def count_fills(conn: Connection, portfolio_id: uuid.UUID, epoch: int) -> int:
    value: int = await conn.fetchval(
        "SELECT count(*) FROM paper_fills WHERE portfolio_id = $1 AND epoch = $2",
        portfolio_id,
        epoch,
    )
    return value


async def lock_positions(
    conn: Connection, keys: Sequence[tuple[uuid.UUID, str]]
) -> dict[tuple[uuid.UUID, str], Row]:
    rows = await conn.fetch(
        """SELECT p.* FROM paper_positions p
           JOIN unnest($1::uuid[], $2::text[]) AS k(portfolio_id, symbol)
             ON k.portfolio_id = p.portfolio_id AND k.symbol = p.symbol
           ORDER BY p.portfolio_id, p.symbol FOR UPDATE OF p""",
        [k[0] for k in keys],
        [k[1] for k in keys],
    )
    return {(r["portfolio_id"], r["symbol"]): r for r in rows}


async def save_positions(conn: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
    """(portfolio_id, symbol, qty, avg_price, realized_pnl_minor, now) per position."""
    await conn.execute(
        """INSERT INTO paper_positions
               (portfolio_id, symbol, qty, avg_price, realized_pnl_minor, updated_at)
           SELECT * FROM unnest($1::uuid[], $2::text[], $3::numeric[], $4::numeric[],
                                $5::bigint[], $6::timestamptz[])
           ON CONFLICT (portfolio_id, symbol) DO UPDATE SET qty = EXCLUDED.qty,
               avg_price = EXCLUDED.avg_price, realized_pnl_minor = EXCLUDED.realized_pnl_minor,
               updated_at = EXCLUDED.updated_at""",
        [r[0] for r in rows],
        [r[1] for r in rows],
        [num(r[2]) for r in rows],
        [num(r[3]) for r in rows],
        [r[4] for r in rows],
        [r[5] for r in rows],
    )


async def add_cash(conn: Connection, deltas: dict[uuid.UUID, int]) -> None:
    await conn.execute(
        """UPDATE paper_portfolios p SET cash_minor = p.cash_minor + d.delta
           FROM unnest($1::uuid[], $2::bigint[]) AS d(id, delta) WHERE p.id = d.id""",
        list(deltas),
        list(deltas.values()),
    )


async def positions(conn: Connection, portfolio_id: uuid.UUID) -> list[Row]:
    return await conn.fetch(
        "SELECT * FROM paper_positions WHERE portfolio_id = $1 ORDER BY symbol", portfolio_id
    )


async def position_qty(conn: Connection, portfolio_id: uuid.UUID, symbol: str) -> float:
    value = await conn.fetchval(
        "SELECT qty FROM paper_positions WHERE portfolio_id = $1 AND symbol = $2",
        portfolio_id,
        symbol,
    )
    return float(value or 0)


async def open_order_exposure(conn: Connection, portfolio_id: uuid.UUID, symbol: str) -> float:
    """Signed quantity still to fill on open entry orders (bracket legs only reduce)."""
    value = await conn.fetchval(
        """SELECT coalesce(sum(CASE side WHEN 'buy' THEN 1 ELSE -1 END * (qty - filled_qty)), 0)
           FROM paper_orders WHERE portfolio_id = $1 AND symbol = $2 AND role = 'entry'
             AND status = ANY($3::text[])""",
        portfolio_id,
        symbol,
        list(OPEN_STATUSES),
    )
    return float(value or 0)


async def marked_positions(
    conn: Connection, portfolio_id: uuid.UUID
) -> list[tuple[str, float, float]]:
    """(symbol, qty, last close or avg price) of the open positions."""
    rows = await conn.fetch(
        """SELECT p.symbol, p.qty,
                  coalesce((s.last_closes ->> p.symbol)::numeric, p.avg_price) AS mark
           FROM paper_positions p JOIN instruments i ON i.symbol = p.symbol
           LEFT JOIN market_feed_state s ON s.feed = i.feed
           WHERE p.portfolio_id = $1 AND p.qty <> 0""",
        portfolio_id,
    )
    return [(r["symbol"], float(r["qty"]), float(r["mark"])) for r in rows]


async def record_equity(
    conn: Connection,
    seq: int,
    market_time: datetime,
    closes: dict[str, float],
    now: datetime,
) -> list[Row]:
    """Mark every portfolio that has traded to the closes; → (portfolio_id, equity_minor)."""
    return await conn.fetch(
        """INSERT INTO paper_equity
               (portfolio_id, epoch, bar_seq, market_time, equity_minor, recorded_at)
           SELECT p.id, p.epoch, $1, $2,
                  p.cash_minor + coalesce(
                      round(sum(pos.qty * coalesce(px.close, pos.avg_price)) * 100), 0)::bigint,
                  $5
           FROM paper_portfolios p
           LEFT JOIN paper_positions pos ON pos.portfolio_id = p.id AND pos.qty <> 0
           LEFT JOIN unnest($3::text[], $4::numeric[]) AS px(symbol, close)
             ON px.symbol = pos.symbol
           WHERE EXISTS (SELECT 1 FROM paper_orders o
                         WHERE o.portfolio_id = p.id AND o.epoch = p.epoch)
           GROUP BY p.id
           ON CONFLICT DO NOTHING
           RETURNING portfolio_id, equity_minor""",
        seq,
        market_time,
        list(closes),
        [num(v) for v in closes.values()],
        now,
    )


async def equity_curve(
    conn: Connection, portfolio_id: uuid.UUID, epoch: int, since: datetime | None = None
) -> list[Row]:
    return await conn.fetch(
        """SELECT bar_seq, market_time, equity_minor FROM paper_equity
           WHERE portfolio_id = $1 AND epoch = $2 AND ($3::timestamptz IS NULL OR recorded_at >= $3)
           ORDER BY bar_seq""",
        portfolio_id,
        epoch,
        since,
    )


async def equity_curves(conn: Connection, since: datetime | None, kind: str) -> list[Row]:
    """Every current-epoch curve of portfolios of `kind`, for leaderboards."""
    return await conn.fetch(
        """SELECT p.id, p.user_id, p.name, p.starting_cash_minor,
                  array_agg(e.equity_minor ORDER BY e.bar_seq) AS curve
           FROM paper_portfolios p
           JOIN paper_equity e ON e.portfolio_id = p.id AND e.epoch = p.epoch
           WHERE p.kind = $2 AND ($1::timestamptz IS NULL OR e.recorded_at >= $1)
           GROUP BY p.id""",
        since,
        kind,
    )


# --- signals ------------------------------------------------------------------------


def signal_of(row: Row) -> Signal:
    return Signal(
        id=row["id"],
        mentor_id=row["mentor_id"],
        chain_seq=row["chain_seq"],
        symbol=row["symbol"],
        side=row["side"],
        order_type=row["order_type"],
        entry_price=_f(row["entry_price"]),
        stop_loss=_f(row["stop_loss"]),
        take_profit=_f(row["take_profit"]),
        size_hint_pct=float(row["size_hint_pct"]),
        rationale=row["rationale"],
        expires_at=row["expires_at"],
        corrects_id=row["corrects_id"],
        created_at=row["created_at"],
        prev_hash=None if row["prev_hash"] is None else bytes(row["prev_hash"]).hex(),
        hash=bytes(row["hash"]).hex(),
    )


async def lock_signal_chain(conn: Connection, mentor_id: uuid.UUID) -> Row | None:
    """Serialise a mentor's appends and return the chain head."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended($1::uuid::text, 400))", mentor_id
    )
    return await conn.fetchrow(
        "SELECT * FROM signals WHERE mentor_id = $1 ORDER BY chain_seq DESC LIMIT 1", mentor_id
    )


async def insert_signal(conn: Connection, **fields: Any) -> Signal:
    row = await _insert(conn, "signals", fields)
    assert row is not None
    return signal_of(row)


async def get_signal(conn: Connection, signal_id: uuid.UUID) -> Signal | None:
    row = await conn.fetchrow("SELECT * FROM signals WHERE id = $1", signal_id)
    return None if row is None else signal_of(row)


async def signal_chain(conn: Connection, mentor_id: uuid.UUID) -> list[Row]:
    return await conn.fetch(
        "SELECT * FROM signals WHERE mentor_id = $1 ORDER BY chain_seq", mentor_id
    )


async def list_signals(conn: Connection, mentor_id: uuid.UUID, limit: int) -> list[Signal]:
    rows = await conn.fetch(
        "SELECT * FROM signals WHERE mentor_id = $1 ORDER BY chain_seq DESC LIMIT $2",
        mentor_id,
        limit,
    )
    return [signal_of(r) for r in rows]


async def is_corrected(conn: Connection, signal_id: uuid.UUID) -> bool:
    return bool(await conn.fetchval("SELECT 1 FROM signals WHERE corrects_id = $1", signal_id))


async def insert_outcome(conn: Connection, **fields: Any) -> bool:
    row = await _insert(
        conn, "signal_outcomes", fields, on_conflict="ON CONFLICT (signal_id) DO NOTHING"
    )
    return row is not None


async def outcomes(conn: Connection, mentor_id: uuid.UUID) -> list[Row]:
    return await conn.fetch(
        "SELECT * FROM signal_outcomes WHERE mentor_id = $1 ORDER BY closed_at, signal_id",
        mentor_id,
    )


async def signal_count(conn: Connection, mentor_id: uuid.UUID) -> int:
    value: int = await conn.fetchval("SELECT count(*) FROM signals WHERE mentor_id = $1", mentor_id)
    return value


# --- plans, subscriptions, mirrors --------------------------------------------------


async def upsert_plan(
    conn: Connection, mentor_id: uuid.UUID, price_minor: int, currency: str, now: datetime
) -> FeedPlan:
    await conn.execute(
        """INSERT INTO signal_feed_plans (mentor_id, monthly_price_minor, currency, updated_at)
           VALUES ($1, $2, $3, $4)
           ON CONFLICT (mentor_id) DO UPDATE SET monthly_price_minor = EXCLUDED.monthly_price_minor,
               currency = EXCLUDED.currency, updated_at = EXCLUDED.updated_at""",
        mentor_id,
        price_minor,
        currency,
        now,
    )
    return FeedPlan(mentor_id=mentor_id, monthly_price_minor=price_minor, currency=currency)


async def get_plan(conn: Connection, mentor_id: uuid.UUID) -> FeedPlan | None:
    row = await conn.fetchrow("SELECT * FROM signal_feed_plans WHERE mentor_id = $1", mentor_id)
    if row is None:
        return None
    return FeedPlan(
        mentor_id=mentor_id,
        monthly_price_minor=row["monthly_price_minor"],
        currency=row["currency"],
    )


def subscription_of(row: Row) -> Subscription:
    return Subscription(
        id=row["id"],
        subscriber_id=row["subscriber_id"],
        mentor_id=row["mentor_id"],
        monthly_price_minor=row["monthly_price_minor"],
        currency=row["currency"],
        status=row["status"],
        billing_status=row["billing_status"],
        mirror_portfolio_id=row["mirror_portfolio_id"],
        scaling=row["scaling"],
        scaling_value=_f(row["scaling_value"]),
        started_at=row["started_at"],
        cancelled_at=row["cancelled_at"],
        paid_until=row["paid_until"],
    )


async def insert_subscription(conn: Connection, **fields: Any) -> Subscription | None:
    row = await _insert(conn, "signal_subscriptions", fields, on_conflict="ON CONFLICT DO NOTHING")
    return None if row is None else subscription_of(row)


async def active_subscription(
    conn: Connection, subscriber_id: uuid.UUID, mentor_id: uuid.UUID
) -> Subscription | None:
    row = await conn.fetchrow(
        """SELECT * FROM signal_subscriptions
           WHERE subscriber_id = $1 AND mentor_id = $2 AND status = 'active'""",
        subscriber_id,
        mentor_id,
    )
    return None if row is None else subscription_of(row)


async def active_subscribers(
    conn: Connection, user_ids: Sequence[uuid.UUID], mentor_id: uuid.UUID
) -> set[uuid.UUID]:
    """Those of `user_ids` who may read `mentor_id`'s feed as subscribers: an active free
    or paid subscription, or a cancelled one whose paid period has not ended (the renewal
    job expires it then)."""
    rows = await conn.fetch(
        f"""SELECT subscriber_id FROM signal_subscriptions
             WHERE subscriber_id = ANY($1::uuid[]) AND mentor_id = $2 AND {_GRANTS_ACCESS}""",
        list(user_ids),
        mentor_id,
    )
    return {r["subscriber_id"] for r in rows}


_GRANTS_ACCESS = (
    "((status = 'active' AND billing_status IN ('free', 'paid'))"
    " OR (status = 'cancelled' AND billing_status = 'paid'))"
)


async def lock_subscription(conn: Connection, subscription_id: uuid.UUID) -> Row | None:
    return await conn.fetchrow(
        "SELECT * FROM signal_subscriptions WHERE id = $1 FOR UPDATE", subscription_id
    )


async def paid_time_left(
    conn: Connection, subscriber_id: uuid.UUID, mentor_id: uuid.UUID
) -> asyncpg.Record | None:
    """A cancelled subscription to this feed whose paid period has not ended."""
    return await conn.fetchrow(
        """SELECT id, paid_until, periods_paid, escrow_id FROM signal_subscriptions
           WHERE subscriber_id = $1 AND mentor_id = $2 AND status = 'cancelled'
             AND billing_status = 'paid'
           ORDER BY paid_until DESC LIMIT 1 FOR UPDATE""",
        subscriber_id,
        mentor_id,
    )


async def set_billing(
    conn: Connection,
    subscription_id: uuid.UUID,
    billing_status: str,
    *,
    paid_until: datetime | None = None,
    escrow_id: uuid.UUID | None = None,
    periods_paid: int | None = None,
) -> None:
    await conn.execute(
        """UPDATE signal_subscriptions SET billing_status = $2,
               paid_until = coalesce($3, paid_until), escrow_id = coalesce($4, escrow_id),
               periods_paid = coalesce($5, periods_paid)
           WHERE id = $1""",
        subscription_id,
        billing_status,
        paid_until,
        escrow_id,
        periods_paid,
    )


async def due_subscription_ids(conn: Connection, now: datetime) -> list[uuid.UUID]:
    """Paid subscriptions whose period has ended: to renew, retry or expire."""
    rows = await conn.fetch(
        """SELECT id FROM signal_subscriptions
           WHERE billing_status IN ('paid', 'past_due') AND paid_until <= $1
           ORDER BY paid_until, id""",
        now,
    )
    return [r["id"] for r in rows]


async def lock_subscription_key(conn: Connection, subscription_id: uuid.UUID) -> None:
    """Serialise subscribe calls carrying one idempotency key (the id derives from it)."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended($1::uuid::text, 401))", subscription_id
    )


async def get_subscription(conn: Connection, subscription_id: uuid.UUID) -> Subscription | None:
    row = await conn.fetchrow("SELECT * FROM signal_subscriptions WHERE id = $1", subscription_id)
    return None if row is None else subscription_of(row)


async def cancel_subscription(
    conn: Connection, subscription_id: uuid.UUID, now: datetime
) -> Subscription | None:
    row = await conn.fetchrow(
        """UPDATE signal_subscriptions SET status = 'cancelled', cancelled_at = $2
           WHERE id = $1 AND status = 'active' RETURNING *""",
        subscription_id,
        now,
    )
    return None if row is None else subscription_of(row)


async def list_subscriptions(conn: Connection, subscriber_id: uuid.UUID) -> list[Subscription]:
    rows = await conn.fetch(
        "SELECT * FROM signal_subscriptions WHERE subscriber_id = $1 ORDER BY started_at DESC",
        subscriber_id,
    )
    return [subscription_of(r) for r in rows]


async def active_subscriptions_of(conn: Connection, mentor_id: uuid.UUID) -> list[Row]:
    return list(
        await conn.fetch(
            """SELECT s.id, s.subscriber_id, s.started_at, s.monthly_price_minor, s.currency,
                      s.billing_status, s.mirror_portfolio_id IS NOT NULL AS mirroring
               FROM signal_subscriptions s
               WHERE s.mentor_id = $1 AND s.status = 'active'
               ORDER BY s.started_at DESC, s.id""",
            mentor_id,
        )
    )


async def mirroring_subscriptions(conn: Connection, mentor_id: uuid.UUID) -> list[Subscription]:
    rows = await conn.fetch(
        """SELECT * FROM signal_subscriptions WHERE mentor_id = $1 AND status = 'active'
             AND billing_status IN ('free', 'paid')
             AND mirror_portfolio_id IS NOT NULL ORDER BY started_at, id""",
        mentor_id,
    )
    return [subscription_of(r) for r in rows]


def mirror_of(row: Row) -> Mirror:
    return Mirror(
        subscription_id=row["subscription_id"],
        signal_id=row["signal_id"],
        portfolio_id=row["portfolio_id"],
        order_id=row["order_id"],
        qty=_f(row["qty"]),
        skipped_reason=row["skipped_reason"],
        latency_ms=row["latency_ms"],
        created_at=row["created_at"],
    )


async def insert_mirror(conn: Connection, **fields: Any) -> Mirror | None:
    row = await _insert(conn, "signal_mirrors", fields, on_conflict="ON CONFLICT DO NOTHING")
    return None if row is None else mirror_of(row)


async def list_mirrors(conn: Connection, subscription_id: uuid.UUID) -> list[Mirror]:
    rows = await conn.fetch(
        "SELECT * FROM signal_mirrors WHERE subscription_id = $1 ORDER BY created_at DESC",
        subscription_id,
    )
    return [mirror_of(r) for r in rows]
