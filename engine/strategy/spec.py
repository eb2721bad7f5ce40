"""A strategy spec as data: the frozen msgspec structs a mentor publishes and a mentee
runs, the broker-side execution settings, and the validation that a decoded spec makes
sense.

A spec names its indicators, then four condition groups (long entry, long exit, short
entry, short exit); a group fires at a bar's close when every one of its conditions holds.
Decoding with ``load_spec`` validates every field and reports the failing path, e.g.
``Expected `int` >= 1 - at `$.indicators[0].window```.
"""

from collections.abc import Mapping
from typing import Annotated, Any, Literal

import msgspec

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
