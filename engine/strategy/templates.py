"""The bundled strategy templates, each turning numeric parameters into a spec, and
``SpecBuilder``, which builds a validated spec from a template or a spec file with
parameter values (the backtests API, the CLI and sweeps all build specs through it)."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from engine.strategy.spec import (
    Bollinger,
    Condition,
    Donchian,
    Ema,
    EntryOrder,
    Macd,
    Risk,
    Rsi,
    Rules,
    Sizing,
    Sma,
    SpecError,
    StrategySpec,
    load_spec,
)


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
