"""The paper loop's SQL: the open orders it rebuilds its book from and the changes since,
what a tick writes (order changes, fills, positions, cash, equity marks) and the feed's
position. Rows come back as structs."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from dracarys.db import Connection, record_or_none, records
from dracarys.trading.models import OPEN_STATUSES, Fill, HeldPosition, Order
from dracarys.trading.paper_loop.models import BookOrder, FeedState, PortfolioValue
from dracarys.trading.store import num

# --- the feed's position ------------------------------------------------------------


async def feed_state(conn: Connection, feed: str) -> FeedState | None:
    row = await conn.fetchrow("SELECT * FROM market_feed_state WHERE feed = $1", feed)
    return record_or_none(FeedState, row)


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


# --- the book: open orders and what changed -----------------------------------------


async def book_orders(
    conn: Connection, symbols: Sequence[str], horizon: int | None
) -> list[BookOrder]:
    """Open orders of these symbols (`horizon` None), or every order of them changed by
    a transaction at or past `horizon`; with what the loop needs to rebuild a bracket
    leg's remaining quantity."""
    rows = await conn.fetch(
        """SELECT o.*, p.user_id, p.currency,
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
    return records(BookOrder, rows)


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
    return records(Order, rows)


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
    return records(Order, rows)


async def lock_orders(
    conn: Connection, order_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, BookOrder]:
    rows = await conn.fetch(
        """SELECT o.*, p.user_id, p.currency FROM paper_orders o
           JOIN paper_portfolios p ON p.id = o.portfolio_id
           WHERE o.id = ANY($1::uuid[]) ORDER BY o.id FOR UPDATE OF o""",
        list(order_ids),
    )
    return {order.id: order for order in records(BookOrder, rows)}


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
    return records(Order, rows)


# --- fills, positions, cash, equity -------------------------------------------------


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
    return records(Fill, rows)


async def lock_positions(
    conn: Connection, keys: Sequence[tuple[uuid.UUID, str]]
) -> dict[tuple[uuid.UUID, str], HeldPosition]:
    rows = await conn.fetch(
        """SELECT p.* FROM paper_positions p
           JOIN unnest($1::uuid[], $2::text[]) AS k(portfolio_id, symbol)
             ON k.portfolio_id = p.portfolio_id AND k.symbol = p.symbol
           ORDER BY p.portfolio_id, p.symbol FOR UPDATE OF p""",
        [k[0] for k in keys],
        [k[1] for k in keys],
    )
    return {(p.portfolio_id, p.symbol): p for p in records(HeldPosition, rows)}


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


async def traded_portfolio_values(
    conn: Connection, closes: dict[str, float]
) -> list[PortfolioValue]:
    """Every portfolio that has traded in its current epoch, its positions valued at
    `closes`, else at the last close of the feed that prices them, else at their average
    price."""
    rows = await conn.fetch(
        """SELECT p.id, p.epoch, p.currency, p.cash_minor,
                  coalesce(sum(pos.qty * coalesce(
                      px.close, (s.last_closes ->> pos.symbol)::numeric, pos.avg_price
                  )), 0) AS market_value
           FROM paper_portfolios p
           LEFT JOIN paper_positions pos ON pos.portfolio_id = p.id AND pos.qty <> 0
           LEFT JOIN unnest($1::text[], $2::numeric[]) AS px(symbol, close)
             ON px.symbol = pos.symbol
           LEFT JOIN instruments i ON i.symbol = pos.symbol
           LEFT JOIN market_feed_state s ON s.feed = i.feed
           WHERE EXISTS (SELECT 1 FROM paper_orders o
                         WHERE o.portfolio_id = p.id AND o.epoch = p.epoch)
           GROUP BY p.id""",
        list(closes),
        [num(v) for v in closes.values()],
    )
    return records(PortfolioValue, rows)


async def record_equity(
    conn: Connection,
    seq: int,
    market_time: datetime,
    marks: Sequence[tuple[uuid.UUID, int, int]],
    now: datetime,
) -> list[tuple[uuid.UUID, int]]:
    """Record (portfolio_id, epoch, equity_minor) marks at bar `seq`, once per bar;
    → (portfolio_id, equity_minor) of those recorded."""
    rows = await conn.fetch(
        """INSERT INTO paper_equity
               (portfolio_id, epoch, bar_seq, market_time, equity_minor, recorded_at)
           SELECT m.id, m.epoch, $4, $5, m.equity_minor, $6
           FROM unnest($1::uuid[], $2::int[], $3::bigint[]) AS m(id, epoch, equity_minor)
           ON CONFLICT DO NOTHING
           RETURNING portfolio_id, equity_minor""",
        [m[0] for m in marks],
        [m[1] for m in marks],
        [m[2] for m in marks],
        seq,
        market_time,
        now,
    )
    return [(r["portfolio_id"], r["equity_minor"]) for r in rows]
