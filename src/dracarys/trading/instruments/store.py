"""The instruments registry's SQL. Rows come back as structs."""

from __future__ import annotations

from dracarys.db import Connection, record_or_none, records
from dracarys.trading.instruments.models import Instrument


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
    """Register a feed's symbol (or move it to `feed`), keeping what the registry says
    of its name, class and calendar."""
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


async def assign_feed(conn: Connection, symbol: str, feed: str) -> None:
    """The feed that prices `symbol` from now on (its last close is read from there)."""
    await conn.execute("UPDATE instruments SET feed = $2 WHERE symbol = $1", symbol, feed)


async def get_instrument(conn: Connection, symbol: str) -> Instrument | None:
    row = await conn.fetchrow("SELECT * FROM instruments WHERE symbol = $1", symbol)
    return record_or_none(Instrument, row)


async def list_instruments(conn: Connection) -> list[Instrument]:
    return records(Instrument, await conn.fetch("SELECT * FROM instruments ORDER BY symbol"))


async def broker_symbol(conn: Connection, symbol: str, broker: str) -> str | None:
    """The symbol `broker` knows the instrument `symbol` by; None when it lists none."""
    value: str | None = await conn.fetchval(
        "SELECT broker_symbol FROM instrument_broker_symbols WHERE symbol = $1 AND broker = $2",
        symbol,
        broker,
    )
    return value


async def set_broker_symbol(conn: Connection, symbol: str, broker: str, broker_symbol: str) -> None:
    await conn.execute(
        """INSERT INTO instrument_broker_symbols (symbol, broker, broker_symbol)
           VALUES ($1, $2, $3)
           ON CONFLICT (symbol, broker) DO UPDATE SET broker_symbol = EXCLUDED.broker_symbol""",
        symbol,
        broker,
        broker_symbol,
    )
