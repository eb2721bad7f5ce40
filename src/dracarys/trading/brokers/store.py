"""External brokers' SQL: members' linked accounts (keys sealed by the service) and the
orders routed to them. Rows come back as structs."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from dracarys.db import Connection, record, record_or_none, records
from dracarys.trading.brokers.models import BrokerLink, RoutedOrder
from dracarys.trading.store import num

# --- links --------------------------------------------------------------------------


async def get_link(
    conn: Connection, user_id: uuid.UUID, *, lock: bool = False
) -> BrokerLink | None:
    sql = "SELECT * FROM broker_links WHERE user_id = $1" + (" FOR UPDATE" if lock else "")
    return record_or_none(BrokerLink, await conn.fetchrow(sql, user_id))


async def save_link(
    conn: Connection,
    *,
    user_id: uuid.UUID,
    broker: str,
    api_key_id_sealed: bytes,
    api_secret_sealed: bytes,
    key_hint: str,
    account_number: str,
    now: datetime,
) -> BrokerLink:
    """Link (or re-link with new keys, which turns routing off until opted in again)."""
    row = await conn.fetchrow(
        """INSERT INTO broker_links (user_id, broker, api_key_id_sealed, api_secret_sealed,
               key_hint, account_number, opted_in, linked_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, false, $7, $7)
           ON CONFLICT (user_id) DO UPDATE SET broker = EXCLUDED.broker,
               api_key_id_sealed = EXCLUDED.api_key_id_sealed,
               api_secret_sealed = EXCLUDED.api_secret_sealed,
               key_hint = EXCLUDED.key_hint, account_number = EXCLUDED.account_number,
               opted_in = false, linked_at = EXCLUDED.linked_at, updated_at = EXCLUDED.updated_at
           RETURNING *""",
        user_id,
        broker,
        api_key_id_sealed,
        api_secret_sealed,
        key_hint,
        account_number,
        now,
    )
    assert row is not None
    return record(BrokerLink, row)


async def set_opt_in(
    conn: Connection, user_id: uuid.UUID, opted_in: bool, now: datetime
) -> BrokerLink | None:
    row = await conn.fetchrow(
        """UPDATE broker_links SET opted_in = $2, updated_at = $3 WHERE user_id = $1
           RETURNING *""",
        user_id,
        opted_in,
        now,
    )
    return record_or_none(BrokerLink, row)


async def delete_link(conn: Connection, user_id: uuid.UUID) -> bool:
    deleted = await conn.fetchval(
        "DELETE FROM broker_links WHERE user_id = $1 RETURNING user_id", user_id
    )
    return deleted is not None


async def links_with_open_orders(conn: Connection) -> list[BrokerLink]:
    """Linked accounts that have orders sent and not finished: whose fills to follow."""
    rows = await conn.fetch(
        """SELECT l.* FROM broker_links l
           WHERE EXISTS (SELECT 1 FROM broker_orders o WHERE o.user_id = l.user_id
                         AND o.status IN ('sent', 'partially_filled'))
           ORDER BY l.user_id"""
    )
    return records(BrokerLink, rows)


# --- routed orders ------------------------------------------------------------------


async def insert_routed_order(
    conn: Connection,
    *,
    order_id: uuid.UUID,
    user_id: uuid.UUID,
    portfolio_id: uuid.UUID,
    broker: str,
    client_order_id: str,
    symbol: str,
    broker_symbol: str | None,
    side: str,
    qty: float,
    status: str,
    reason: str | None,
    now: datetime,
) -> RoutedOrder:
    row = await conn.fetchrow(
        """INSERT INTO broker_orders (order_id, user_id, portfolio_id, broker, client_order_id,
               symbol, broker_symbol, side, qty, status, status_reason, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) RETURNING *""",
        order_id,
        user_id,
        portfolio_id,
        broker,
        client_order_id,
        symbol,
        broker_symbol,
        side,
        num(qty),
        status,
        reason,
        now,
    )
    assert row is not None
    return record(RoutedOrder, row)


async def insert_routed_leg(
    conn: Connection,
    parent: RoutedOrder,
    *,
    order_id: uuid.UUID,
    role: str,
    client_order_id: str,
    broker_order_id: str,
    side: str,
    qty: float,
    now: datetime,
) -> None:
    """A bracket leg the broker named in its answer to the entry (once: a second answer
    to the same entry adds nothing)."""
    await conn.execute(
        """INSERT INTO broker_orders (order_id, user_id, portfolio_id, broker, client_order_id,
               broker_order_id, symbol, broker_symbol, side, qty, status, role,
               parent_order_id, created_at, sent_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'sent', $11, $12, $13, $13, $13)
           ON CONFLICT (order_id) DO NOTHING""",
        order_id,
        parent.user_id,
        parent.portfolio_id,
        parent.broker,
        client_order_id,
        broker_order_id,
        parent.symbol,
        parent.broker_symbol,
        side,
        num(qty),
        role,
        parent.order_id,
        now,
    )


async def open_legs_of(conn: Connection, parent_order_id: uuid.UUID) -> list[RoutedOrder]:
    rows = await conn.fetch(
        """SELECT * FROM broker_orders WHERE parent_order_id = $1
             AND status IN ('sent', 'partially_filled') ORDER BY order_id FOR UPDATE""",
        parent_order_id,
    )
    return records(RoutedOrder, rows)


async def get_routed_order(
    conn: Connection, order_id: uuid.UUID, *, lock: bool = False
) -> RoutedOrder | None:
    sql = "SELECT * FROM broker_orders WHERE order_id = $1" + (" FOR UPDATE" if lock else "")
    return record_or_none(RoutedOrder, await conn.fetchrow(sql, order_id))


async def routed_order_by_client_id(
    conn: Connection, client_order_id: str, *, lock: bool = False
) -> RoutedOrder | None:
    sql = "SELECT * FROM broker_orders WHERE client_order_id = $1" + (" FOR UPDATE" if lock else "")
    return record_or_none(RoutedOrder, await conn.fetchrow(sql, client_order_id))


async def update_routed_order(
    conn: Connection,
    order_id: uuid.UUID,
    *,
    status: str,
    now: datetime,
    reason: str | None = None,
    broker_order_id: str | None = None,
    filled_qty: float | None = None,
    avg_fill_price: float | None = None,
    sent: bool = False,
) -> RoutedOrder:
    row = await conn.fetchrow(
        """UPDATE broker_orders SET status = $2, updated_at = $3,
               status_reason = coalesce($4, status_reason),
               broker_order_id = coalesce($5, broker_order_id),
               filled_qty = coalesce($6, filled_qty),
               avg_fill_price = coalesce($7, avg_fill_price),
               sent_at = CASE WHEN $8 THEN $3 ELSE sent_at END
           WHERE order_id = $1 RETURNING *""",
        order_id,
        status,
        now,
        reason,
        broker_order_id,
        num(filled_qty),
        num(avg_fill_price),
        sent,
    )
    assert row is not None
    return record(RoutedOrder, row)


async def list_routed_orders(conn: Connection, user_id: uuid.UUID, limit: int) -> list[RoutedOrder]:
    rows = await conn.fetch(
        """SELECT * FROM broker_orders WHERE user_id = $1
           ORDER BY created_at DESC, order_id LIMIT $2""",
        user_id,
        limit,
    )
    return records(RoutedOrder, rows)


async def open_routed_orders(conn: Connection, user_id: uuid.UUID) -> list[RoutedOrder]:
    rows = await conn.fetch(
        """SELECT * FROM broker_orders WHERE user_id = $1
             AND status IN ('sent', 'partially_filled') ORDER BY created_at""",
        user_id,
    )
    return records(RoutedOrder, rows)


async def claim_unfilled_routed_of_signal(
    conn: Connection, signal_id: uuid.UUID, now: datetime, reason: str
) -> list[RoutedOrder]:
    """Mark for withdrawal the entries of a signal routed to members' brokers that are
    not finished, have nothing filled and were not marked before; → those marked now."""
    rows = await conn.fetch(
        """WITH due AS (
               SELECT b.order_id FROM broker_orders b JOIN paper_orders o ON o.id = b.order_id
               WHERE o.signal_id = $1 AND b.role = 'entry' AND b.status IN ('pending', 'sent')
                 AND b.filled_qty = 0 AND b.cancel_requested_at IS NULL
               ORDER BY b.order_id FOR UPDATE OF b)
           UPDATE broker_orders b SET cancel_requested_at = $2, cancel_reason = $3 FROM due
           WHERE b.order_id = due.order_id RETURNING b.*""",
        signal_id,
        now,
        reason,
    )
    return sorted(records(RoutedOrder, rows), key=lambda r: r.order_id)


async def claim_expired_routed(
    conn: Connection, symbols: Sequence[str], now: datetime, reason: str
) -> list[RoutedOrder]:
    """Mark for withdrawal the routed entries of `symbols` whose signal expired by `now`,
    still open and not marked before; → those marked now."""
    rows = await conn.fetch(
        """WITH due AS (
               SELECT b.order_id FROM broker_orders b JOIN paper_orders o ON o.id = b.order_id
               WHERE o.symbol = ANY($1::text[]) AND o.expires_at <= $2 AND b.role = 'entry'
                 AND b.status IN ('pending', 'sent', 'partially_filled')
                 AND b.cancel_requested_at IS NULL
               ORDER BY b.order_id FOR UPDATE OF b)
           UPDATE broker_orders b SET cancel_requested_at = $2, cancel_reason = $3 FROM due
           WHERE b.order_id = due.order_id RETURNING b.*""",
        list(symbols),
        now,
        reason,
    )
    return sorted(records(RoutedOrder, rows), key=lambda r: r.order_id)


async def count_order_fills(conn: Connection, order_id: uuid.UUID) -> int:
    value: int = await conn.fetchval(
        "SELECT count(*) FROM paper_fills WHERE order_id = $1", order_id
    )
    return value
