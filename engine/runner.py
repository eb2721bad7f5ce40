"""Runs a strategy over bars and gathers what a person looks at: equity, cash, position,
trade list and metrics. This is the notebook-facing API; sweeps live in ``engine.sweep``.

    >>> from engine.synthetic import generate_daily
    >>> from engine.strategy import TEMPLATES, ExecutionSettings
    >>> bars = Bars.from_frame(generate_daily(500, seed=7))
    >>> spec = TEMPLATES["sma_cross"].build({"fast": 10, "slow": 30}, False)
    >>> result = run_backtest(bars, spec, ExecutionSettings(initial_cash=10_000))
    >>> result.metrics.trades > 0
    True

Custom signals: write a Numba function returning one int8 flag per bar
(``LONG_ENTRY | LONG_EXIT | SHORT_ENTRY | SHORT_EXIT`` from ``engine.backtest``) and pass it
to ``run_signal_function``; fills, sizing, risk and metrics are the same as for specs.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from engine.backtest import (
    BASE_ROWS,
    EXIT_REASON_NAMES,
    LONG_ENTRY,
    LONG_EXIT,
    SHORT_ENTRY,
    SHORT_EXIT,
    T_DIRECTION,
    T_ENTRY_BAR,
    T_ENTRY_PRICE,
    T_EXIT_BAR,
    T_EXIT_PRICE,
    T_EXIT_REASON,
    T_FEES,
    T_PNL,
    T_RETURN,
    T_UNITS,
    TRADE_COLUMNS,
    book,
    fill_signal_flags,
    simulate_general,
    simulate_plain,
    takes_plain_path,
)
from engine.curve import CURVE_STATS
from engine.data import Bars
from engine.indicators import sma_pair_crossings_into
from engine.metrics import Metrics, drawdown_series, metrics_from_stats
from engine.strategy import (
    BASE_SERIES,
    EntryOrder,
    ExecutionSettings,
    Risk,
    Rules,
    SeriesTable,
    Sizing,
    Sma,
    StrategySpec,
    check_spec,
    compile_rules,
    kernel_settings,
    required_indicators,
)
from engine.workspace import scratch

FloatArray = npt.NDArray[np.float64]
FlagArray = npt.NDArray[np.int8]
NO_FLAGS: FlagArray = np.zeros(0, dtype=np.int8)
MIN_TRADE_ROWS = 4096


@dataclass(frozen=True)
class BacktestResult:
    spec: StrategySpec
    execution: ExecutionSettings
    bars: Bars
    trade_table: FloatArray
    metrics: Metrics

    @cached_property
    def _book(self) -> tuple[FloatArray, FloatArray]:
        # Rebuilt from the trade table on first use: a run that only wants metrics
        # never pays for two more arrays the length of the bars.
        return book(self.trade_table, self.bars.length, self.execution.initial_cash)

    @property
    def cash(self) -> FloatArray:
        """Cash at each bar's close."""
        return self._book[0]

    @property
    def position(self) -> FloatArray:
        """Signed units held at each bar's close."""
        return self._book[1]

    @cached_property
    def equity(self) -> FloatArray:
        """Equity at each bar's close, ``cash + position × close``: the same arithmetic,
        in the same order, as the simulation's marking to market, so the metrics the
        kernel gathered while running describe exactly this curve."""
        return self.cash + self.position * self.bars.close

    @property
    def drawdown(self) -> FloatArray:
        return drawdown_series(self.equity, self.execution.initial_cash)

    def trades(self) -> pl.DataFrame:
        """The trade list, the open trade (``exit_reason == "open"``) last if any."""
        table = self.trade_table
        entry_bars = table[:, T_ENTRY_BAR].astype(np.int64)
        exit_bars = table[:, T_EXIT_BAR].astype(np.int64)
        stamps = self.bars.timestamps
        return pl.DataFrame(
            {
                "direction": np.where(table[:, T_DIRECTION] > 0, "long", "short"),
                "entry_bar": entry_bars,
                "entry_time": pl.Series(stamps[entry_bars]).cast(pl.Datetime("us", "UTC")),
                "entry_price": table[:, T_ENTRY_PRICE],
                "exit_bar": exit_bars,
                "exit_time": pl.Series(stamps[exit_bars]).cast(pl.Datetime("us", "UTC")),
                "exit_price": table[:, T_EXIT_PRICE],
                "units": table[:, T_UNITS],
                "pnl": table[:, T_PNL],
                "return_pct": 100.0 * table[:, T_RETURN],
                "fees": table[:, T_FEES],
                "exit_reason": [EXIT_REASON_NAMES[int(r)] for r in table[:, T_EXIT_REASON]],
            }
        )


def _run(
    bars: Bars,
    spec: StrategySpec,
    execution: ExecutionSettings,
    series: FloatArray,
    rows: Mapping[str, int],
    flags: FlagArray,
) -> BacktestResult:
    settings = kernel_settings(spec, execution, rows)
    n = bars.length
    curve = np.empty(CURVE_STATS)
    # A trade every 16 bars or more often is rare; such runs simulate twice.
    capacity = min(n + 1, max(MIN_TRADE_ROWS, n // 16))
    if flags.shape[0] != n:
        rules = compile_rules(spec, rows)
        flags = scratch("flags", (n,), np.int8)
        fill_signal_flags(
            bars.base,
            series,
            flags,
            rules.group_bounds,
            rules.left,
            rules.op,
            rules.right,
            rules.constant,
            rules.lag,
        )
    # The path chosen here rather than inside ``simulate``: a first run on an empty
    # Numba cache then compiles only the one it takes (sweeps call ``simulate``).
    plain = takes_plain_path(settings)
    listing = scratch("listing", (n if plain else 0,), np.int32)
    while True:
        trade_table: FloatArray = scratch("trades", (capacity, TRADE_COLUMNS), np.float64)
        if plain:
            trade_count = simulate_plain(
                bars.base, series, settings, flags, curve, trade_table, listing
            )
        else:
            trade_count = simulate_general(bars.base, series, settings, flags, curve, trade_table)
        if trade_count <= capacity:
            break
        capacity = trade_count
    # A copy: the table is scratch memory that the next run on this thread reuses.
    trade_table = trade_table[:trade_count].copy()
    vector = metrics_from_stats(curve, trade_table, execution.initial_cash, n, bars.bars_per_year)
    return BacktestResult(
        spec=spec,
        execution=execution,
        bars=bars,
        trade_table=trade_table,
        metrics=Metrics.from_vector(vector),
    )


def run_backtest(bars: Bars, spec: StrategySpec, execution: ExecutionSettings) -> BacktestResult:
    """Backtest one spec on one symbol's bars."""
    check_spec(spec)
    crossings = crossing_flags(bars, spec)
    if crossings is not None:
        # The conditions are answered: the averages themselves are never needed.
        rows = {name: k for k, name in enumerate(BASE_SERIES)}
        rows.update((indicator.name, BASE_ROWS) for indicator in spec.indicators)
        return _run(bars, spec, execution, np.empty((0, bars.length)), rows, crossings)
    table = SeriesTable(bars, list(required_indicators(spec)), reuse=True)
    return _run(bars, spec, execution, table.matrix, table.rows_for(spec), NO_FLAGS)


# Which way a crossing condition's first series crosses its second.
CROSSING_OPS = {"crosses_above": True, "crosses_below": False}


@dataclass(frozen=True)
class Crossover:
    """A spec whose signals are the crossings of two simple moving averages of one
    series: the flag bits set where ``first`` crosses above ``second`` (``rising``) and
    where it crosses below (``falling``)."""

    first: Sma
    second: Sma
    rising: int
    falling: int


def crossover_of(spec: StrategySpec) -> Crossover | None:
    """The crossover a spec is (two simple moving averages of one series; each rule
    group at most one condition, each a lag-free ``crosses_above`` or ``crosses_below``
    between the two), or None."""
    if len(spec.indicators) != 2:
        return None
    first, second = spec.indicators
    if not isinstance(first, Sma) or not isinstance(second, Sma):
        return None
    if first.source != second.source or first.name == second.name:
        return None
    rules = spec.rules
    groups = (rules.long_entry, rules.long_exit, rules.short_entry, rules.short_exit)
    rising = falling = 0
    for bit, group in zip((LONG_ENTRY, LONG_EXIT, SHORT_ENTRY, SHORT_EXIT), groups, strict=True):
        if len(group) > 1:
            return None
        for condition in group:
            upward = CROSSING_OPS.get(condition.op)
            pair = (condition.left, condition.right)
            if upward is None or condition.right_lag != 0:
                return None
            if pair == (first.name, second.name):
                rising, falling = (rising | bit, falling) if upward else (rising, falling | bit)
            elif pair == (second.name, first.name):
                rising, falling = (rising, falling | bit) if upward else (rising | bit, falling)
            else:
                return None
    return Crossover(first, second, rising, falling)


def crossing_flags(bars: Bars, spec: StrategySpec) -> FlagArray | None:
    """The signal flags of a crossover (``crossover_of``) straight from the bars by
    ``sma_pair_crossings_into``: the very flags the conditions give on the averages'
    rows, without writing the rows. None for every other spec, and for volatility
    targeting (its sizing reads a row of the table this route does not build)."""
    crossover = crossover_of(spec)
    if crossover is None or spec.sizing.method == "vol_target":
        return None
    flags = scratch("crossings", (bars.length,), np.int8)
    values: FloatArray = getattr(bars, crossover.first.source)
    sma_pair_crossings_into(
        values,
        crossover.first.window,
        crossover.second.window,
        crossover.rising,
        crossover.falling,
        flags,
    )
    return flags


def run_signal_function(
    bars: Bars,
    signal_function: Callable[..., FlagArray],
    *params: Any,
    execution: ExecutionSettings,
    allow_short: bool = False,
    risk: Risk | None = None,
    sizing: Sizing | None = None,
    entry_order: EntryOrder | None = None,
) -> BacktestResult:
    """Backtest the flags ``signal_function(open, high, low, close, volume, *params)``
    returns (typically a ``numba.njit`` function)."""
    flags = np.ascontiguousarray(
        signal_function(bars.open, bars.high, bars.low, bars.close, bars.volume, *params),
        dtype=np.int8,
    )
    if flags.shape != (bars.length,):
        raise ValueError(f"signal function returned shape {flags.shape}, expected ({bars.length},)")
    spec = StrategySpec(
        name=getattr(signal_function, "__name__", "custom"),
        indicators=(),
        rules=Rules(),
        entry_order=entry_order or EntryOrder(),
        risk=risk or Risk(),
        sizing=sizing or Sizing(),
        allow_short=allow_short,
    )
    table = SeriesTable(bars, list(required_indicators(spec)), reuse=True)
    return _run(bars, spec, execution, table.matrix, table.rows_for(spec), flags)
