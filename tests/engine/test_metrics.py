"""Metric formulas on small hand-computed series."""

import math

import numpy as np
import pytest

from engine.backtest import (
    EXIT_SIGNAL,
    EXIT_STILL_OPEN,
    T_ENTRY_BAR,
    T_EXIT_BAR,
    T_EXIT_REASON,
    T_PNL,
    T_RETURN,
    TRADE_COLUMNS,
)
from engine.metrics import Metrics, drawdown_series, performance

NO_TRADES = np.zeros((0, TRADE_COLUMNS))


def metrics_of(
    equity: list[float], trades: np.ndarray = NO_TRADES, cash: float = 100.0, per_year: float = 4.0
) -> Metrics:
    return Metrics.from_vector(performance(np.array(equity), trades, cash, per_year))


def test_returns_volatility_sharpe_and_sortino_from_a_four_bar_curve() -> None:
    # Bar returns from 100: +10 %, -10 %, +0 %, +25 %.
    result = metrics_of([110.0, 99.0, 99.0, 123.75])
    returns = [0.1, -0.1, 0.0, 0.25]
    mean = sum(returns) / 4  # 0.0625
    std = math.sqrt(sum((r - mean) ** 2 for r in returns) / 3)
    assert result.final_equity == 123.75
    assert result.total_return_pct == pytest.approx(23.75)
    assert result.annual_volatility_pct == pytest.approx(100 * std * 2)
    assert result.sharpe == pytest.approx(mean / std * 2)
    assert result.sortino == pytest.approx(mean / math.sqrt(0.01 / 4) * 2)


def test_cagr_annualises_by_bars_per_year() -> None:
    # Eight quarterly bars (two years at four bars a year) doubling the money: CAGR √2 − 1.
    result = metrics_of([100.0] * 7 + [200.0])
    assert result.cagr_pct == pytest.approx(100 * (math.sqrt(2) - 1))


def test_max_drawdown_depth_duration_and_calmar() -> None:
    # Peak 120 at bar 1, trough 90 at bar 3 (-25 %), back above 120 at bar 5.
    result = metrics_of([110.0, 120.0, 100.0, 90.0, 115.0, 130.0, 125.0])
    assert result.max_drawdown_pct == pytest.approx(25.0)
    assert result.max_drawdown_bars == 3
    assert result.calmar == pytest.approx(result.cagr_pct / 25.0)
    np.testing.assert_allclose(
        drawdown_series(np.array([110.0, 120.0, 100.0, 90.0]), 100.0), [0.0, 0.0, 1 / 6, 0.25]
    )


def test_starting_cash_counts_as_the_first_peak() -> None:
    assert metrics_of([90.0, 95.0]).max_drawdown_pct == pytest.approx(10.0)


def trade_rows(rows: list[tuple[int, int, float, float, int]]) -> np.ndarray:
    table = np.zeros((len(rows), TRADE_COLUMNS))
    for k, (entry, exit_, pnl, ret, reason) in enumerate(rows):
        table[k, [T_ENTRY_BAR, T_EXIT_BAR, T_PNL, T_RETURN, T_EXIT_REASON]] = (
            entry,
            exit_,
            pnl,
            ret,
            reason,
        )
    return table


def test_trade_statistics_over_closed_trades_only() -> None:
    trades = trade_rows(
        [
            (0, 2, 100.0, 0.10, EXIT_SIGNAL),
            (3, 4, -50.0, -0.05, EXIT_SIGNAL),
            (5, 7, 30.0, 0.03, EXIT_SIGNAL),
            (8, 9, 999.0, 0.9, EXIT_STILL_OPEN),
        ]
    )
    result = metrics_of([100.0] * 10, trades)
    assert result.trades == 3
    assert result.win_rate_pct == pytest.approx(200 / 3)
    assert result.profit_factor == pytest.approx(130 / 50)
    assert result.expectancy == pytest.approx(80 / 3)
    assert result.average_trade_pct == pytest.approx(100 * 0.08 / 3)
    assert result.best_trade_pct == pytest.approx(10.0)
    assert result.worst_trade_pct == pytest.approx(-5.0)
    spread = float(np.std([100.0, -50.0, 30.0], ddof=1))
    assert result.sqn == pytest.approx(math.sqrt(3) * (80 / 3) / spread)
    # Held at closes 0-1, 3, 5-6 and 8-9: 7 of 10 bars.
    assert result.exposure_pct == pytest.approx(70.0)


def test_undefined_ratios_are_nan_not_invented() -> None:
    result = metrics_of([100.0, 100.0, 100.0])
    assert math.isnan(result.sharpe)
    assert math.isnan(result.sortino)
    assert math.isnan(result.calmar)
    assert math.isnan(result.win_rate_pct)
    assert result.trades == 0
    only_winners = metrics_of([100.0] * 3, trade_rows([(0, 1, 5.0, 0.05, EXIT_SIGNAL)]))
    assert math.isnan(only_winners.profit_factor)
