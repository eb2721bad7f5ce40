"""Backtest requests and results as they cross the API, and a job as a worker claims it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from dracarys.wire import Input, Schema

Status = Literal["queued", "running", "succeeded", "failed"]
Dataset = Literal["sample_daily", "sample_1m"]
MAX_SWEEP_COMBINATIONS = 400
MAX_SHARES = 20


class ExecutionInput(Input):
    """The broker side of a run (engine `ExecutionSettings`)."""

    initial_cash: Annotated[float, msgspec.Meta(gt=0, le=1e12)] = 10_000.0
    commission_bps: Annotated[float, msgspec.Meta(ge=0, le=1000)] = 0.0
    slippage_bps: Annotated[float, msgspec.Meta(ge=0, le=1000)] = 0.0
    fill: Literal["next_open", "close"] = "next_open"


# A template parameter (a window, a threshold, a multiplier) is a modest finite number;
# the bound keeps a sweep's arithmetic (stop - start, the count of steps) finite too. The
# service checks it rather than a `msgspec.Meta`: ranges and parameters sit in dicts,
# whose keys msgspec's errors cannot name (`sweep[...].start`), and the caller needs them.
PARAMETER_BOUND = 1e9


class SweepRange(Input):
    """Values `start, start + step, ...` up to `stop` inclusive; each within
    ±`PARAMETER_BOUND`, the step above 0."""

    start: float
    stop: float
    step: float


class BacktestInput(Input):
    """A template with parameters, or a full strategy spec (engine `StrategySpec`)."""

    template: str | None = None
    spec: dict[str, Any] | None = None
    params: dict[str, float] = msgspec.field(default_factory=dict)
    dataset: Dataset = "sample_daily"
    allow_short: bool = False
    execution: ExecutionInput = msgspec.field(default_factory=ExecutionInput)
    sweep: Annotated[dict[str, SweepRange], msgspec.Meta(max_length=2)] | None = None
    rank_by: str = "sharpe"
    share_with: Annotated[list[uuid.UUID], msgspec.Meta(max_length=MAX_SHARES)] = msgspec.field(
        default_factory=list
    )


class EquityPoint(Schema):
    time: int  # seconds since the epoch, UTC
    equity: float
    drawdown_pct: float  # percent below the running peak, <= 0


class TemplateInfo(Schema):
    name: str
    defaults: dict[str, float]


class BacktestSummary(Schema):
    id: uuid.UUID
    owner_id: uuid.UUID
    status: Status
    kind: str
    template: str | None
    dataset: str
    progress_done: int
    progress_total: int
    total_return_pct: float | None
    created_at: datetime
    finished_at: datetime | None


class Backtest(Schema):
    id: uuid.UUID
    owner_id: uuid.UUID
    status: Status
    kind: str
    request: dict[str, Any]
    progress_done: int
    progress_total: int
    # Metric values as the engine computed them; a metric with no value (e.g. the profit
    # factor without a losing trade) is null, never a made-up number.
    metrics: dict[str, float | int | None] | None
    equity: list[EquityPoint] | None
    trades: list[dict[str, Any]] | None
    trade_count: int | None
    sweep: dict[str, Any] | None
    error: str | None
    shared_with: list[uuid.UUID]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class ShareInput(Input):
    user_id: uuid.UUID


class ClaimedBacktest(msgspec.Struct, frozen=True, kw_only=True):
    """A job a worker has just marked running, with the request it runs."""

    id: uuid.UUID
    request: BacktestInput
