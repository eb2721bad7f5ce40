"""Compiling a spec into what ``engine.backtest.simulate`` reads: the indicator series
table (each distinct indicator computed once), the conditions as parallel arrays, and
the settings vector in kernel units."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import msgspec
import numpy as np
import numpy.typing as npt

from engine import indicators
from engine.backtest import (
    BASE_ROWS,
    OP_ABOVE,
    OP_BELOW,
    OP_CROSSES_ABOVE,
    OP_CROSSES_BELOW,
    ORDER_LIMIT,
    ORDER_MARKET,
    ORDER_STOP,
    ORDER_STOP_LIMIT,
    S_ALLOW_SHORT,
    S_CASH,
    S_COMMISSION_FIXED,
    S_COMMISSION_RATE,
    S_EXPIRY_BARS,
    S_FILL_AT_CLOSE,
    S_LEVERAGE_CAP,
    S_LIMIT_OFFSET,
    S_MAINTENANCE_MARGIN,
    S_ORDER_TYPE,
    S_SIZE_VALUE,
    S_SIZING,
    S_SLIPPAGE_RATE,
    S_STOP_LOSS,
    S_STOP_OFFSET,
    S_TAKE_PROFIT,
    S_TARGET_VOLATILITY,
    S_TRAILING_STOP,
    S_VOLATILITY_ROW,
    S_WHOLE_UNITS,
    SETTINGS_LENGTH,
    SIZING_ALL_IN,
    SIZING_FIXED_FRACTION,
    SIZING_FIXED_UNITS,
    SIZING_VOL_TARGET,
)
from engine.data import Bars
from engine.strategy.spec import (
    BASE_SERIES,
    Atr,
    Bollinger,
    Donchian,
    Ema,
    ExecutionSettings,
    Indicator,
    Macd,
    Rsi,
    Sma,
    SpecError,
    Stochastic,
    StrategySpec,
    Volatility,
    Vwap,
    Wma,
    ZScore,
    output_names,
)
from engine.workspace import scratch

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def indicator_key(indicator: Indicator) -> tuple[Any, ...]:
    """What makes two indicators compute the same thing, whatever their names."""
    values = msgspec.structs.astuple(indicator)[1:]
    return (type(indicator).__name__, *values)


def _source(bars: Bars, name: str) -> FloatArray:
    array: FloatArray = getattr(bars, name)
    return array


def compute_indicator_into(indicator: Indicator, bars: Bars, rows: list[FloatArray]) -> None:
    """Write the indicator's outputs, in the order of ``output_names``, into ``rows``:
    the moving averages straight into place, the others through a copy."""
    match indicator:
        case Sma(window=window, source=source):
            indicators.sma_into(_source(bars, source), window, rows[0])
        case Ema(span=span, source=source):
            indicators.ema_into(_source(bars, source), span, rows[0])
        case _:
            for row, output in zip(rows, compute_indicator(indicator, bars), strict=True):
                row[:] = output


def compute_indicator(indicator: Indicator, bars: Bars) -> tuple[FloatArray, ...]:
    """The indicator's output arrays, in the order of ``output_names``."""
    match indicator:
        case Sma(window=window, source=source):
            return (indicators.sma(_source(bars, source), window),)
        case Ema(span=span, source=source):
            return (indicators.ema(_source(bars, source), span),)
        case Wma(window=window, source=source):
            return (indicators.wma(_source(bars, source), window),)
        case Rsi(window=window, source=source):
            return (indicators.rsi(_source(bars, source), window),)
        case Macd(fast=fast, slow=slow, signal=signal, source=source):
            return tuple(indicators.macd(_source(bars, source), fast, slow, signal))
        case Bollinger(window=window, width=width, source=source):
            return tuple(indicators.bollinger(_source(bars, source), window, width))
        case Atr(window=window):
            return (indicators.atr(bars.high, bars.low, bars.close, window),)
        case Stochastic(k_window=k_window, d_window=d_window):
            return tuple(indicators.stochastic(bars.high, bars.low, bars.close, k_window, d_window))
        case Donchian(window=window):
            return tuple(indicators.donchian(bars.high, bars.low, window))
        case Vwap(window=window):
            return (indicators.vwap(bars.high, bars.low, bars.close, bars.volume, window),)
        case ZScore(window=window, source=source):
            return (indicators.zscore(_source(bars, source), window),)
        case Volatility(window=window):
            return (indicators.realised_volatility(bars.close, window, bars.bars_per_year),)
    raise SpecError("$.indicators", f"unsupported indicator {type(indicator).__name__}")


def required_indicators(spec: StrategySpec) -> tuple[Indicator, ...]:
    """The spec's indicators plus the volatility series vol-target sizing reads."""
    if spec.sizing.method != "vol_target":
        return spec.indicators
    return (*spec.indicators, sizing_volatility(spec))


def sizing_volatility(spec: StrategySpec) -> Volatility:
    return Volatility(name="sizing.volatility", window=spec.sizing.volatility_window)


class SeriesTable:
    """Indicator outputs as rows of one C-contiguous matrix beside the bars' own rows
    (row numbers count the five bar rows first). Each distinct indicator is computed once
    however many specs use it; with ``spare_rows`` the table can ``ensure`` further
    indicators later, reusing the rows of ones no longer needed."""

    def __init__(
        self, bars: Bars, needed: list[Indicator], spare_rows: int = 0, *, reuse: bool = False
    ) -> None:
        """With ``reuse`` the matrix is this thread's scratch memory (``engine.workspace``):
        for a table that does not outlive the run it was built for."""
        self.bars = bars
        distinct = {indicator_key(ind): ind for ind in needed}
        row_count = sum(len(output_names(ind)) for ind in distinct.values()) + spare_rows
        shape = (row_count, bars.length)
        self.matrix: FloatArray = scratch("series", shape, np.float64) if reuse else np.empty(shape)
        self.rows_of: dict[tuple[Any, ...], tuple[int, ...]] = {}
        self.free_rows = list(range(BASE_ROWS + row_count - 1, BASE_ROWS - 1, -1))
        self.computed = 0
        self.ensure(needed)

    def ensure(self, needed: list[Indicator]) -> None:
        """Compute the missing ones among ``needed``, evicting cached indicators that
        ``needed`` does not use when rows run out."""
        wanted = {indicator_key(ind): ind for ind in needed}
        missing: list[tuple[tuple[Any, ...], Indicator, tuple[int, ...]]] = []
        for key, indicator in wanted.items():
            if key in self.rows_of:
                continue
            width = len(output_names(indicator))
            while len(self.free_rows) < width:
                evictable = next((k for k in self.rows_of if k not in wanted), None)
                if evictable is None:
                    raise MemoryError("the series table is too small for one chunk's indicators")
                self.free_rows.extend(self.rows_of.pop(evictable))
            missing.append((key, indicator, tuple(self.free_rows.pop() for _ in range(width))))
        # Moving averages of the same series go in pairs: one pass reads the series once.
        unpaired: dict[str, tuple[Sma, FloatArray]] = {}
        for _, indicator, rows in missing:
            outputs = [self.matrix[row - BASE_ROWS] for row in rows]
            if not isinstance(indicator, Sma):
                compute_indicator_into(indicator, self.bars, outputs)
                continue
            partner = unpaired.pop(indicator.source, None)
            if partner is None:
                unpaired[indicator.source] = (indicator, outputs[0])
                continue
            indicators.sma_pair_into(
                _source(self.bars, indicator.source),
                partner[0].window,
                partner[1],
                indicator.window,
                outputs[0],
            )
        for indicator, output in unpaired.values():
            compute_indicator_into(indicator, self.bars, [output])
        for key, _, rows in missing:
            self.rows_of[key] = rows
        self.computed += len(missing)

    def rows_for(self, spec: StrategySpec) -> dict[str, int]:
        rows = {name: k for k, name in enumerate(BASE_SERIES)}
        for indicator in required_indicators(spec):
            key_rows = self.rows_of[indicator_key(indicator)]
            rows.update(zip(output_names(indicator), key_rows, strict=True))
        return rows


@dataclass(frozen=True)
class CompiledRules:
    """A spec's conditions as the parallel arrays ``engine.backtest.simulate`` reads."""

    group_bounds: IntArray
    left: IntArray
    op: IntArray
    right: IntArray
    constant: FloatArray
    lag: IntArray


OPERATORS = {
    "crosses_above": OP_CROSSES_ABOVE,
    "crosses_below": OP_CROSSES_BELOW,
    "above": OP_ABOVE,
    "below": OP_BELOW,
}


def compile_rules(spec: StrategySpec, rows: Mapping[str, int]) -> CompiledRules:
    groups = (
        spec.rules.long_entry,
        spec.rules.long_exit,
        spec.rules.short_entry,
        spec.rules.short_exit,
    )
    conditions = [condition for group in groups for condition in group]
    # Built from plain lists (no ``np.cumsum``): a sweep compiles every combination's
    # rules, and numpy's per-call overhead there was a measurable share of a small sweep.
    bounds = [0]
    for group in groups:
        bounds.append(bounds[-1] + len(group))
    left: list[int] = []
    op: list[int] = []
    right: list[int] = []
    constant: list[float] = []
    lag: list[int] = []
    for c in conditions:
        left.append(rows[c.left])
        op.append(OPERATORS[c.op])
        if isinstance(c.right, str):
            right.append(rows[c.right])
            constant.append(0.0)
        else:
            right.append(-1)
            constant.append(float(c.right))
        lag.append(c.right_lag)
    return CompiledRules(
        group_bounds=np.array(bounds, dtype=np.int64),
        left=np.array(left, dtype=np.int64),
        op=np.array(op, dtype=np.int64),
        right=np.array(right, dtype=np.int64),
        constant=np.array(constant, dtype=np.float64),
        lag=np.array(lag, dtype=np.int64),
    )


ORDER_TYPES = {
    "market": ORDER_MARKET,
    "limit": ORDER_LIMIT,
    "stop": ORDER_STOP,
    "stop_limit": ORDER_STOP_LIMIT,
}
SIZING_METHODS = {
    "all_in": SIZING_ALL_IN,
    "fixed_units": SIZING_FIXED_UNITS,
    "fixed_fraction": SIZING_FIXED_FRACTION,
    "vol_target": SIZING_VOL_TARGET,
}


def kernel_settings(
    spec: StrategySpec, execution: ExecutionSettings, rows: Mapping[str, int]
) -> FloatArray:
    """The settings vector ``engine.backtest.simulate`` reads, in kernel units (fractions)."""
    settings = np.zeros(SETTINGS_LENGTH)
    settings[S_CASH] = execution.initial_cash
    settings[S_FILL_AT_CLOSE] = execution.fill == "close"
    settings[S_ALLOW_SHORT] = spec.allow_short
    settings[S_ORDER_TYPE] = ORDER_TYPES[spec.entry_order.type]
    settings[S_LIMIT_OFFSET] = spec.entry_order.limit_offset_bps / 1e4
    settings[S_STOP_OFFSET] = spec.entry_order.stop_offset_bps / 1e4
    settings[S_EXPIRY_BARS] = spec.entry_order.expiry_bars
    settings[S_STOP_LOSS] = (spec.risk.stop_loss_pct or 0.0) / 100.0
    settings[S_TAKE_PROFIT] = (spec.risk.take_profit_pct or 0.0) / 100.0
    settings[S_TRAILING_STOP] = (spec.risk.trailing_stop_pct or 0.0) / 100.0
    settings[S_SIZING] = SIZING_METHODS[spec.sizing.method]
    sizing = spec.sizing
    settings[S_SIZE_VALUE] = sizing.units if sizing.method == "fixed_units" else sizing.fraction
    settings[S_WHOLE_UNITS] = sizing.whole_units
    settings[S_COMMISSION_RATE] = execution.commission_bps / 1e4
    settings[S_COMMISSION_FIXED] = execution.commission_fixed
    settings[S_SLIPPAGE_RATE] = execution.slippage_bps / 1e4
    settings[S_LEVERAGE_CAP] = execution.leverage_cap
    settings[S_MAINTENANCE_MARGIN] = execution.maintenance_margin_pct / 100.0
    if sizing.method == "vol_target":
        settings[S_VOLATILITY_ROW] = rows[sizing_volatility(spec).name]
        settings[S_TARGET_VOLATILITY] = sizing.target_volatility_pct / 100.0
    return settings
