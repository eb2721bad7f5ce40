"""Backtest rules: a request is validated completely when it is submitted (a bad spec is a
422 naming the field, and nothing is stored), queued through the outbox, and run by a
worker with the engine's own runner and sweep functions. Only the owner and the users
they share a backtest with may read it."""

from __future__ import annotations

import asyncio
import functools
import math
import os
import re
import socket
import threading
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import msgspec
import numpy as np
import structlog

from dracarys.backtests import store
from dracarys.backtests.events import BacktestRequested
from dracarys.backtests.models import (
    MAX_SWEEP_COMBINATIONS,
    PARAMETER_BOUND,
    Backtest,
    BacktestInput,
    BacktestSummary,
    EquityPoint,
    SweepRange,
    TemplateInfo,
)
from dracarys.db import Connection, transaction
from dracarys.errors import Forbidden, InvalidInput, NotFound, humane_reason
from dracarys.identity import CurrentUser, accounts_of
from dracarys.marketdata import dataset_frame, readable_dataset
from dracarys.outbox import emit_event
from dracarys.platform import Platform
from engine.data import Bars, DataError, load
from engine.metrics import METRIC_NAMES, drawdown_series
from engine.portfolio import PortfolioResult, PortfolioSizing, align_bars, check_portfolio
from engine.portfolio import run_portfolio as run_engine_portfolio
from engine.runner import BacktestResult, run_backtest
from engine.strategy import (
    TEMPLATES,
    ExecutionSettings,
    SpecBuilder,
    SpecError,
    StrategySpec,
    check_spec,
    load_spec,
)
from engine.sweep import grid, rank_sweep, split_sweep, sweep_metrics

log = structlog.get_logger("dracarys.backtests")
T = TypeVar("T")

# The committed synthetic samples (data/README.md); resolved from the repository root.
DATA_DIR = Path(__file__).resolve().parents[3] / "data"
DATASET_FILES = {
    "sample_daily": "sample_daily.csv",
    "sample_daily_b": "sample_daily_b.csv",
    "sample_daily_c": "sample_daily_c.csv",
    "sample_1m": "sample_1m.csv",
}
EQUITY_POINTS = 600  # down-sampled curve length in the API
MAX_TRADES_RETURNED = 1000
HEARTBEAT_S = 0.5  # a running job writes its progress and heartbeat this often
QUIET_AFTER = timedelta(seconds=60)  # a heartbeat this old means the worker died
# Asks that many worker processes to `work_on_sweep` the backtest (the workers' queue).
AskWorkers = Callable[[uuid.UUID, int], Awaitable[None]]
_CHUNK_LOCK = threading.Lock()
# Chunks run one at a time in a process (``_CHUNK_LOCK``), all on this one thread: the
# engine keeps a sweep's series table as that thread's scratch (up to 128 MB), so the
# next chunk reuses its pages, and a process holds one such table rather than one per
# thread of asyncio's default pool.
_CHUNK_THREAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sweep-chunks")
_AT_PATH = re.compile(r"at `\$\.?(?P<path>[^`]*)`")
_UNKNOWN = re.compile(r"unknown field `(?P<name>[^`]+)`")


def templates() -> list[TemplateInfo]:
    return [TemplateInfo(name=t.name, defaults=dict(t.defaults)) for t in TEMPLATES.values()]


def _spec_field(message: str, prefix: str) -> str:
    match = _AT_PATH.search(message)
    path = match.group("path") if match else ""
    field = f"{prefix}.{path}" if path else prefix
    unknown = _UNKNOWN.search(message)
    return f"{field}.{unknown.group('name')}" if unknown else field


def _reason(exc: Exception, field: str) -> str:
    """Why a spec was refused, as a sentence: msgspec's reasons are translated (naming
    `field`), the engine's own `SpecError` sentences kept; neither keeps its spec path."""
    text = str(exc).split(" - at `")[0]
    return humane_reason(field, text) if isinstance(exc, msgspec.ValidationError) else text


def _check_parameter(value: float, field: str, label: str) -> None:
    if not -PARAMETER_BOUND <= value <= PARAMETER_BOUND:
        raise InvalidInput(
            f"{label} must lie between {-PARAMETER_BOUND:,.0f} and {PARAMETER_BOUND:,.0f}",
            field=field,
        )


def sweep_values(name: str, sweep_range: SweepRange) -> list[float]:
    for part in ("start", "stop", "step"):
        _check_parameter(
            getattr(sweep_range, part), f"sweep.{name}.{part}", f"The {part} of the {name} sweep"
        )
    if sweep_range.step <= 0:
        raise InvalidInput(
            f"the step of the {name} sweep must be above 0", field=f"sweep.{name}.step"
        )
    if sweep_range.stop < sweep_range.start:
        raise InvalidInput(
            f"the stop of the {name} sweep must not be below its start",
            field=f"sweep.{name}.stop",
        )
    # Compared before it is rounded to a count: a tiny step makes the span infinite.
    span = (sweep_range.stop - sweep_range.start) / sweep_range.step + 1e-9
    if span >= MAX_SWEEP_COMBINATIONS:
        raise InvalidInput(
            f"the {name} sweep may take at most {MAX_SWEEP_COMBINATIONS} values: use a larger step",
            field=f"sweep.{name}.step",
        )
    count = math.floor(span) + 1
    return [round(sweep_range.start + k * sweep_range.step, 12) for k in range(count)]


class Plan(msgspec.Struct, frozen=True):
    """A validated request: the spec for a single run, or the builder inputs of a sweep;
    with `portfolio`, the spec runs over every dataset of the request with shared cash."""

    spec: StrategySpec | None
    combinations: list[dict[str, float]]
    portfolio: PortfolioSizing | None = None


# Where a portfolio refusal of the engine (a spec path) points in the request.
_PORTFOLIO_FIELDS = {
    "$.symbols": "datasets",
    "$.allow_short": "allow_short",
    "$.sizing.fraction": "portfolio.fraction",
    "$.sizing.target_weights": "portfolio.target_weights",
    "$.sizing.units": "portfolio.units",
    "$.sizing.rebalance_every": "portfolio.rebalance_every",
}


def _portfolio_sizing(data: BacktestInput) -> PortfolioSizing | None:
    """The checks of a multi-asset request that need no spec: its datasets differ and
    share bars, and it is not a sweep."""
    if data.datasets is None:
        if data.portfolio is not None:
            raise InvalidInput(
                "portfolio sizing applies to a run over several datasets: choose them",
                field="datasets",
            )
        return None
    for k, dataset in enumerate(data.datasets):
        if dataset in data.datasets[:k]:
            raise InvalidInput(f"{dataset} is chosen twice", field=f"datasets[{k}]")
    if data.sweep:
        raise InvalidInput("sweeps run over one dataset", field="sweep")
    chosen = [dataset_bars(d) for d in data.datasets]
    # Aligning daily bars with minute bars keeps the few midnights they share: a run over
    # them would say nothing, so different bar sizes are refused.
    spacing = [float(np.median(np.diff(bars.timestamps))) for bars in chosen]
    for k, dataset in enumerate(data.datasets):
        if spacing[k] != spacing[0]:
            raise InvalidInput(
                f"{dataset} has bars of another size than {data.datasets[0]}: choose "
                "datasets with the same bar size",
                field=f"datasets[{k}]",
            )
    try:
        align_bars(chosen)
    except DataError:
        raise InvalidInput(
            "these datasets share no bars: their dates do not overlap",
            field="datasets",
        ) from None
    given = data.portfolio
    if given is None:
        return PortfolioSizing()
    return PortfolioSizing(
        method=given.method,
        fraction=given.fraction,
        target_weights=tuple(given.target_weights),
        units=tuple(given.units),
        rebalance_every=given.rebalance_every,
    )


def _check_portfolio_spec(spec: StrategySpec, sizing: PortfolioSizing, count: int) -> None:
    try:
        check_portfolio(spec, sizing, count)
    except SpecError as exc:
        field = _PORTFOLIO_FIELDS.get(exc.path, f"spec.{exc.path.lstrip('$.')}")
        raise InvalidInput(_reason(exc, field), field=field) from None


def plan(data: BacktestInput) -> Plan:
    """Validate everything the worker will need, so a job that was accepted can run."""
    if (data.template is None) == (data.spec is None):
        raise InvalidInput("send either a template name or a strategy spec", field="template")
    if data.rank_by not in METRIC_NAMES:
        raise InvalidInput(f"rank by one of: {', '.join(METRIC_NAMES)}", field="rank_by")
    portfolio = _portfolio_sizing(data)
    if data.spec is not None:
        if data.sweep:
            raise InvalidInput("sweeps run over a template's parameters", field="sweep")
        if data.params:
            raise InvalidInput("parameters apply to templates; edit the spec", field="params")
        try:
            spec = load_spec(data.spec)
            check_spec(spec)
        except msgspec.ValidationError as exc:
            field = _spec_field(str(exc), "spec")
            raise InvalidInput(_reason(exc, field), field=field) from None
        except SpecError as exc:
            field = f"spec.{exc.path.lstrip('$.')}"
            raise InvalidInput(_reason(exc, field), field=field) from None
        if portfolio is not None:
            _check_portfolio_spec(spec, portfolio, len(data.datasets or ()))
        return Plan(spec=spec, combinations=[], portfolio=portfolio)
    template = TEMPLATES.get(data.template or "")
    if template is None:
        raise InvalidInput(f"unknown template; one of: {', '.join(TEMPLATES)}", field="template")
    for name, value in data.params.items():
        if name not in template.defaults:
            raise InvalidInput(
                f"{name} is not a parameter of {template.name}", field=f"params.{name}"
            )
        _check_parameter(value, f"params.{name}", name)
    builder = SpecBuilder(template.name, allow_short=data.allow_short)
    ranges: dict[str, list[float]] = {}
    for name, sweep_range in (data.sweep or {}).items():
        if name not in template.defaults:
            raise InvalidInput(
                f"{name} is not a parameter of {template.name}", field=f"sweep.{name}"
            )
        if name in data.params:
            raise InvalidInput(
                f"{name} is swept, so it takes no fixed value", field=f"params.{name}"
            )
        ranges[name] = sweep_values(name, sweep_range)
    combinations = [{**data.params, **combo} for combo in grid(ranges)] if ranges else []
    if len(combinations) > MAX_SWEEP_COMBINATIONS:
        raise InvalidInput(
            f"the sweep makes {len(combinations)} combinations; at most "
            f"{MAX_SWEEP_COMBINATIONS} are allowed: use larger steps",
            field="sweep",
        )
    # Every combination is built now, so an impossible one (e.g. a window of 0) is refused
    # here rather than failing later in the worker.
    specs = [_build(builder, c, data) for c in combinations] or [_build(builder, data.params, data)]
    if portfolio is not None:
        _check_portfolio_spec(specs[0], portfolio, len(data.datasets or ()))
    return Plan(
        spec=None if combinations else specs[0], combinations=combinations, portfolio=portfolio
    )


def _build(builder: SpecBuilder, params: dict[str, float], data: BacktestInput) -> StrategySpec:
    try:
        spec = builder.build(params)
        check_spec(spec)
        return spec
    except (msgspec.ValidationError, SpecError) as exc:
        # The engine names the spec field (`indicators[0].window`); the caller set a
        # template parameter, so find the one that alone makes the spec invalid.
        for name, value in params.items():
            try:
                check_spec(builder.build({name: value}))
            except (msgspec.ValidationError, SpecError) as alone:
                where = "sweep" if name in (data.sweep or {}) else "params"
                # The spec path (`- at $.indicators[0].window`) means nothing to the caller:
                # the sentence names the parameter they set.
                raise InvalidInput(
                    f"{_reason(alone, name)} (it was {value:g})", field=f"{where}.{name}"
                ) from None
        raise InvalidInput(
            f"these parameters make no valid strategy together: {_reason(exc, 'params')}",
            field="params",
        ) from None


async def submit(platform: Platform, user: CurrentUser, data: BacktestInput) -> Backtest:
    checked = plan(data)
    if data.dataset_id is not None:
        if data.datasets:
            raise InvalidInput(
                "an uploaded dataset runs on its own: choose it or several bundled datasets",
                field="dataset_id",
            )
        await readable_dataset(platform, user.id, data.dataset_id)
    backtest_id = uuid.uuid4()
    now = platform.clock.now()
    share_with = sorted(set(data.share_with) - {user.id})
    async with transaction(platform.pool) as conn:
        if share_with:
            known = await accounts_of(conn, share_with)
            for k, user_id in enumerate(data.share_with):
                if user_id not in known and user_id != user.id:
                    raise InvalidInput("no such user", field=f"share_with[{k}]")
        await queue_backtest(
            conn,
            backtest_id=backtest_id,
            owner_id=user.id,
            request=data,
            combinations=len(checked.combinations),
            now=now,
            portfolio=checked.portfolio is not None,
        )
        await store.add_shares(conn, backtest_id, share_with, now)
    return await read(platform, user, backtest_id)


async def queue_backtest(
    conn: Connection,
    *,
    backtest_id: uuid.UUID,
    owner_id: uuid.UUID,
    request: BacktestInput,
    combinations: int,
    now: datetime,
    portfolio: bool = False,
) -> None:
    """Store a checked request and ask for a worker, in the caller's transaction."""
    await store.insert_backtest(
        conn,
        backtest_id=backtest_id,
        owner_id=owner_id,
        kind="portfolio" if portfolio else "sweep" if combinations else "single",
        request=msgspec.to_builtins(request),
        progress_total=max(1, combinations),
        now=now,
    )
    requested = BacktestRequested(backtest_id=str(backtest_id))
    await emit_event(conn, requested)


def _may_read(user: CurrentUser, backtest: Backtest) -> bool:
    """The owner and whom they share with; not staff: a backtest's spec is its author's
    strategy, which the platform has no need to read."""
    return backtest.owner_id == user.id or user.id in backtest.shared_with


async def read(platform: Platform, user: CurrentUser, backtest_id: uuid.UUID) -> Backtest:
    async with platform.pool.acquire() as conn:
        backtest = await store.get_backtest(conn, backtest_id)
    if backtest is None or not _may_read(user, backtest):
        # Same answer as a missing one: ids of other people's backtests are not confirmed.
        raise NotFound("no such backtest", field="backtest_id")
    return backtest


async def list_backtests(
    platform: Platform, user: CurrentUser, limit: int
) -> list[BacktestSummary]:
    async with platform.pool.acquire() as conn:
        return await store.list_readable(conn, user.id, limit)


async def share(
    platform: Platform, user: CurrentUser, backtest_id: uuid.UUID, with_user: uuid.UUID
) -> Backtest:
    async with transaction(platform.pool) as conn:
        backtest = await store.get_backtest(conn, backtest_id)
        if backtest is None or not _may_read(user, backtest):
            raise NotFound("no such backtest", field="backtest_id")
        if backtest.owner_id != user.id:
            raise Forbidden("only the owner shares a backtest")
        if not await accounts_of(conn, [with_user]):
            raise InvalidInput("no such user", field="user_id")
        await store.add_shares(conn, backtest_id, [with_user], platform.clock.now())
    return await read(platform, user, backtest_id)


# ---- the worker side ------------------------------------------------------------------


@functools.lru_cache(maxsize=4)
def dataset_bars(dataset: str) -> Bars:
    return Bars.from_frame(load(DATA_DIR / DATASET_FILES[dataset]), symbol=dataset)


def _finite(value: float | int) -> float | int | None:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def equity_curve(
    result: BacktestResult | PortfolioResult, points: int = EQUITY_POINTS
) -> list[EquityPoint]:
    """Down-sampled to at most `points`, always keeping the first and last bar and the
    deepest drawdown bar, so the chart's extremes are the run's extremes."""
    n = result.equity.shape[0]
    # The engine's drawdown is a fraction below the running peak; the API speaks percent,
    # negative below the peak, as charts draw it.
    drawdown = -100.0 * drawdown_series(result.equity, result.execution.initial_cash)
    keep = set(np.linspace(0, n - 1, num=min(points, n), dtype=np.int64).tolist())
    keep.add(int(np.argmin(drawdown)) if n else 0)
    stamps = result.timestamps if isinstance(result, PortfolioResult) else result.bars.timestamps
    return [
        EquityPoint(
            time=int(stamps[i] // 1_000_000),
            equity=float(result.equity[i]),
            drawdown_pct=float(drawdown[i]),
        )
        for i in sorted(keep)
        if n
    ]


def trade_list(result: BacktestResult | PortfolioResult) -> list[dict[str, Any]]:
    frame = result.trades().head(MAX_TRADES_RETURNED)
    rows: list[dict[str, Any]] = []
    for trade in frame.iter_rows(named=True):
        rows.append(
            {
                key: (
                    value.isoformat()
                    if hasattr(value, "isoformat")
                    else _finite(value)
                    if isinstance(value, float)
                    else value
                )
                for key, value in trade.items()
            }
        )
    return rows


def _metrics(result: BacktestResult | PortfolioResult) -> dict[str, Any]:
    return {k: _finite(v) for k, v in msgspec.to_builtins(result.metrics).items()}


def _execution(data: BacktestInput) -> ExecutionSettings:
    return ExecutionSettings(
        initial_cash=data.execution.initial_cash,
        commission_bps=data.execution.commission_bps,
        slippage_bps=data.execution.slippage_bps,
        fill=data.execution.fill,
    )


async def run_job(
    platform: Platform, backtest_id: uuid.UUID, *, ask_workers: AskWorkers | None = None
) -> None:
    """Run one queued backtest to completion. Idempotent: a finished job is left alone,
    and so is one whose worker is alive (its heartbeat is recent), so a re-delivered
    task does not run it twice; a job whose worker died is taken over.

    A sweep is cut into chunks: with `ask_workers` (worker processes sharing a queue) it
    asks that many workers to `work_on_sweep` and returns; without (the embedded mode),
    it works on the chunks itself."""
    now = platform.clock.now()
    async with platform.pool.acquire() as conn:
        job = await store.claim(conn, backtest_id, now, quiet_since=now - QUIET_AFTER)
    if job is None:
        return
    try:
        checked = plan(job.request)
        if checked.combinations and checked.portfolio is None:
            chunks = await _queue_sweep_chunks(platform, backtest_id, len(checked.combinations))
            if ask_workers is not None:
                await ask_workers(backtest_id, chunks)
                return
            await work_on_sweep(platform, backtest_id)
            return
        await _run(platform, backtest_id, job.request)
    except Exception as exc:
        log.exception("backtest_failed", backtest_id=str(backtest_id))
        async with platform.pool.acquire() as conn:
            await store.store_failure(
                conn, backtest_id, f"{type(exc).__name__}: {exc}", platform.clock.now()
            )


async def _queue_sweep_chunks(platform: Platform, backtest_id: uuid.UUID, combinations: int) -> int:
    """The sweep's chunks (kept as they are when the job is taken over) → their count."""
    chunks = split_sweep(combinations, platform.settings.backtest_chunk_evaluations)
    async with transaction(platform.pool) as conn:
        await store.insert_sweep_chunks(conn, backtest_id, [(c.start, c.stop) for c in chunks])
        await store.sync_sweep_progress(conn, backtest_id)
    return len(chunks)


def _worker_name() -> str:
    """Names a lease's holder: its machine and process (for the operator), and this call."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _chunk_metrics(
    bars: Bars,
    builder: SpecBuilder,
    combinations: list[dict[str, float]],
    execution: ExecutionSettings,
) -> bytes:
    # One chunk at a time in a process: its parallel kernel already uses every thread,
    # and Numba's fallback threading layer cannot run two parallel kernels at once.
    with _CHUNK_LOCK:
        metrics = sweep_metrics(bars, builder, combinations, execution)
    return np.ascontiguousarray(metrics, dtype="<f8").tobytes()


async def work_on_sweep(platform: Platform, backtest_id: uuid.UUID) -> int:
    """Run a sweep's chunks until none is left, with any number of other workers doing
    the same: lease a chunk, compute it while renewing the lease, store its metrics (the
    first finish counts, a second changes nothing); when the other chunks are all
    leased, wait for them, taking over any whose lease expires (its worker died). The
    worker that sees every chunk finished merges them into the ranking and stores the
    result. → how many chunks this call finished. Returns at once for a job that is not
    running (finished, failed, or not a sweep)."""
    async with platform.pool.acquire() as conn:
        job = await store.running_job(conn, backtest_id)
    if job is None:
        return 0
    data = job.request
    checked = plan(data)
    if not checked.combinations or checked.portfolio is not None:
        return 0
    builder = SpecBuilder(data.template or "", allow_short=data.allow_short)
    execution = _execution(data)
    lease = timedelta(seconds=platform.settings.backtest_chunk_lease_s)
    owner = _worker_name()
    bars: Bars | None = None
    finished = 0
    while True:
        now = platform.clock.now()
        async with platform.pool.acquire() as conn:
            leased = await store.lease_sweep_chunk(conn, backtest_id, owner, now, now + lease)
            if leased is None:
                progress = await store.sweep_chunk_progress(conn, backtest_id)
                still_running = await store.running_job(conn, backtest_id) is not None
        if leased is None:
            if not still_running:
                return finished
            if progress.chunks_done == progress.chunks:
                await _merge_sweep(platform, backtest_id, data, checked.combinations, bars)
                return finished
            # Every open chunk is leased: wait for them to finish, or for a lease to expire.
            wait_s = lease.total_seconds() / 4
            if progress.next_expiry is not None:
                wait_s = min(wait_s, (progress.next_expiry - now).total_seconds())
            await asyncio.sleep(min(max(wait_s, 0.05), 1.0))
            continue
        combinations = checked.combinations[leased.first_combination : leased.stop_combination]
        try:
            if bars is None:
                bars = await _bars_of(platform, data)
            metrics = await _renewing_lease(
                platform,
                backtest_id,
                leased.chunk,
                owner,
                functools.partial(_chunk_metrics, bars, builder, combinations, execution),
            )
        except asyncio.CancelledError:
            # A stopping worker: the chunk goes back to the queue now, not at its expiry.
            async with asyncio.timeout(5), platform.pool.acquire() as conn:
                await store.release_chunk_lease(conn, backtest_id, leased.chunk, owner)
            raise
        async with platform.pool.acquire() as conn:
            if await store.finish_sweep_chunk(
                conn, backtest_id, leased.chunk, metrics, platform.clock.now()
            ):
                finished += 1


async def _renewing_lease(
    platform: Platform, backtest_id: uuid.UUID, chunk: int, owner: str, work: Callable[[], T]
) -> T:
    """`work` on a thread; meanwhile the chunk's lease (and the job's heartbeat) renewed
    at a third of its length. A lease lost meanwhile (this process stalled past its
    expiry and another worker took the chunk) changes nothing: both compute the same
    metrics and the first to finish counts."""
    lease = timedelta(seconds=platform.settings.backtest_chunk_lease_s)
    task = asyncio.ensure_future(asyncio.get_running_loop().run_in_executor(_CHUNK_THREAD, work))
    while not (await asyncio.wait({task}, timeout=lease.total_seconds() / 3))[0]:
        now = platform.clock.now()
        async with platform.pool.acquire() as conn:
            await store.renew_chunk_lease(conn, backtest_id, chunk, owner, now, now + lease)
    return task.result()


async def _merge_sweep(
    platform: Platform,
    backtest_id: uuid.UUID,
    data: BacktestInput,
    combinations: list[dict[str, float]],
    bars: Bars | None,
) -> None:
    """The chunks' metrics, stacked in combination order, ranked as one process would;
    then the best combination's full run, stored once (a second merger's store is a
    no-op: the job is no longer running)."""
    async with platform.pool.acquire() as conn:
        finished = await store.sweep_chunk_metrics(conn, backtest_id)
    metrics = np.full((len(combinations), len(METRIC_NAMES)), np.nan)
    for first, values in finished:
        chunk = np.frombuffer(values, dtype="<f8").reshape(-1, len(METRIC_NAMES))
        metrics[first : first + chunk.shape[0]] = chunk
    ranking = rank_sweep(combinations, metrics, data.rank_by)
    if bars is None:
        bars = await _bars_of(platform, data)
    builder = SpecBuilder(data.template or "", allow_short=data.allow_short)
    swept = list(data.sweep or {})
    rows = [{k: _finite(v) for k, v in r.items()} for r in ranking.iter_rows(named=True)]
    sweep = {"parameters": swept, "rank_by": data.rank_by, "results": rows}
    best = {name: float(ranking[0, name]) for name in swept}
    spec = builder.build({**data.params, **best})
    result = await asyncio.to_thread(run_backtest, bars, spec, _execution(data))
    await _store_run(platform, backtest_id, result, sweep)


async def _bars_of(platform: Platform, data: BacktestInput) -> Bars:
    if data.dataset_id is not None:
        frame = await dataset_frame(platform, data.dataset_id)
        return Bars.from_frame(frame, symbol=str(data.dataset_id))
    return await asyncio.to_thread(dataset_bars, data.dataset)


async def _store_run(
    platform: Platform,
    backtest_id: uuid.UUID,
    result: BacktestResult,
    sweep: dict[str, Any] | None,
) -> None:
    async with platform.pool.acquire() as conn:
        await store.store_result(
            conn,
            backtest_id,
            metrics=_metrics(result),
            equity=[msgspec.to_builtins(p) for p in equity_curve(result)],
            trades=trade_list(result),
            trade_count=int(result.trade_table.shape[0]),
            sweep=sweep,
            now=platform.clock.now(),
        )


async def unattended_jobs(platform: Platform) -> list[uuid.UUID]:
    """Jobs nobody is working on (their task was lost, or their worker died)."""
    async with platform.pool.acquire() as conn:
        return await store.unattended(conn, platform.clock.now() - QUIET_AFTER)


async def _run(platform: Platform, backtest_id: uuid.UUID, data: BacktestInput) -> None:
    checked = plan(data)

    async def beating(work: Callable[[], T]) -> T:
        """`work` on a thread; meanwhile the job's heartbeat and progress are written."""
        task = asyncio.ensure_future(asyncio.to_thread(work))
        while not (await asyncio.wait({task}, timeout=HEARTBEAT_S))[0]:
            async with platform.pool.acquire() as conn:
                await store.beat(conn, backtest_id, 0, platform.clock.now())
        return task.result()

    execution = _execution(data)
    if checked.portfolio is not None:
        assert checked.spec is not None
        await _run_portfolio(platform, backtest_id, data, checked.spec, checked.portfolio, beating)
        return
    bars = await _bars_of(platform, data)
    assert checked.spec is not None
    result = await beating(functools.partial(run_backtest, bars, checked.spec, execution))
    await _store_run(platform, backtest_id, result, None)


def _portfolio_result(
    datasets: list[str], spec: StrategySpec, execution: ExecutionSettings, sizing: PortfolioSizing
) -> PortfolioResult:
    return run_engine_portfolio([dataset_bars(d) for d in datasets], spec, execution, sizing)


async def _run_portfolio(
    platform: Platform,
    backtest_id: uuid.UUID,
    data: BacktestInput,
    spec: StrategySpec,
    sizing: PortfolioSizing,
    beating: Callable[[Callable[[], PortfolioResult]], Any],
) -> None:
    """One spec over the request's datasets with shared cash: the portfolio's metrics,
    equity and round trips, and one row per asset."""
    result: PortfolioResult = await beating(
        functools.partial(
            _portfolio_result, list(data.datasets or ()), spec, _execution(data), sizing
        )
    )
    assets = [
        {k: _finite(v) if isinstance(v, float) else v for k, v in vars(asset).items()}
        for asset in result.assets
    ]
    async with platform.pool.acquire() as conn:
        await store.store_result(
            conn,
            backtest_id,
            metrics=_metrics(result),
            equity=[msgspec.to_builtins(p) for p in equity_curve(result)],
            trades=trade_list(result),
            trade_count=int(result.trade_table.shape[0]),
            sweep=None,
            assets=assets,
            now=platform.clock.now(),
        )
