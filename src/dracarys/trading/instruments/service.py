"""The registry's rules: an unknown symbol is refused everywhere with the same problem
(a 422 naming the field and the symbol, listing the known ones), and an instrument's
calendar says whether it trades at a moment."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from dracarys.db import Connection
from dracarys.errors import InvalidInput, NotFound
from dracarys.platform import Platform
from dracarys.trading.instruments import store
from dracarys.trading.instruments.models import Calendar, Instrument


async def require_instrument(conn: Connection, symbol: str, field: str = "symbol") -> Instrument:
    """The registered instrument `symbol`, or a 422 naming `field` and the symbol."""
    instrument = await store.get_instrument(conn, symbol)
    if instrument is None:
        known = [i.symbol for i in await store.list_instruments(conn)]
        raise InvalidInput(
            f"there is no instrument {symbol}; the symbols traded here are {', '.join(known)}",
            field=field,
            extra={"symbol": symbol, "symbols": known},
        )
    return instrument


async def list_instruments(platform: Platform) -> list[Instrument]:
    async with platform.pool.acquire() as conn:
        return await store.list_instruments(conn)


async def get_instrument(platform: Platform, symbol: str) -> Instrument:
    async with platform.pool.acquire() as conn:
        instrument = await store.get_instrument(conn, symbol)
    if instrument is None:
        raise NotFound(f"there is no instrument {symbol}", field="symbol", extra={"symbol": symbol})
    return instrument


def trades_at(instrument: Instrument, moment: datetime) -> bool:
    """Whether `instrument`'s calendar has it trading at `moment` (an aware datetime)."""
    if instrument.calendar is Calendar.ALWAYS:
        return True
    local = moment.astimezone(ZoneInfo(instrument.timezone))
    if local.weekday() >= 5:
        return False
    minute = local.hour * 60 + local.minute
    return instrument.session_opens_min <= minute < instrument.session_closes_min
