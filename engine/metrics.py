"""Performance metrics of one backtest, computed from its equity curve's statistics
(``engine.curve``, gathered by the simulation kernel as it runs) and its trade table by
one Numba kernel shared by single runs, sweeps and live portfolios.

Formulas (``E_t`` equity at the close of bar ``t``, ``E_-1`` the starting cash, ``n`` bars,
``P`` bars per year inferred from the data's timestamps, see ``engine.data``):

* bar returns ``r_t = E_t / E_(t-1) - 1`` for ``t = 0..n-1``;
* total return ``E_(n-1) / E_-1 - 1``; the final equity marks an open position to market
  at the last close without closing it (no exit fee is charged);
* CAGR ``(E_(n-1) / E_-1) ** (P / n) - 1`` (−100 % once equity is gone);
* annual volatility ``std(r, ddof=1) × sqrt(P)``; Sharpe ``mean(r) / std(r, ddof=1) ×
  sqrt(P)`` (zero risk-free rate); Sortino ``mean(r) / sqrt(mean(min(r, 0)²)) × sqrt(P)``;
* drawdown ``1 - E_t / max(E_-1..E_t)``; max drawdown is its largest value, its duration
  the longest run of bars spent below a previous peak; Calmar ``CAGR / max drawdown``;
* over closed trades (net of fees): win rate (profit > 0), profit factor (gross profit /
  gross loss), expectancy (mean profit per trade, in money), average / best / worst trade
  return on entry notional, SQN ``sqrt(N) × mean(profit) / std(profit, ddof=1)``;
* exposure: share of bar closes at which a position was held.

A ratio whose denominator is zero is NaN (JSON ``null``), never a made-up number.
"""

import math

import msgspec
import numpy as np
import numpy.typing as npt

from engine.backtest import (
    EXIT_STILL_OPEN,
    T_ENTRY_BAR,
    T_EXIT_BAR,
    T_EXIT_REASON,
    T_PNL,
    T_RETURN,
)
from engine.compile import kernel
from engine.curve import (
    C_DEEPEST,
    C_DOWNSIDE_SQUARES,
    C_FINAL_EQUITY,
    C_LONGEST_UNDERWATER,
    C_RETURN_SQUARES,
    C_RETURN_SUM,
    stats_of_curve,
)

FloatArray = npt.NDArray[np.float64]

METRIC_NAMES = (
    "final_equity",
    "total_return_pct",
    "cagr_pct",
    "annual_volatility_pct",
    "sharpe",
    "sortino",
    "calmar",
    "max_drawdown_pct",
    "max_drawdown_bars",
    "trades",
    "win_rate_pct",
    "profit_factor",
    "expectancy",
    "average_trade_pct",
    "best_trade_pct",
    "worst_trade_pct",
    "sqn",
    "exposure_pct",
)
(
    M_FINAL_EQUITY,
    M_TOTAL_RETURN,
    M_CAGR,
    M_ANNUAL_VOLATILITY,
    M_SHARPE,
    M_SORTINO,
    M_CALMAR,
    M_MAX_DRAWDOWN,
    M_MAX_DRAWDOWN_BARS,
    M_TRADES,
    M_WIN_RATE,
    M_PROFIT_FACTOR,
    M_EXPECTANCY,
    M_AVERAGE_TRADE,
    M_BEST_TRADE,
    M_WORST_TRADE,
    M_SQN,
    M_EXPOSURE,
) = range(len(METRIC_NAMES))


class Metrics(msgspec.Struct, frozen=True, kw_only=True):
    """The metrics of one backtest; percentages are in percent, ratios are plain."""

    final_equity: float
    total_return_pct: float
    cagr_pct: float
    annual_volatility_pct: float
    sharpe: float
    sortino: float
    calmar: float
    max_drawdown_pct: float
    max_drawdown_bars: int
    trades: int
    win_rate_pct: float
    profit_factor: float
    expectancy: float
    average_trade_pct: float
    best_trade_pct: float
    worst_trade_pct: float
    sqn: float
    exposure_pct: float

    @classmethod
    def from_vector(cls, values: FloatArray) -> "Metrics":
        fields = {name: float(values[k]) for k, name in enumerate(METRIC_NAMES)}
        fields["trades"] = int(values[M_TRADES])
        fields["max_drawdown_bars"] = int(values[M_MAX_DRAWDOWN_BARS])
        return cls(**fields)  # type: ignore[arg-type]


@kernel
def performance(
    equity: FloatArray, trades: FloatArray, initial_cash: float, bars_per_year: float
) -> FloatArray:
    """All metrics of an equity curve held as an array and its trade table, as one vector
    indexed by the ``M_*`` constants (see module doc)."""
    return metrics_from_stats(
        stats_of_curve(equity, initial_cash), trades, initial_cash, equity.shape[0], bars_per_year
    )


@kernel
def metrics_from_stats(
    stats: FloatArray, trades: FloatArray, initial_cash: float, n: int, bars_per_year: float
) -> FloatArray:
    """All metrics as one vector indexed by the ``M_*`` constants, from the curve
    statistics of ``n`` bars (``engine.curve``: gathered by the simulation as it runs, or
    from an array) and the trade table."""
    out = np.full(len(METRIC_NAMES), np.nan)
    if n == 0:
        return out
    final = stats[C_FINAL_EQUITY]
    out[M_FINAL_EQUITY] = final
    growth = final / initial_cash
    out[M_TOTAL_RETURN] = 100.0 * (growth - 1.0)
    out[M_CAGR] = 100.0 * (growth ** (bars_per_year / n) - 1.0) if growth > 0.0 else -100.0

    total = stats[C_RETURN_SUM]
    total_sq = stats[C_RETURN_SQUARES]
    downside = stats[C_DOWNSIDE_SQUARES]
    deepest = stats[C_DEEPEST]
    longest = stats[C_LONGEST_UNDERWATER]
    mean = total / n
    squares = max(total_sq - total * total / n, 0.0)
    annualiser = math.sqrt(bars_per_year)
    if n > 1:
        deviation = math.sqrt(squares / (n - 1))
        out[M_ANNUAL_VOLATILITY] = 100.0 * deviation * annualiser
        if deviation > 0.0:
            out[M_SHARPE] = mean / deviation * annualiser
    downside_deviation = math.sqrt(downside / n)
    if downside_deviation > 0.0:
        out[M_SORTINO] = mean / downside_deviation * annualiser
    out[M_MAX_DRAWDOWN] = 100.0 * deepest
    out[M_MAX_DRAWDOWN_BARS] = longest
    if deepest > 0.0:
        out[M_CALMAR] = out[M_CAGR] / (100.0 * deepest)

    closed = 0
    wins = 0
    gross_profit = 0.0
    gross_loss = 0.0
    pnl_total = 0.0
    return_total = 0.0
    best = -np.inf
    worst = np.inf
    bars_held = 0.0
    for k in range(trades.shape[0]):
        if trades[k, T_EXIT_REASON] == EXIT_STILL_OPEN:
            bars_held += n - trades[k, T_ENTRY_BAR]
            continue
        bars_held += trades[k, T_EXIT_BAR] - trades[k, T_ENTRY_BAR]
        pnl = trades[k, T_PNL]
        closed += 1
        pnl_total += pnl
        return_total += trades[k, T_RETURN]
        best = max(best, trades[k, T_RETURN])
        worst = min(worst, trades[k, T_RETURN])
        if pnl > 0.0:
            wins += 1
            gross_profit += pnl
        else:
            gross_loss -= pnl
    out[M_TRADES] = closed
    out[M_EXPOSURE] = 100.0 * bars_held / n
    if closed > 0:
        expectancy = pnl_total / closed
        out[M_WIN_RATE] = 100.0 * wins / closed
        out[M_EXPECTANCY] = expectancy
        out[M_AVERAGE_TRADE] = 100.0 * return_total / closed
        out[M_BEST_TRADE] = 100.0 * best
        out[M_WORST_TRADE] = 100.0 * worst
        if gross_loss > 0.0:
            out[M_PROFIT_FACTOR] = gross_profit / gross_loss
        if closed > 1:
            spread = 0.0
            for k in range(trades.shape[0]):
                if trades[k, T_EXIT_REASON] != EXIT_STILL_OPEN:
                    spread += (trades[k, T_PNL] - expectancy) ** 2
            spread = math.sqrt(spread / (closed - 1))
            if spread > 0.0:
                out[M_SQN] = math.sqrt(closed) * expectancy / spread
    return out


def drawdown_series(equity: FloatArray, initial_cash: float) -> FloatArray:
    """Drawdown at each bar as a fraction below the running peak (starting cash included)."""
    peaks = np.maximum.accumulate(np.concatenate(([initial_cash], equity)))[1:]
    return np.asarray(1.0 - equity / peaks, dtype=np.float64)
