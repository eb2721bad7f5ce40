"""Strategy specs as data: frozen msgspec structs a mentor publishes and a mentee runs, the
built-in templates, and the translation of a spec into the kernel's condition arrays.

A spec names its indicators, then four condition groups (long entry, long exit, short
entry, short exit); a group fires at a bar's close when every one of its conditions holds.
Decoding with ``load_spec`` validates every field and reports the failing path, e.g.
``Expected `int` >= 1 - at `$.indicators[0].window```.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

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
from engine.workspace import scratch

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

Window = Annotated[int, msgspec.Meta(ge=1, le=1_000_000)]
# Bars back (a lag) or ahead (an expiry): bounded like a window, so it fits the kernels' int64.
BarCount = Annotated[int, msgspec.Meta(ge=0, le=1_000_000)]
NonNegative = Annotated[float, msgspec.Meta(ge=0.0)]
Positive = Annotated[float, msgspec.Meta(gt=0.0)]
Percent = Annotated[float, msgspec.Meta(gt=0.0, lt=100.0)]
Source = Literal["open", "high", "low", "close"]
BASE_SERIES = ("open", "high", "low", "close", "volume")


class SpecError(ValueError):
    """A spec that decodes but does not make sense; ``path`` names the field."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{message} - at `{path}`")
        self.path = path


class Indicator(msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag_field="kind"):
    """An indicator instance; ``name`` is how conditions refer to it."""

    name: str


class Sma(Indicator, frozen=True, forbid_unknown_fields=True, tag="sma"):
    window: Window
    source: Source = "close"


class Ema(Indicator, frozen=True, forbid_unknown_fields=True, tag="ema"):
    span: Window
    source: Source = "close"


class Wma(Indicator, frozen=True, forbid_unknown_fields=True, tag="wma"):
    window: Window
    source: Source = "close"


class Rsi(Indicator, frozen=True, forbid_unknown_fields=True, tag="rsi"):
    window: Window = 14
    source: Source = "close"


class Macd(Indicator, frozen=True, forbid_unknown_fields=True, tag="macd"):
    """Outputs ``<name>.line``, ``<name>.signal`` and ``<name>.histogram``."""

    fast: Window = 12
    slow: Window = 26
    signal: Window = 9
    source: Source = "close"


class Bollinger(Indicator, frozen=True, forbid_unknown_fields=True, tag="bollinger"):
    """Outputs ``<name>.upper``, ``<name>.middle`` and ``<name>.lower``."""

    window: Window = 20
    width: Positive = 2.0
    source: Source = "close"


class Atr(Indicator, frozen=True, forbid_unknown_fields=True, tag="atr"):
    window: Window = 14


class Stochastic(Indicator, frozen=True, forbid_unknown_fields=True, tag="stochastic"):
    """Outputs ``<name>.k`` and ``<name>.d``."""

    k_window: Window = 14
    d_window: Window = 3


class Donchian(Indicator, frozen=True, forbid_unknown_fields=True, tag="donchian"):
    """Outputs ``<name>.upper``, ``<name>.middle`` and ``<name>.lower``."""

    window: Window = 20


class Vwap(Indicator, frozen=True, forbid_unknown_fields=True, tag="vwap"):
    """Rolling over ``window`` bars, or cumulative when ``window`` is 0."""

    window: Annotated[int, msgspec.Meta(ge=0)] = 0


class ZScore(Indicator, frozen=True, forbid_unknown_fields=True, tag="zscore"):
    window: Window = 20
    source: Source = "close"


class Volatility(Indicator, frozen=True, forbid_unknown_fields=True, tag="volatility"):
    """Annualised realised volatility of log returns."""

    window: Window = 20


AnyIndicator = (
    Sma
    | Ema
    | Wma
    | Rsi
    | Macd
    | Bollinger
    | Atr
    | Stochastic
    | Donchian
    | Vwap
    | ZScore
    | Volatility
)

OUTPUTS: dict[type[Indicator], tuple[str, ...]] = {
    Macd: ("line", "signal", "histogram"),
    Bollinger: ("upper", "middle", "lower"),
    Stochastic: ("k", "d"),
    Donchian: ("upper", "middle", "lower"),
}


class Condition(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``left op right`` at a bar's close; ``right`` is a series name or a constant, read
    ``right_lag`` bars back (``close crosses_above channel.upper`` with lag 1 is a breakout
    of the previous bar's channel)."""

    left: str
    op: Literal["crosses_above", "crosses_below", "above", "below"]
    right: str | float
    right_lag: BarCount = 0


class Rules(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    long_entry: tuple[Condition, ...] = ()
    long_exit: tuple[Condition, ...] = ()
    short_entry: tuple[Condition, ...] = ()
    short_exit: tuple[Condition, ...] = ()


class EntryOrder(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    type: Literal["market", "limit", "stop", "stop_limit"] = "market"
    limit_offset_bps: NonNegative = 0.0
    stop_offset_bps: NonNegative = 0.0
    expiry_bars: BarCount = 0


class Risk(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    stop_loss_pct: Percent | None = None
    take_profit_pct: Positive | None = None
    trailing_stop_pct: Percent | None = None


class Sizing(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``fraction`` is the share of equity for ``all_in`` and the share of equity risked
    per trade for ``fixed_fraction``; ``units`` is for ``fixed_units``."""

    method: Literal["all_in", "fixed_units", "fixed_fraction", "vol_target"] = "all_in"
    fraction: Positive = 1.0
    units: Positive = 1.0
    target_volatility_pct: Positive = 20.0
    volatility_window: Window = 20
    whole_units: bool = False


class StrategySpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: str
    indicators: tuple[AnyIndicator, ...]
    rules: Rules
    entry_order: EntryOrder = EntryOrder()
    risk: Risk = Risk()
    sizing: Sizing = Sizing()
    allow_short: bool = False


class ExecutionSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The broker side of a run: money, costs and fill timing (see ``engine.backtest``)."""

    initial_cash: Positive = 10_000.0
    commission_bps: NonNegative = 0.0
    commission_fixed: NonNegative = 0.0
    slippage_bps: NonNegative = 0.0
    fill: Literal["next_open", "close"] = "next_open"
    leverage_cap: Positive = 1.0
    maintenance_margin_pct: NonNegative = 0.0


def load_spec(source: bytes | str | Mapping[str, Any]) -> StrategySpec:
    """Decode and validate a spec from JSON (bytes or str) or a decoded mapping."""
    if isinstance(source, bytes | str):
        try:
            spec = msgspec.json.decode(source, type=StrategySpec)
        except UnicodeDecodeError as exc:  # msgspec reports bad UTF-8 this way, not as JSON
            raise SpecError("$", f"the spec is not UTF-8 text (byte {exc.start})") from None
    else:
        spec = msgspec.convert(source, StrategySpec)
    check_spec(spec)
    return spec


def check_spec(spec: StrategySpec) -> None:
    """Checks beyond types: names resolve, shorts are allowed where used, sizing works."""
    known = set(BASE_SERIES)
    for k, indicator in enumerate(spec.indicators):
        if indicator.name in known or any(name.startswith(indicator.name + ".") for name in known):
            raise SpecError(f"$.indicators[{k}].name", f"duplicate series name {indicator.name!r}")
        known.update(output_names(indicator))
    for group in ("long_entry", "long_exit", "short_entry", "short_exit"):
        for k, condition in enumerate(getattr(spec.rules, group)):
            path = f"$.rules.{group}[{k}]"
            if condition.left not in known:
                raise SpecError(f"{path}.left", f"unknown series {condition.left!r}")
            if isinstance(condition.right, str) and condition.right not in known:
                raise SpecError(f"{path}.right", f"unknown series {condition.right!r}")
    if not spec.rules.long_entry and not (spec.allow_short and spec.rules.short_entry):
        raise SpecError("$.rules", "no entry conditions")
    if spec.sizing.method == "fixed_fraction" and spec.risk.stop_loss_pct is None:
        raise SpecError("$.risk.stop_loss_pct", "fixed_fraction sizing needs a stop-loss")


def output_names(indicator: Indicator) -> tuple[str, ...]:
    suffixes = OUTPUTS.get(type(indicator))
    if suffixes is None:
        return (indicator.name,)
    return tuple(f"{indicator.name}.{suffix}" for suffix in suffixes)


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
    bounds = np.cumsum([0, *(len(group) for group in groups)]).astype(np.int64)
    return CompiledRules(
        group_bounds=bounds,
        left=np.array([rows[c.left] for c in conditions], dtype=np.int64),
        op=np.array([OPERATORS[c.op] for c in conditions], dtype=np.int64),
        right=np.array(
            [rows[c.right] if isinstance(c.right, str) else -1 for c in conditions], dtype=np.int64
        ),
        constant=np.array(
            [0.0 if isinstance(c.right, str) else float(c.right) for c in conditions],
            dtype=np.float64,
        ),
        lag=np.array([c.right_lag for c in conditions], dtype=np.int64),
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


# Templates: a template turns numeric parameters into a spec.


def _cross_rules(fast: str, slow: str, allow_short: bool) -> Rules:
    up = Condition(left=fast, op="crosses_above", right=slow)
    down = Condition(left=fast, op="crosses_below", right=slow)
    if not allow_short:
        return Rules(long_entry=(up,), long_exit=(down,))
    return Rules(long_entry=(up,), long_exit=(down,), short_entry=(down,), short_exit=(up,))


def _level_rules(
    long_entry: Condition,
    long_exit: Condition,
    short_entry: Condition,
    short_exit: Condition,
    allow_short: bool,
) -> Rules:
    if not allow_short:
        return Rules(long_entry=(long_entry,), long_exit=(long_exit,))
    return Rules(
        long_entry=(long_entry,),
        long_exit=(long_exit,),
        short_entry=(short_entry,),
        short_exit=(short_exit,),
    )


def _sma_cross(p: Mapping[str, float], allow_short: bool) -> StrategySpec:
    return StrategySpec(
        name="sma_cross",
        indicators=(
            Sma(name="fast", window=int(p["fast"])),
            Sma(name="slow", window=int(p["slow"])),
        ),
        rules=_cross_rules("fast", "slow", allow_short),
        allow_short=allow_short,
    )


def _ema_cross(p: Mapping[str, float], allow_short: bool) -> StrategySpec:
    return StrategySpec(
        name="ema_cross",
        indicators=(Ema(name="fast", span=int(p["fast"])), Ema(name="slow", span=int(p["slow"]))),
        rules=_cross_rules("fast", "slow", allow_short),
        allow_short=allow_short,
    )


def _macd(p: Mapping[str, float], allow_short: bool) -> StrategySpec:
    return StrategySpec(
        name="macd",
        indicators=(
            Macd(name="macd", fast=int(p["fast"]), slow=int(p["slow"]), signal=int(p["signal"])),
        ),
        rules=_cross_rules("macd.line", "macd.signal", allow_short),
        allow_short=allow_short,
    )


def _rsi_reversion(p: Mapping[str, float], allow_short: bool) -> StrategySpec:
    lower, upper = float(p["lower"]), float(p["upper"])
    return StrategySpec(
        name="rsi_reversion",
        indicators=(Rsi(name="rsi", window=int(p["window"])),),
        rules=_level_rules(
            Condition(left="rsi", op="below", right=lower),
            Condition(left="rsi", op="above", right=upper),
            Condition(left="rsi", op="above", right=upper),
            Condition(left="rsi", op="below", right=lower),
            allow_short,
        ),
        allow_short=allow_short,
    )


def _bollinger_breakout(p: Mapping[str, float], allow_short: bool) -> StrategySpec:
    return StrategySpec(
        name="bollinger_breakout",
        indicators=(Bollinger(name="bb", window=int(p["window"]), width=float(p["width"])),),
        rules=_level_rules(
            Condition(left="close", op="crosses_above", right="bb.upper"),
            Condition(left="close", op="crosses_below", right="bb.middle"),
            Condition(left="close", op="crosses_below", right="bb.lower"),
            Condition(left="close", op="crosses_above", right="bb.middle"),
            allow_short,
        ),
        allow_short=allow_short,
    )


def _bollinger_reversion(p: Mapping[str, float], allow_short: bool) -> StrategySpec:
    return StrategySpec(
        name="bollinger_reversion",
        indicators=(Bollinger(name="bb", window=int(p["window"]), width=float(p["width"])),),
        rules=_level_rules(
            Condition(left="close", op="below", right="bb.lower"),
            Condition(left="close", op="above", right="bb.middle"),
            Condition(left="close", op="above", right="bb.upper"),
            Condition(left="close", op="below", right="bb.middle"),
            allow_short,
        ),
        allow_short=allow_short,
    )


def _donchian_breakout(p: Mapping[str, float], allow_short: bool) -> StrategySpec:
    return StrategySpec(
        name="donchian_breakout",
        indicators=(
            Donchian(name="entry", window=int(p["entry_window"])),
            Donchian(name="exit", window=int(p["exit_window"])),
        ),
        rules=_level_rules(
            Condition(left="close", op="above", right="entry.upper", right_lag=1),
            Condition(left="close", op="below", right="exit.lower", right_lag=1),
            Condition(left="close", op="below", right="entry.lower", right_lag=1),
            Condition(left="close", op="above", right="exit.upper", right_lag=1),
            allow_short,
        ),
        allow_short=allow_short,
    )


@dataclass(frozen=True)
class Template:
    """A named spec builder with its default parameters."""

    name: str
    defaults: Mapping[str, float]
    build: Callable[[Mapping[str, float], bool], StrategySpec]


TEMPLATES: dict[str, Template] = {
    t.name: t
    for t in (
        Template("sma_cross", {"fast": 10, "slow": 30}, _sma_cross),
        Template("ema_cross", {"fast": 12, "slow": 26}, _ema_cross),
        Template("rsi_reversion", {"window": 14, "lower": 30, "upper": 70}, _rsi_reversion),
        Template("bollinger_breakout", {"window": 20, "width": 2.0}, _bollinger_breakout),
        Template("bollinger_reversion", {"window": 20, "width": 2.0}, _bollinger_reversion),
        Template("donchian_breakout", {"entry_window": 20, "exit_window": 10}, _donchian_breakout),
        Template("macd", {"fast": 12, "slow": 26, "signal": 9}, _macd),
    )
}


class SpecBuilder:
    """Turns parameter values into a validated spec, from a template name or a spec file.

    Template parameters are the template's (``fast``, ``slow``...). For a spec file a
    parameter is a dotted path into the spec: ``fast.window`` sets the ``window`` of the
    indicator named ``fast``; ``risk.stop_loss_pct`` or ``sizing.fraction`` set those fields.
    """

    def __init__(
        self,
        strategy: str,
        *,
        allow_short: bool = False,
        sizing: Sizing | None = None,
        risk: Risk | None = None,
        entry_order: EntryOrder | None = None,
    ) -> None:
        self.template = TEMPLATES.get(strategy)
        self.base: StrategySpec | None = None
        if self.template is None:
            path = Path(strategy)
            if not path.is_file():
                known = ", ".join(TEMPLATES)
                raise SpecError(
                    "--strategy", f"{strategy!r} is neither a template ({known}) nor a spec file"
                )
            self.base = load_spec(path.read_bytes())
        self.allow_short = allow_short
        self.overrides: dict[str, Any] = {}
        if sizing is not None:
            self.overrides["sizing"] = sizing
        if risk is not None:
            self.overrides["risk"] = risk
        if entry_order is not None:
            self.overrides["entry_order"] = entry_order

    @property
    def defaults(self) -> Mapping[str, float]:
        return self.template.defaults if self.template is not None else {}

    def build(self, params: Mapping[str, float]) -> StrategySpec:
        if self.template is not None:
            unknown = set(params) - set(self.template.defaults)
            if unknown:
                raise SpecError(
                    f"--param {sorted(unknown)[0]}", f"not a parameter of {self.template.name}"
                )
            spec = self.template.build({**self.template.defaults, **params}, self.allow_short)
            document: dict[str, Any] = msgspec.to_builtins(spec)
        else:
            assert self.base is not None
            document = msgspec.to_builtins(self.base)
            document["allow_short"] = document["allow_short"] or self.allow_short
            for name, value in params.items():
                _set_path(document, name, value)
        for field, value in self.overrides.items():
            document[field] = msgspec.to_builtins(value)
        return load_spec(document)


def _set_path(document: dict[str, Any], dotted: str, value: float) -> None:
    head, _, field = dotted.partition(".")
    if not field:
        raise SpecError(f"--param {dotted}", "expected <indicator or section>.<field>")
    for indicator in document["indicators"]:
        if indicator["name"] == head:
            if field not in indicator:
                raise SpecError(f"--param {dotted}", f"indicator {head!r} has no field {field!r}")
            indicator[field] = int(value) if isinstance(indicator[field], int) else value
            return
    section = document.get(head)
    if isinstance(section, dict):
        section[field] = value
        return
    raise SpecError(f"--param {dotted}", f"no indicator or section named {head!r}")
