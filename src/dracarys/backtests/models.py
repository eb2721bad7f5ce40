"""Backtest requests and results as they cross the API, and a job as a worker claims it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from dracarys.wire import Input, Schema

Status = Literal["queued", "running", "succeeded", "failed"]
Dataset = Literal["sample_daily", "sample_daily_b", "sample_daily_c", "sample_1m"]
MAX_SWEEP_COMBINATIONS = 400
MAX_SHARES = 20
MAX_PORTFOLIO_DATASETS = 4
Weight = Annotated[float, msgspec.Meta(ge=0, le=1)]


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


class PortfolioInput(Input):
    """Per-asset sizing of a multi-asset run (engine `PortfolioSizing`): a `fraction` of
    equity per asset (0: an equal share), one of `target_weights` per dataset, or one
    quantity of `units` per dataset; held assets go back to their targets every
    `rebalance_every` bars (0: never)."""

    method: Literal["fraction", "target_weights", "fixed_units"] = "fraction"
    fraction: Weight = 0.0
    target_weights: Annotated[list[Weight], msgspec.Meta(max_length=MAX_PORTFOLIO_DATASETS)] = (
        msgspec.field(default_factory=list)
    )
    units: Annotated[
        list[Annotated[float, msgspec.Meta(gt=0, le=1e12)]],
        msgspec.Meta(max_length=MAX_PORTFOLIO_DATASETS),
    ] = msgspec.field(default_factory=list)
    rebalance_every: Annotated[int, msgspec.Meta(ge=0, le=100_000)] = 0


class BacktestInput(Input):
    """A template with parameters, or a full strategy spec (engine `StrategySpec`), over
    one `dataset`, or over several `datasets` sharing one cash balance (a portfolio)."""

    template: str | None = None
    spec: dict[str, Any] | None = None
    params: dict[str, float] = msgspec.field(default_factory=dict)
    dataset: Dataset = "sample_daily"
    datasets: (
        Annotated[list[Dataset], msgspec.Meta(min_length=1, max_length=MAX_PORTFOLIO_DATASETS)]
        | None
    ) = None
    portfolio: PortfolioInput | None = None
    # An uploaded market dataset (dracarys.marketdata) the submitter may read; when
    # given, the run uses it instead of `dataset`.
    dataset_id: uuid.UUID | None = None
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
    # A portfolio's symbols, one row each: contribution (money and percent of the starting
    # cash), round trips, fills, fees, exposure, buys the cash could not pay in full.
    assets: list[dict[str, Any]] | None
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


class LeasedChunk(msgspec.Struct, frozen=True, kw_only=True):
    """A sweep chunk a worker holds the lease of: combinations `first_combination` up to
    `stop_combination` of the sweep, leased for the `attempts`-th time."""

    chunk: int
    first_combination: int
    stop_combination: int
    attempts: int


class ChunkProgress(msgspec.Struct, frozen=True, kw_only=True):
    """How far a distributed sweep got: chunks and combinations, finished and in all; the
    earliest lease expiry among chunks being run (None when none is)."""

    chunks_done: int
    chunks: int
    combinations_done: int
    combinations: int
    next_expiry: datetime | None
