"""An instrument as the registry holds it and the API shows it."""

from __future__ import annotations

from enum import StrEnum

from dracarys.wire import Schema


class AssetClass(StrEnum):
    EQUITY = "equity"
    FX = "fx"
    CRYPTO = "crypto"
    FUTURE = "future"
    INDEX = "index"


class Calendar(StrEnum):
    ALWAYS = "always"  # round the clock, every day (crypto)
    WEEKDAYS = "weekdays"  # Monday to Friday, between the session times in its timezone


class Instrument(Schema):
    """`qty_step` is the lot size: a quantity is a whole number of lots, at least
    `min_qty`; a price is a whole number of `tick_size`. `feed` is the market feed that
    prices it live (None: registered for market data and backtests only)."""

    symbol: str
    name: str
    asset_class: AssetClass
    currency: str
    tick_size: float
    qty_step: float
    min_qty: float
    feed: str | None
    calendar: Calendar
    timezone: str
    session_opens_min: int  # minutes after local midnight
    session_closes_min: int
