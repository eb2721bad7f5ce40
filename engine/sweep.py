"""Parameter sweeps: grid and random search over a strategy's parameters, run in parallel
across cores, each distinct indicator computed once per chunk and shared by every
combination in it; walk-forward analysis with the deflated Sharpe ratio as the
overfitting guard. A sweep may also be cut into chunks (``split_sweep``) that separate
processes evaluate (``sweep_metrics``) and merge into the very ranking ``run_sweep`` gives
(``rank_sweep``).

Memory is bounded by ``memory_budget_bytes``: the indicator table holds as many rows as
fit, combinations are ordered so neighbours share indicators and run in chunks whose
indicators fit; a chunk's crossovers hold a byte of flags per bar each (at most an
eighth of the budget), and each worker holds signal flags for other rules and a trade
table (under 7 bytes per bar; the simulation gathers the equity curve's statistics
without writing the curve) and reuses them for every combination it runs. Results hold
metrics only, never curves, so 1e7 bars × 1e3 combinations stays within a few GiB.
Between chunks the parallel threads sleep rather than spin (``engine.compile``), so the
Python work between them costs only its own CPU.
"""

import itertools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numba
import numpy as np
import numpy.typing as npt
import polars as pl
from numba import prange

from engine.backtest import (
    BASE_ROWS,
    S_CASH,
    SETTINGS_LENGTH,
    T_ENTRY_BAR,
    T_EXIT_BAR,
    TRADE_COLUMNS,
    simulate,
)
from engine.compile import parallel_kernel
from engine.curve import CURVE_STATS
from engine.data import Bars
from engine.indicators import crossings_between
from engine.metrics import (
    M_FINAL_EQUITY,
    M_MAX_DRAWDOWN,
    M_SHARPE,
    M_TOTAL_RETURN,
    M_TRADES,
    METRIC_NAMES,
    metrics_from_stats,
    performance,
)
from engine.runner import crossover_of, run_backtest
from engine.strategy import (
    ExecutionSettings,
    Indicator,
    SeriesTable,
    SpecBuilder,
    StrategySpec,
    compile_rules,
    indicator_key,
    kernel_settings,
    output_names,
    required_indicators,
)
from engine.workspace import LIMIT_BYTES, scratch

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
FlagMatrix = npt.NDArray[np.int8]
Params = dict[str, float]
ProgressCallback = Callable[[int], None]
DEFAULT_MEMORY_BUDGET_BYTES = 2 << 30
MAX_CHUNK_COMBINATIONS = 64
SWEEP_TRADE_ROWS = 4096
# A chunk's crossover flags take at most this share of the memory budget.
FLAGS_BUDGET_SHARE = 8
# Bars per block when a chunk's crossover flags are filled: a block of each of the
# chunk's rows (a few dozen) stays in a core's L2 cache for every crossover reading it.
FLAG_BLOCK_BARS = 4096
WORKERS_PER_THREAD = 4
# Values one parameter's range may expand to (a 1e308-wide range must not allocate).
MAX_RANGE_VALUES = 100_000
# Metrics where smaller is better when ranking.
ASCENDING_METRICS = frozenset({"max_drawdown_pct", "max_drawdown_bars", "annual_volatility_pct"})


def parse_range(text: str) -> tuple[str, list[float]]:
    """``name=start:stop:step`` (stop inclusive) or ``name=a,b,c`` → name and values."""
    name, _, values = text.partition("=")
    if not name or not values:
        raise ValueError(f"expected name=start:stop:step or name=a,b,c, got {text!r}")
    if ":" in values:
        start, stop, step = (float(part) for part in values.split(":"))
        if not all(map(math.isfinite, (start, stop, step))):
            raise ValueError(f"{text!r}: start, stop and step must be finite numbers")
        if step <= 0 or stop < start:
            raise ValueError(f"{text!r}: need step > 0 and stop >= start")
        # Compared before rounding: (stop - start) / step overflows to inf for ±1e308.
        span = (stop - start) / step
        if not span < MAX_RANGE_VALUES:
            raise ValueError(f"{text!r}: more than {MAX_RANGE_VALUES:,} values; widen the step")
        count = math.floor(span + 1e-9) + 1
        return name, [round(start + k * step, 12) for k in range(count)]
    listed = [float(v) for v in values.split(",")]
    if not all(map(math.isfinite, listed)):
        raise ValueError(f"{text!r}: values must be finite numbers")
    return name, listed


def grid(ranges: Mapping[str, Sequence[float]]) -> list[Params]:
    """Every combination of the ranges, in a deterministic order."""
    names = list(ranges)
    return [dict(zip(names, values, strict=True)) for values in itertools.product(*ranges.values())]


def random_search(ranges: Mapping[str, Sequence[float]], count: int, seed: int) -> list[Params]:
    """``count`` distinct combinations drawn from the grid with a seeded generator."""
    combos = grid(ranges)
    if count >= len(combos):
        return combos
    picks = np.random.default_rng(seed).choice(len(combos), size=count, replace=False)
    return [combos[int(k)] for k in picks]


@parallel_kernel
def _sweep_chunk(
    base: FloatArray,
    matrix: FloatArray,
    settings: FloatArray,
    group_bounds: IntArray,
    cond_left: IntArray,
    cond_op: IntArray,
    cond_right: IntArray,
    cond_constant: FloatArray,
    cond_lag: IntArray,
    crossovers: IntArray,
    crossover_flags: FlagMatrix,
    bars_per_year: float,
    worker_count: int,
) -> FloatArray:
    """The metrics of each combination, ``workers`` at a time. A combination whose row of
    ``crossovers`` names two table rows (``_crossover_rows``; -1 otherwise) takes its
    flags from those rows in one comparison per bar, not from its conditions, which
    would compare each pair twice: into row ``crossovers[c, 4]`` of ``crossover_flags``,
    every crossover a block of bars at a time before any simulation, so each table row
    is read from memory once per chunk rather than once per combination using it."""
    combos = settings.shape[0]
    n = base.shape[1]
    out = np.empty((combos, len(METRIC_NAMES)))
    no_flags = np.zeros(0, dtype=np.int8)
    if crossover_flags.shape[0] > 0:
        for block in prange((n + FLAG_BLOCK_BARS - 1) // FLAG_BLOCK_BARS):
            start = block * FLAG_BLOCK_BARS
            stop = min(start + FLAG_BLOCK_BARS, n)
            for c in range(combos):
                if crossovers[c, 4] >= 0:
                    crossings_between(
                        matrix[crossovers[c, 0] - BASE_ROWS],
                        matrix[crossovers[c, 1] - BASE_ROWS],
                        start,
                        stop,
                        crossovers[c, 2],
                        crossovers[c, 3],
                        crossover_flags[crossovers[c, 4]],
                    )
    workers = min(worker_count, combos)
    # Each worker allocates its buffers once and reuses them for every combination it
    # runs (round-robin): fresh pages cost more than the simulation on some machines.
    for worker in prange(workers):
        curve = np.empty(CURVE_STATS)
        flag_scratch = np.empty(n, dtype=np.int8)
        listing_scratch = np.empty(n, dtype=np.int32)
        trades = np.empty((min(n + 1, max(SWEEP_TRADE_ROWS, n // 16)), TRADE_COLUMNS))
        for c in range(worker, combos, workers):
            flags = no_flags
            if crossovers[c, 4] >= 0:
                flags = crossover_flags[crossovers[c, 4]]
            trade_count = simulate(
                base,
                matrix,
                settings[c],
                group_bounds[c],
                cond_left[c],
                cond_op[c],
                cond_right[c],
                cond_constant[c],
                cond_lag[c],
                flags,
                curve,
                trades,
                flag_scratch,
                listing_scratch,
            )
            if trade_count > trades.shape[0]:
                # Rare: more trades than the table holds; run again with one that fits.
                trades = np.empty((trade_count, TRADE_COLUMNS))
                simulate(
                    base,
                    matrix,
                    settings[c],
                    group_bounds[c],
                    cond_left[c],
                    cond_op[c],
                    cond_right[c],
                    cond_constant[c],
                    cond_lag[c],
                    flags,
                    curve,
                    trades,
                    flag_scratch,
                    listing_scratch,
                )
            out[c] = metrics_from_stats(
                curve, trades[:trade_count], settings[c, S_CASH], n, bars_per_year
            )
    return out


def worker_scratch_bytes(bar_count: int) -> int:
    """What one sweep worker holds (``_sweep_chunk``): per bar, a byte of signal flags and
    four for the list of flagged bars, and a trade table of up to one row per 16 bars."""
    return TRADE_COLUMNS * 8 * bar_count // 16 + 5 * bar_count


def _sharing_order(specs: list[StrategySpec]) -> list[int]:
    """Combinations ordered so neighbours share indicators: by their indicator keys, the
    position with the most distinct values first. With ``fast × slow`` windows and more
    slow than fast values, each slow window is then needed by one run of neighbours while
    the few fast ones are needed everywhere and stay in the table, so when memory bounds
    the table every window is still computed once (the other order recomputes every slow
    window for each fast one)."""
    keys = [[repr(indicator_key(i)) for i in required_indicators(spec)] for spec in specs]
    width = max(len(k) for k in keys)
    distinct = [len({k[p] for k in keys if p < len(k)}) for p in range(width)]
    positions = sorted(range(width), key=lambda p: -distinct[p])
    return sorted(
        range(len(specs)), key=lambda k: [keys[k][p] if p < len(keys[k]) else "" for p in positions]
    )


def _chunks(
    specs: list[StrategySpec], order: list[int], capacity_rows: int, most_combinations: int
) -> list[list[int]]:
    """Consecutive runs of ``order``, of at most ``most_combinations``, whose distinct
    indicator rows fit the table."""
    chunks: list[list[int]] = []
    current: list[int] = []
    keys: dict[tuple[object, ...], int] = {}
    for index in order:
        needed = {indicator_key(i): len(output_names(i)) for i in required_indicators(specs[index])}
        merged = {**keys, **needed}
        if current and (sum(merged.values()) > capacity_rows or len(current) >= most_combinations):
            chunks.append(current)
            current, merged = [], needed
        current.append(index)
        keys = merged
    if current:
        chunks.append(current)
    return chunks


@dataclass(frozen=True)
class SweepResult:
    ranking: pl.DataFrame  # one row per combination, best first
    rank_by: str
    indicators_computed: int
    chunks: int
    workers: int  # parallel workers (each with its scratch), bounded by the memory budget


def run_sweep(
    bars: Bars,
    builder: SpecBuilder,
    combos: Sequence[Params],
    execution: ExecutionSettings,
    *,
    rank_by: str = "sharpe",
    memory_budget_bytes: int = DEFAULT_MEMORY_BUDGET_BYTES,
    progress: ProgressCallback | None = None,
) -> SweepResult:
    """Backtest every combination; rank by ``rank_by`` (NaN last)."""
    _check_rank_by(rank_by)
    evaluated = _evaluate(bars, builder, combos, execution, memory_budget_bytes, progress)
    return SweepResult(
        ranking=rank_sweep(combos, evaluated.metrics, rank_by),
        rank_by=rank_by,
        indicators_computed=evaluated.indicators_computed,
        chunks=evaluated.chunks,
        workers=evaluated.workers,
    )


@dataclass(frozen=True)
class SweepChunk:
    """A contiguous run of a sweep's combinations (positions ``start`` up to ``stop``) that
    one process evaluates on its own: a distributed sweep's unit of work."""

    index: int
    start: int
    stop: int


def split_sweep(combination_count: int, chunk_evaluations: int) -> list[SweepChunk]:
    """The sweep's combinations cut into chunks of ``chunk_evaluations`` (the last may be
    shorter), in order. Neighbours in a grid share indicators (the last parameter varies
    fastest), so contiguous chunks keep most of that sharing."""
    if combination_count < 1 or chunk_evaluations < 1:
        raise ValueError("a sweep needs at least one combination and chunks of at least one")
    return [
        SweepChunk(index=k, start=start, stop=min(start + chunk_evaluations, combination_count))
        for k, start in enumerate(range(0, combination_count, chunk_evaluations))
    ]


def sweep_metrics(
    bars: Bars,
    builder: SpecBuilder,
    combos: Sequence[Params],
    execution: ExecutionSettings,
    *,
    memory_budget_bytes: int = DEFAULT_MEMORY_BUDGET_BYTES,
    progress: ProgressCallback | None = None,
) -> FloatArray:
    """The metrics (columns ``METRIC_NAMES``) of each combination, one row each in the
    order given: a chunk's share of a sweep. Each row depends on its combination alone,
    bit for bit, so chunks evaluated anywhere merge into what one process computes."""
    return _evaluate(bars, builder, combos, execution, memory_budget_bytes, progress).metrics


def rank_sweep(
    combos: Sequence[Params], metrics: FloatArray, rank_by: str = "sharpe"
) -> pl.DataFrame:
    """The ranking of a sweep from every combination's metrics (rows in the order of
    ``combos``, e.g. its chunks' ``sweep_metrics`` stacked): best first by ``rank_by``,
    NaN last, ties in the order of ``combos``, so it is the same whoever computed it."""
    _check_rank_by(rank_by)
    if metrics.shape != (len(combos), len(METRIC_NAMES)):
        raise ValueError(
            f"expected {len(combos)} rows of {len(METRIC_NAMES)} metrics, got {metrics.shape}"
        )
    parameters = pl.DataFrame([dict(params) for params in combos]).with_columns(
        pl.col(name).cast(pl.Int64)
        for name in combos[0]
        if all(float(params[name]).is_integer() for params in combos)
    )
    frame = parameters.with_columns(
        pl.DataFrame(metrics, schema=list(METRIC_NAMES), orient="row")
        .with_columns(pl.col("trades").cast(pl.Int64), pl.col("max_drawdown_bars").cast(pl.Int64))
        .get_columns()
    )
    # A stable sort: equal values keep the combinations' order.
    return frame.with_columns(pl.col(rank_by).fill_nan(None)).sort(
        rank_by, descending=rank_by not in ASCENDING_METRICS, nulls_last=True, maintain_order=True
    )


def _check_rank_by(rank_by: str) -> None:
    if rank_by not in METRIC_NAMES:
        raise ValueError(f"unknown metric {rank_by!r}; choose from {', '.join(METRIC_NAMES)}")


@dataclass(frozen=True)
class _Evaluated:
    metrics: FloatArray
    indicators_computed: int
    chunks: int
    workers: int


def _evaluate(
    bars: Bars,
    builder: SpecBuilder,
    combos: Sequence[Params],
    execution: ExecutionSettings,
    memory_budget_bytes: int,
    progress: ProgressCallback | None,
) -> _Evaluated:
    specs = [builder.build(params) for params in combos]
    order = _sharing_order(specs)
    row_bytes = 8 * bars.length
    # The workers' scratch takes at most half the budget: on a machine with many cores
    # and long series, fewer workers rather than more memory than was allowed.
    per_worker = worker_scratch_bytes(bars.length)
    workers = min(
        len(specs),
        WORKERS_PER_THREAD * numba.get_num_threads(),
        max(1, memory_budget_bytes // 2 // per_worker),
    )
    worker_bytes = workers * per_worker
    # A chunk's crossover flags, one byte per bar each, take at most an eighth.
    chunk_combinations = min(
        MAX_CHUNK_COMBINATIONS,
        len(specs),
        max(1, memory_budget_bytes // FLAGS_BUDGET_SHARE // max(1, bars.length)),
    )
    flag_bytes = chunk_combinations * bars.length
    widest = max(sum(len(output_names(i)) for i in required_indicators(spec)) for spec in specs)
    distinct = {
        indicator_key(i): len(output_names(i)) for s in specs for i in required_indicators(s)
    }
    affordable = (memory_budget_bytes - worker_bytes - flag_bytes) // row_bytes - BASE_ROWS
    capacity = max(widest, min(sum(distinct.values()), affordable))
    # A table that fits the thread's reusable scratch (``engine.workspace``) is kept for
    # the next sweep or backtest on this thread: fresh pages for a table of a hundred
    # megabytes cost more than computing its rows (at 1e6 bars, 47 ms for 20 rows
    # against 11 ms of moving averages). Fewer rows than the sweep has indicators then,
    # as long as its widest combination fits: the sharing order still computes each of
    # a crossover grid's windows once.
    reusable = LIMIT_BYTES // row_bytes
    if widest <= reusable < capacity:
        capacity = reusable
    table = SeriesTable(bars, [], spare_rows=int(capacity), reuse=True)
    results = np.empty((len(specs), len(METRIC_NAMES)))
    chunks = _chunks(specs, order, int(capacity), chunk_combinations)
    for chunk in chunks:
        needed: list[Indicator] = [i for k in chunk for i in required_indicators(specs[k])]
        table.ensure(needed)
        results[chunk] = _run_chunk(
            table, [specs[k] for k in chunk], execution, bars.bars_per_year, workers
        )
        if progress is not None:
            progress(len(chunk))
    return _Evaluated(
        metrics=results, indicators_computed=table.computed, chunks=len(chunks), workers=workers
    )


def _run_chunk(
    table: SeriesTable,
    specs: list[StrategySpec],
    execution: ExecutionSettings,
    bars_per_year: float,
    workers: int,
) -> FloatArray:
    compiled = []
    settings = np.empty((len(specs), SETTINGS_LENGTH))
    for c, spec in enumerate(specs):
        rows = table.rows_for(spec)
        compiled.append(compile_rules(spec, rows))
        settings[c] = kernel_settings(spec, execution, rows)
    width = max(1, max(rules.left.shape[0] for rules in compiled))
    crossovers = np.array([_crossover_rows(spec, table) for spec in specs], dtype=np.int64)
    # Each crossover's row of flags (column 4), -1 for combinations with none.
    flagged = crossovers[:, 0] >= 0
    flag_rows = np.full(len(specs), -1, dtype=np.int64)
    flag_rows[flagged] = np.arange(int(flagged.sum()))
    crossovers = np.column_stack([crossovers, flag_rows])
    # The thread's reusable scratch (``engine.workspace``) while it fits: fresh pages for
    # every chunk would cost more than filling the flags.
    crossover_flags = scratch("sweep_flags", (int(flagged.sum()), table.bars.length), np.int8)

    def padded(field: str, dtype: type) -> npt.NDArray[Any]:
        out = np.zeros((len(specs), width), dtype=dtype)
        for c, rules in enumerate(compiled):
            values = getattr(rules, field)
            out[c, : values.shape[0]] = values
        return out

    # More workers than threads, handed out as threads free up, so a thread the operating
    # system pauses (a shared machine) holds up only a small share of the combinations.
    with numba.parallel_chunksize(1):
        result: FloatArray = _sweep_chunk(
            table.bars.base,
            table.matrix,
            settings,
            np.stack([rules.group_bounds for rules in compiled]),
            padded("left", np.int64),
            padded("op", np.int64),
            padded("right", np.int64),
            padded("constant", np.float64),
            padded("lag", np.int64),
            crossovers,
            crossover_flags,
            bars_per_year,
            workers,
        )
    return result


def _crossover_rows(spec: StrategySpec, table: SeriesTable) -> tuple[int, int, int, int]:
    """A crossover's two table rows and its rising and falling bits; -1s for other specs."""
    crossover = crossover_of(spec)
    if crossover is None:
        return (-1, -1, 0, 0)
    rows = table.rows_for(spec)
    return (
        rows[crossover.first.name],
        rows[crossover.second.name],
        crossover.rising,
        crossover.falling,
    )


def deflated_sharpe_ratio(
    best_returns: FloatArray, trial_sharpes_per_bar: Iterable[float]
) -> float:
    """Probability that the best trial's true Sharpe ratio is above zero once the number
    of trials and their spread are accounted for (Bailey & López de Prado, 2014):
    ``DSR = Φ((SR − SR₀)·√(T−1) / √(1 − γ₃·SR + (γ₄−1)/4·SR²))`` with per-bar Sharpe ratios,
    ``SR₀ = √V[SR]·((1−γ)·Φ⁻¹(1−1/N) + γ·Φ⁻¹(1−1/(N·e)))`` and γ Euler–Mascheroni."""
    returns = best_returns[np.isfinite(best_returns)]
    sharpes = np.array([s for s in trial_sharpes_per_bar if math.isfinite(s)])
    t = returns.shape[0]
    deviation = float(returns.std(ddof=1)) if t > 1 else 0.0
    if t < 3 or deviation == 0.0 or sharpes.shape[0] == 0:
        return math.nan
    sharpe = float(returns.mean()) / deviation
    centred = (returns - returns.mean()) / returns.std()
    skewness = float(np.mean(centred**3))
    kurtosis = float(np.mean(centred**4))
    trials = sharpes.shape[0]
    normal = NormalDist()
    euler_gamma = 0.5772156649015329
    if trials > 1:
        expected_max = (1 - euler_gamma) * normal.inv_cdf(
            1 - 1 / trials
        ) + euler_gamma * normal.inv_cdf(1 - 1 / (trials * math.e))
        threshold = math.sqrt(float(sharpes.var(ddof=1))) * expected_max
    else:
        threshold = 0.0
    spread = 1 - skewness * sharpe + (kurtosis - 1) / 4 * sharpe**2
    if spread <= 0:
        return math.nan
    return normal.cdf((sharpe - threshold) * math.sqrt(t - 1) / math.sqrt(spread))


def best_deflated_sharpe(
    bars: Bars, builder: SpecBuilder, result: SweepResult, execution: ExecutionSettings
) -> float:
    """The deflated Sharpe ratio of a sweep's best combination against all its trials."""

    best = {
        k: float(v)
        for k, v in result.ranking.row(0, named=True).items()
        if k in builder.defaults or "." in k
    }
    run = run_backtest(bars, builder.build(best), execution)
    returns = np.diff(np.concatenate(([execution.initial_cash], run.equity))) / np.concatenate(
        ([execution.initial_cash], run.equity[:-1])
    )
    per_bar = (
        result.ranking["sharpe"].fill_null(math.nan) / math.sqrt(bars.bars_per_year)
    ).to_list()
    return deflated_sharpe_ratio(returns, per_bar)


@dataclass(frozen=True)
class WalkForwardResult:
    folds: pl.DataFrame  # one row per fold: windows, chosen parameters, in/out-of-sample figures
    out_of_sample_return_pct: float  # compounded over all out-of-sample windows


def walk_forward(
    bars: Bars,
    builder: SpecBuilder,
    combos: Sequence[Params],
    execution: ExecutionSettings,
    *,
    folds: int = 4,
    in_sample_multiple: int = 3,
    rank_by: str = "sharpe",
    progress: ProgressCallback | None = None,
) -> WalkForwardResult:
    """Rolling walk-forward: the data is cut into ``folds + in_sample_multiple`` equal
    windows; fold ``j`` optimises on ``in_sample_multiple`` consecutive windows and tests
    the winner on the next one. The out-of-sample run starts at the in-sample start so its
    indicators are warm, and only its out-of-sample bars are scored. Each fold reports the
    deflated Sharpe ratio of its in-sample winner over all the combinations tried."""
    if folds < 1 or in_sample_multiple < 1:
        raise ValueError("folds and in_sample_multiple must be at least 1")
    window = bars.length // (folds + in_sample_multiple)
    if window < 10:
        raise ValueError(f"{bars.length} bars are too few for {folds} walk-forward folds")
    parameter_names = list(combos[0])
    rows = []
    compounded = 1.0
    for fold in range(folds):
        start = fold * window
        split = start + in_sample_multiple * window
        stop = split + window
        in_sample = bars.slice(start, split)
        sweep = run_sweep(in_sample, builder, combos, execution, rank_by=rank_by, progress=progress)
        best_row = sweep.ranking.row(0, named=True)
        best = {name: float(best_row[name]) for name in parameter_names}
        deflated = best_deflated_sharpe(in_sample, builder, sweep, execution)
        tested = run_backtest(bars.slice(start, stop), builder.build(best), execution)
        in_sample_bars = split - start
        opening = float(tested.equity[in_sample_bars - 1])
        oos_equity = np.ascontiguousarray(tested.equity[in_sample_bars:])
        trades = tested.trade_table.copy()
        trades = trades[trades[:, T_EXIT_BAR] >= in_sample_bars]
        trades[:, T_EXIT_BAR] -= in_sample_bars
        trades[:, T_ENTRY_BAR] = np.maximum(trades[:, T_ENTRY_BAR] - in_sample_bars, 0.0)
        oos = performance(oos_equity, trades, opening, bars.bars_per_year)
        compounded *= float(oos[M_FINAL_EQUITY]) / opening
        stamps = bars.timestamps
        rows.append(
            {
                "fold": fold,
                "in_sample_start": int(stamps[start]),
                "out_of_sample_start": int(stamps[split]),
                "out_of_sample_end": int(stamps[stop - 1]),
                **best,
                f"in_sample_{rank_by}": best_row[rank_by],
                "deflated_sharpe": deflated,
                "out_of_sample_return_pct": float(oos[M_TOTAL_RETURN]),
                "out_of_sample_sharpe": float(oos[M_SHARPE]),
                "out_of_sample_max_drawdown_pct": float(oos[M_MAX_DRAWDOWN]),
                "out_of_sample_trades": int(oos[M_TRADES]),
            }
        )
    frame = pl.DataFrame(rows).with_columns(
        pl.from_epoch(pl.col(c), time_unit="us").dt.replace_time_zone("UTC")
        for c in ("in_sample_start", "out_of_sample_start", "out_of_sample_end")
    )
    return WalkForwardResult(folds=frame, out_of_sample_return_pct=100.0 * (compounded - 1.0))
