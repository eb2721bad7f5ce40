"""Statistics of an equity curve gathered one bar at a time, so the simulation kernel can
produce every curve-based metric while it runs, without writing the curve out: bar
returns summed (and squared, and the negative ones squared) in bar order, the running
peak, the deepest drawdown and the longest stretch under water.

A curve that stays at one value for a stretch of bars (a flat account) is observed in
one step with exactly the result of observing each bar.

The state is a tuple ``(previous, total, total_sq, downside, peak, deepest, floor,
underwater, longest)``: ``previous`` is the last equity seen (the starting cash before
the first bar), ``floor`` the lowest value the current peak allows before the drawdown
deepens, so the loop divides only on a new deepest point, not once per bar for it.
"""

import numpy as np
import numpy.typing as npt

from engine.compile import inline_kernel, kernel

FloatArray = npt.NDArray[np.float64]
CurveState = tuple[float, float, float, float, float, float, float, int, int]

# Positions in the statistics vector a kernel hands back.
(
    C_FINAL_EQUITY,
    C_RETURN_SUM,
    C_RETURN_SQUARES,
    C_DOWNSIDE_SQUARES,
    C_DEEPEST,
    C_LONGEST_UNDERWATER,
) = range(6)
CURVE_STATS = 6


@inline_kernel
def curve_start(initial_cash: float) -> CurveState:
    return (initial_cash, 0.0, 0.0, 0.0, initial_cash, 0.0, initial_cash, 0, 0)


@inline_kernel
def observe(state: CurveState, value: float) -> CurveState:
    """The state after one more bar closing at equity ``value``."""
    previous, total, total_sq, downside, peak, deepest, floor, underwater, longest = state
    r = value / previous - 1.0
    total += r
    total_sq += r * r
    if r < 0.0:
        downside += r * r
    if value >= peak:
        peak = value
        floor = peak * (1.0 - deepest)
        underwater = 0
    else:
        underwater += 1
        longest = max(longest, underwater)
        if value < floor:
            deepest = 1.0 - value / peak
            floor = value
    return (value, total, total_sq, downside, peak, deepest, floor, underwater, longest)


@inline_kernel
def observe_flat(state: CurveState, value: float, bars: int) -> CurveState:
    """The state after ``bars`` more bars all closing at ``value``: the first as usual;
    each further bar returns ``value / value - 1`` (0, or NaN for a zero account, which
    then spreads as it would bar by bar) and only lengthens a stretch under water."""
    state = observe(state, value)
    if bars <= 1:
        return state
    previous, total, total_sq, downside, peak, deepest, floor, underwater, longest = state
    rest = value / value - 1.0
    if rest != 0.0:
        total += rest * (bars - 1)
        total_sq += rest * rest * (bars - 1)
    if not value >= peak:
        underwater += bars - 1
        longest = max(longest, underwater)
    return (previous, total, total_sq, downside, peak, deepest, floor, underwater, longest)


@inline_kernel
def curve_stats(state: CurveState, out: FloatArray) -> None:
    out[C_FINAL_EQUITY] = state[0]
    out[C_RETURN_SUM] = state[1]
    out[C_RETURN_SQUARES] = state[2]
    out[C_DOWNSIDE_SQUARES] = state[3]
    out[C_DEEPEST] = state[5]
    out[C_LONGEST_UNDERWATER] = state[8]


@kernel
def stats_of_curve(equity: FloatArray, initial_cash: float) -> FloatArray:
    """The statistics of a whole equity curve held as an array."""
    state = curve_start(initial_cash)
    for t in range(equity.shape[0]):
        state = observe(state, equity[t])
    out = np.zeros(CURVE_STATS)
    curve_stats(state, out)
    return out
