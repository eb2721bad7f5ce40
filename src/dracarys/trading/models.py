"""Paper trading's records and the API's request and response bodies:
portfolios, orders, fills, positions, performance, disclaimers and leaderboards, and the
frames published on `portfolio:`, `market:` and `leaderboard:` streams. (Signals and
subscriptions have theirs in `trading.signals.models`.)"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

import msgspec

from dracarys.wire import Input, Schema

Price = Annotated[float, msgspec.Meta(gt=0, lt=1e12)]
Quantity = Annotated[float, msgspec.Meta(gt=0, lt=1e12)]
Symbol = Annotated[str, msgspec.Meta(pattern=r"^[A-Z0-9][A-Z0-9._/-]{0,31}$")]
Currency = Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}$")]
ClientOrderId = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"


class OrderKind(StrEnum):
    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"
    STOP_LIMIT = "stop_limit"


class TimeInForce(StrEnum):
    GTC = "gtc"
    DAY = "day"
    IOC = "ioc"


class PresetName(StrEnum):
    FRICTIONLESS = "frictionless"
    REALISTIC = "realistic"
    HARSH = "harsh"


OPEN_STATUSES = ("waiting_parent", "working", "triggered")
# An order sent to the member's own broker (see `trading.brokers`): not in the paper
# engine's book, still to fill, so it counts towards the exposure risk checks see.
ROUTED = "routed"
PENDING_STATUSES = (*OPEN_STATUSES, ROUTED)


# --- instruments and their feed ---------------------------------------------------


class LastClose(msgspec.Struct, frozen=True, kw_only=True):
    """An instrument's last close on its feed, and the bar's market time."""

    price: float
    market_time: datetime


# --- portfolios ---------------------------------------------------------------------


class PortfolioInput(Input):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=80)]
    currency: Currency = "USD"
    starting_cash_minor: Annotated[int, msgspec.Meta(ge=100, le=10**13)] = 10_000_000
    preset: PresetName = PresetName.REALISTIC
    max_position_pct: Annotated[float, msgspec.Meta(gt=0, le=1000)] = 100.0


class ShareInput(Input):
    mentor_ids: Annotated[list[uuid.UUID], msgspec.Meta(max_length=20)]


class Portfolio(Schema):
    id: uuid.UUID
    user_id: uuid.UUID
    name: str
    kind: str
    currency: str
    starting_cash_minor: int
    cash_minor: int
    preset: str
    max_position_pct: float
    shared_with: list[uuid.UUID]
    epoch: int
    created_at: datetime
    reset_at: datetime | None


# --- orders -------------------------------------------------------------------------


class BracketLegs(Input):
    stop_loss: Price | None = None
    take_profit: Price | None = None


class OrderInput(Input):
    symbol: Symbol
    side: Side
    kind: OrderKind
    qty: Quantity
    limit_price: Price | None = None
    stop_price: Price | None = None
    tif: TimeInForce = TimeInForce.GTC
    bracket: BracketLegs | None = None
    client_order_id: ClientOrderId | None = None


class ReplaceInput(Input):
    qty: Quantity | None = None
    limit_price: Price | None = None
    stop_price: Price | None = None


class Order(Schema):
    id: uuid.UUID
    portfolio_id: uuid.UUID
    symbol: str
    side: str
    kind: str
    role: str
    qty: float
    limit_price: float | None
    stop_price: float | None
    tif: str
    preset: str
    parent_id: uuid.UUID | None
    status: str
    filled_qty: float
    avg_fill_price: float | None
    status_reason: str | None
    signal_id: uuid.UUID | None
    replaces_id: uuid.UUID | None
    client_order_id: str | None
    created_at: datetime
    updated_at: datetime


class PlacedOrder(Schema):
    order: Order
    legs: list[Order]


class Fill(Schema):
    id: uuid.UUID
    order_id: uuid.UUID
    portfolio_id: uuid.UUID
    symbol: str
    side: str
    qty: float
    price: float
    reference_price: float
    slippage_bps: float
    preset: str
    bar_seq: int
    market_time: datetime
    filled_at: datetime


class HeldPosition(msgspec.Struct, frozen=True, kw_only=True):
    """A position as stored: signed quantity, average price, P&L booked in the
    portfolio's currency."""

    portfolio_id: uuid.UUID
    symbol: str
    qty: float
    avg_price: float
    realized_pnl_minor: int


class MarkedPosition(msgspec.Struct, frozen=True, kw_only=True):
    """An open position marked at its instrument's last close (its average price before
    the feed has one)."""

    symbol: str
    qty: float
    mark: float


class MonthResult(msgspec.Struct, frozen=True, kw_only=True):
    """A member's paper portfolio's profit or loss over a closed calendar month."""

    portfolio_id: uuid.UUID
    user_id: uuid.UUID
    currency: str
    pnl_minor: int


class EquityMark(msgspec.Struct, frozen=True, kw_only=True):
    bar_seq: int
    market_time: datetime
    equity_minor: int


class EquityCurve(msgspec.Struct, frozen=True, kw_only=True):
    """A portfolio's equity marks of its current epoch, oldest first (for leaderboards)."""

    id: uuid.UUID
    user_id: uuid.UUID
    name: str
    starting_cash_minor: int
    curve: list[int]


class PortfolioAccess(msgspec.Struct, frozen=True, kw_only=True):
    user_id: uuid.UUID
    shared_with: list[uuid.UUID]


class Position(Schema):
    symbol: str
    qty: float
    avg_price: float
    realized_pnl_minor: int
    market_price: float | None
    unrealized_pnl_minor: int | None


class EquityPoint(Schema):
    bar_seq: int
    market_time: datetime
    equity_minor: int
    drawdown_pct: float


class Performance(Schema):
    portfolio_id: uuid.UUID
    currency: str
    starting_cash_minor: int
    equity_minor: int
    total_return_pct: float
    sharpe: float | None
    max_drawdown_pct: float
    trades: int
    fills: int
    open_positions: list[Position]
    equity_curve: list[EquityPoint]


# --- stream frames -------------------------------------------------------------------


class OrderFrame(Order, tag="paper.order", tag_field="type"):
    """An order changed state (`portfolio:{id}`)."""


class FillFrame(Fill, tag="paper.fill", tag_field="type"):
    """A fill (`portfolio:{id}`)."""


class EquityFrame(Schema, tag="paper.equity", tag_field="type"):
    """Equity marked at a bar's close (`portfolio:{id}`)."""

    portfolio_id: uuid.UUID
    bar_seq: int
    market_time: datetime
    equity_minor: int


class BarFrame(Schema, tag="market.bar", tag_field="type"):
    """A bar of the paper-trading feed (`market:{symbol}`)."""

    symbol: str
    seq: int
    market_time: datetime
    open: float
    high: float
    low: float
    close: float
    volume: float


# --- disclaimers ----------------------------------------------------------------------


class Disclaimer(Schema):
    version: int
    body: str
    published_at: datetime


class AcknowledgeInput(Input):
    version: Annotated[int, msgspec.Meta(ge=1)]


class Acknowledgement(Schema):
    user_id: uuid.UUID
    version: int
    acknowledged_at: datetime


# --- leaderboards -------------------------------------------------------------------

Period = Literal["day", "week", "month", "all"]


class LeaderboardEntry(Schema):
    rank: int
    id: uuid.UUID
    owner_id: uuid.UUID
    name: str
    return_pct: float
    sharpe: float | None
    max_drawdown_pct: float
    score: float


class Leaderboard(Schema):
    board: str
    period: str
    entries: list[LeaderboardEntry]
    computed_at: datetime


class LeaderboardFrame(Leaderboard, tag="leaderboard", tag_field="type"):
    """A leaderboard recomputed (`leaderboard:{board}`)."""
