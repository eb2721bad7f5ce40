"""What the paper loop reads back: orders as its book holds them (with their account's
owner and currency), the feed's position, and each traded portfolio's value at a bar."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

import msgspec


class BookOrder(msgspec.Struct, frozen=True, kw_only=True):
    """An order with its portfolio's owner and currency; `parent_filled` and
    `sibling_filled` rebuild a bracket leg's remaining quantity (when loaded for the
    book; None when locked for a tick)."""

    id: uuid.UUID
    portfolio_id: uuid.UUID
    user_id: uuid.UUID
    currency: str
    epoch: int
    symbol: str
    side: str
    kind: str
    role: str
    qty: float
    filled_qty: float
    avg_fill_price: float | None
    limit_price: float | None
    stop_price: float | None
    tif: str
    preset: str
    status: str
    parent_id: uuid.UUID | None
    signal_id: uuid.UUID | None
    eligible_at: datetime | None
    day_ends_at: datetime | None
    parent_filled: float | None = None
    sibling_filled: float | None = None


class FeedState(msgspec.Struct, frozen=True, kw_only=True):
    """How far the loop has persisted a feed: its last tick and that bar's market time."""

    feed: str
    last_seq: int
    last_market_time: datetime


class PortfolioValue(msgspec.Struct, frozen=True, kw_only=True):
    """A traded portfolio at a bar: its cash and the market value (in major units of its
    currency) of its positions at the bar's closes."""

    id: uuid.UUID
    epoch: int
    currency: str
    cash_minor: int
    market_value: Decimal
