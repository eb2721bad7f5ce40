"""Small hand-made bar series and a one-call runner for fill tests."""

from collections.abc import Mapping

import numpy as np

from engine.data import Bars
from engine.runner import BacktestResult, run_signal_function
from engine.strategy import EntryOrder, ExecutionSettings, Risk, Sizing

Ohlc = tuple[float, float, float, float]


def bars_from(rows: list[Ohlc]) -> Bars:
    table = np.array(rows, dtype=np.float64)
    return Bars.from_arrays(table[:, 0], table[:, 1], table[:, 2], table[:, 3])


def flags_at(n: int, flags: Mapping[int, int]) -> np.ndarray:
    out = np.zeros(n, dtype=np.int8)
    for bar, flag in flags.items():
        out[bar] = flag
    return out


def run_flags(
    rows: list[Ohlc],
    flags: Mapping[int, int],
    *,
    execution: ExecutionSettings | None = None,
    allow_short: bool = False,
    risk: Risk | None = None,
    sizing: Sizing | None = None,
    entry_order: EntryOrder | None = None,
) -> BacktestResult:
    bars = bars_from(rows)
    signal = flags_at(len(rows), flags)

    def given_flags(*_arrays: np.ndarray) -> np.ndarray:
        return signal

    return run_signal_function(
        bars,
        given_flags,
        execution=execution or ExecutionSettings(initial_cash=10_000.0),
        allow_short=allow_short,
        risk=risk,
        sizing=sizing,
        entry_order=entry_order,
    )
