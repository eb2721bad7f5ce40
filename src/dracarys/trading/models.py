"""Trading records and the API's request and response bodies: paper portfolios, orders,
fills, positions, performance, disclaimers, signals, subscriptions and leaderboards, and
the frames published on `portfolio:`, `signals:` and `leaderboard:` streams."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

import msgspec

from dracarys.idempotency import IdempotencyKey
from dracarys.wire import Input, Schema

EDUCATION_LABEL = "Education, not investment advice."

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


class Scaling(StrEnum):
    SIZE_HINT = "size_hint"  # follow the mentor's % of equity
    FIXED_FRACTION = "fixed_fraction"  # value: fraction of equity as notional
    FIXED_UNITS = "fixed_units"  # value: units per signal
    MAX_RISK = "max_risk"  # value: fraction of equity lost if the stop-loss is hit


OPEN_STATUSES = ("waiting_parent", "working", "triggered")


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


# --- signals ------------------------------------------------------------------------


class SignalInput(Input):
    symbol: Symbol
    side: Side
    rationale: Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]
    order_type: Literal["market", "limit", "stop"] = "market"
    entry_price: Price | None = None
    stop_loss: Price | None = None
    take_profit: Price | None = None
    size_hint_pct: Annotated[float, msgspec.Meta(gt=0, le=100)] = 5.0
    expires_at: datetime | None = None
    corrects_id: uuid.UUID | None = None


class Signal(Schema):
    id: uuid.UUID
    mentor_id: uuid.UUID
    chain_seq: int
    symbol: str
    side: str
    order_type: str
    entry_price: float | None
    stop_loss: float | None
    take_profit: float | None
    size_hint_pct: float
    rationale: str
    expires_at: datetime | None
    corrects_id: uuid.UUID | None
    created_at: datetime
    prev_hash: str | None
    hash: str
    label: str = EDUCATION_LABEL


class SignalFrame(Signal, tag="signal", tag_field="type"):
    """A mentor published a signal (`signals:{mentor_id}`)."""


class SignalList(Schema):
    signals: list[Signal]
    label: str = EDUCATION_LABEL


class ChainVerification(Schema):
    mentor_id: uuid.UUID
    signals: int
    valid: bool
    first_broken_seq: int | None


class SignalOutcome(Schema):
    """How the mentor's signal book closed one signal: the per-signal track record."""

    signal_id: uuid.UUID
    outcome: str
    entry_price: float | None
    exit_price: float | None
    qty: float | None
    pnl_minor: int | None
    r_multiple: float | None
    fill_latency_ms: int | None
    entry_slippage_bps: float | None
    closed_at: datetime


class TrackRecord(Schema):
    mentor_id: uuid.UUID
    signals: int
    closed: int
    win_rate_pct: float | None
    average_r_multiple: float | None
    sharpe: float | None
    max_drawdown_pct: float
    average_fill_latency_ms: float | None
    average_slippage_bps: float | None
    book_equity_minor: int | None
    label: str = EDUCATION_LABEL


# --- subscriptions ------------------------------------------------------------------


class FeedPlanInput(Input):
    monthly_price_minor: Annotated[int, msgspec.Meta(ge=0, le=10**10)]
    currency: Currency = "USD"


class FeedPlan(Schema):
    mentor_id: uuid.UUID
    monthly_price_minor: int
    currency: str


class MirrorSettings(Input):
    portfolio_id: uuid.UUID
    scaling: Scaling = Scaling.SIZE_HINT
    scaling_value: Annotated[float, msgspec.Meta(gt=0, le=1e9)] | None = None


class SubscribeInput(Input):
    mirror: MirrorSettings | None = None
    idempotency_key: IdempotencyKey | None = None  # or the Idempotency-Key header


class Subscription(Schema):
    id: uuid.UUID
    subscriber_id: uuid.UUID
    mentor_id: uuid.UUID
    monthly_price_minor: int
    currency: str
    status: str
    billing_status: str
    mirror_portfolio_id: uuid.UUID | None
    scaling: str | None
    scaling_value: float | None
    started_at: datetime
    cancelled_at: datetime | None
    # A paid feed: the end of the period paid for (renewed from the wallet then, unless
    # cancelled: a cancelled subscription keeps access until this moment).
    paid_until: datetime | None = None
    label: str = EDUCATION_LABEL


class Subscriber(Schema):
    """What a mentor sees of an active subscriber: no portfolio or sizing details."""

    subscription_id: uuid.UUID
    subscriber_id: uuid.UUID
    name: str
    started_at: datetime
    monthly_price_minor: int
    currency: str
    billing_status: str
    mirroring: bool


class Mirror(Schema):
    subscription_id: uuid.UUID
    signal_id: uuid.UUID
    portfolio_id: uuid.UUID
    order_id: uuid.UUID | None
    qty: float | None
    skipped_reason: str | None
    latency_ms: int
    created_at: datetime


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
