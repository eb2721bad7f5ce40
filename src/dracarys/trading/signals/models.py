"""Mentor signals' records and the API's bodies: signals (with their hash chain), outcomes
and track records, feed plans, subscriptions and mirrored copies, and the frame published
on `signals:` streams."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

import msgspec

from dracarys.idempotency import IdempotencyKey
from dracarys.trading.models import Currency, EquityPoint, Price, Side, Symbol
from dracarys.wallet import DiscountCodeText
from dracarys.wire import Input, Schema

EDUCATION_LABEL = "Education, not investment advice."


class Scaling(StrEnum):
    SIZE_HINT = "size_hint"  # follow the mentor's % of equity
    FIXED_FRACTION = "fixed_fraction"  # value: fraction of equity as notional
    FIXED_UNITS = "fixed_units"  # value: units per signal
    MAX_RISK = "max_risk"  # value: fraction of equity lost if the stop-loss is hit


# --- signals ------------------------------------------------------------------------


class SignalRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A signal as its chain stores it: the fields hashed, and the hashes as bytes."""

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
    prev_hash: bytes | None
    hash: bytes


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


class ClosedSignal(msgspec.Struct, frozen=True, kw_only=True):
    """A signal the signal book has closed, as anyone may see it (to share it): what was
    traded, the R multiple it made and when it closed. Its prices, size and rationale stay
    with the subscribers."""

    id: uuid.UUID
    mentor_id: uuid.UUID
    symbol: str
    side: str
    r_multiple: float | None
    pnl_minor: int | None
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
    # Signals that came in as TradingView alerts, and how long each took from the alert
    # (its own time, else its arrival) to its committed broadcast: median and 95th
    # percentile (nearest rank), null until the first one.
    alert_signals: int = 0
    median_alert_latency_ms: float | None = None
    p95_alert_latency_ms: float | None = None
    label: str = EDUCATION_LABEL


class AlertLatency(msgspec.Struct, frozen=True, kw_only=True):
    """How an alert-sourced signal got out (see `record_alert_latency`)."""

    signal_id: uuid.UUID
    mentor_id: uuid.UUID
    fired_at: datetime | None
    received_at: datetime
    broadcast_at: datetime
    latency_ms: int


class TrackRecordCurve(Schema):
    """The equity of the mentor's signal book (the paper portfolio every signal is
    executed in, so the record cannot be picked after the fact), its last points;
    `currency` and `starting_cash_minor` are null and `points` empty until the first
    signal opens the book."""

    mentor_id: uuid.UUID
    currency: str | None
    starting_cash_minor: int | None
    points: list[EquityPoint]
    label: str = EDUCATION_LABEL


# --- plans and subscriptions -------------------------------------------------------


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
    # A discount code bought with points, spent on the first 30 days of a paid feed.
    discount_code: DiscountCodeText | None = None


class PaidPeriod(msgspec.Struct, frozen=True, kw_only=True):
    """A cancelled subscription's paid period that has not run out yet."""

    id: uuid.UUID
    paid_until: datetime
    periods_paid: int
    escrow_id: uuid.UUID | None


class BilledSubscription(msgspec.Struct, frozen=True, kw_only=True):
    """A subscription as its renewal sees it."""

    id: uuid.UUID
    subscriber_id: uuid.UUID
    mentor_id: uuid.UUID
    monthly_price_minor: int
    currency: str
    status: str
    billing_status: str
    paid_until: datetime | None
    periods_paid: int
    escrow_id: uuid.UUID | None


class ActiveSubscription(msgspec.Struct, frozen=True, kw_only=True):
    """An active subscription to a mentor's feed, as the mentor may see it."""

    id: uuid.UUID
    subscriber_id: uuid.UUID
    started_at: datetime
    monthly_price_minor: int
    currency: str
    billing_status: str
    mirroring: bool


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
