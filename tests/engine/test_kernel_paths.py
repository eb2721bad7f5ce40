"""The simulation kernel's fast paths against plain references: skipping quiet bars eight
at a time, conditions evaluated block by block, and cash and position rebuilt from the
trade table."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from msgspec.structs import astuple

from engine.backtest import (
    BASE_ROWS,
    EXIT_MARGIN_CALL,
    LONG_ENTRY,
    LONG_EXIT,
    OP_ABOVE,
    OP_BELOW,
    OP_CROSSES_ABOVE,
    OP_CROSSES_BELOW,
    SHORT_ENTRY,
    SIGNAL_BLOCK_BARS,
    T_EXIT_REASON,
    _fill_signal_flags,
    _next_flagged,
    _prefetch_flagged,
)
from engine.data import Bars
from engine.metrics import Metrics, performance
from engine.runner import run_backtest
from engine.strategy import ExecutionSettings, Risk, Sizing, SpecBuilder
from engine.synthetic import generate_daily, generate_intraday


def test_next_flagged_finds_the_first_watched_bar_across_word_boundaries() -> None:
    rng = np.random.default_rng(3)
    for n in [0, 1, 7, 8, 9, 15, 16, 17, 63, 64, 65, 200]:
        for density in (0.0, 0.02, 0.3):
            flags = np.where(rng.random(n) < density, rng.integers(1, 16, n), 0).astype(np.int8)
            words = flags[: n - n % 8].view(np.uint64)
            for watch in (LONG_ENTRY, LONG_EXIT | SHORT_ENTRY, 15):
                for start in range(n + 1):
                    hits = [i for i in range(start, n) if flags[i] & watch]
                    expected = hits[0] if hits else n
                    assert _next_flagged(flags, words, start, watch) == expected, (n, start)


def test_prefetch_of_flagged_bars_always_moves_on_and_ends_at_the_bar_count() -> None:
    # The simulation prefetches again whenever it comes within PREFETCH_BARS of where the
    # last prefetch stopped: an answer short of ``stop`` would repeat it on every bar.
    rng = np.random.default_rng(5)
    for n in [1, 7, 8, 9, 64, 65, 200, 1000]:
        flags = np.where(rng.random(n) < 0.3, rng.integers(1, 16, n), 0).astype(np.int8)
        words = flags[: n - n % 8].view(np.uint64)
        prices = rng.random(n) + 1.0
        for start in range(0, n + 8, 3):
            for span in (1, 8, 50, 2 * n):
                stop = start + span
                reached = _prefetch_flagged(words, prices, prices, start, stop)
                assert reached == n or (stop <= reached < stop + 8 and reached % 8 == 0), (
                    n,
                    start,
                    stop,
                    reached,
                )
                assert reached <= n


def reference_condition(a: np.ndarray, b: np.ndarray, op: int, lag: int) -> np.ndarray:
    """One condition bar by bar, as the module doc defines it (NaN compares false)."""
    n = a.shape[0]
    held = np.zeros(n, dtype=bool)
    for i in range(n):
        b_now = b[i - lag] if i >= lag else np.nan
        if op == OP_ABOVE:
            held[i] = a[i] > b_now
        elif op == OP_BELOW:
            held[i] = a[i] < b_now
        elif i >= 1:
            b_before = b[i - 1 - lag] if i >= lag + 1 else np.nan
            if op == OP_CROSSES_ABOVE:
                held[i] = a[i] > b_now and a[i - 1] <= b_before
            else:
                held[i] = a[i] < b_now and a[i - 1] >= b_before
    return held


@pytest.mark.parametrize("lag", [0, 1, 5, SIGNAL_BLOCK_BARS + 3])
def test_block_evaluated_signal_flags_equal_bar_by_bar_conditions(lag: int) -> None:
    rng = np.random.default_rng(lag)
    n = 3 * SIGNAL_BLOCK_BARS + 77
    base = rng.normal(100.0, 1.0, (BASE_ROWS, n))
    series = rng.normal(100.0, 1.0, (2, n))
    series[0, :40] = np.nan  # a warm-up
    threshold = 100.2
    # Long entry: row 5 crosses above row 6 (lagged) while the close is above 100.2;
    # long exit: row 5 crosses below 100.2; short entry: the close is below row 6.
    groups = [
        [(5, OP_CROSSES_ABOVE, 6, lag), (3, OP_ABOVE, -1, 0)],
        [(5, OP_CROSSES_BELOW, -1, 0)],
        [(3, OP_BELOW, 6, 0)],
        [],
    ]
    conditions = [c for group in groups for c in group]
    bounds = np.cumsum([0, *(len(g) for g in groups)]).astype(np.int64)
    flags = np.empty(n, dtype=np.int8)
    _fill_signal_flags(
        base,
        series,
        flags,
        bounds,
        np.array([c[0] for c in conditions], dtype=np.int64),
        np.array([c[1] for c in conditions], dtype=np.int64),
        np.array([c[2] for c in conditions], dtype=np.int64),
        np.array([0.0 if c[2] >= 0 else threshold for c in conditions]),
        np.array([c[3] for c in conditions], dtype=np.int64),
    )
    rows = np.vstack([base, series])
    expected = np.zeros(n, dtype=np.int8)
    for group, group_conditions in enumerate(groups):
        if not group_conditions:
            continue
        held = np.ones(n, dtype=bool)
        for left, op, right, condition_lag in group_conditions:
            b = rows[right] if right >= 0 else np.full(n, threshold)
            held &= reference_condition(rows[left], b, op, condition_lag)
        expected |= held.astype(np.int8) << group
    np.testing.assert_array_equal(flags, expected)
    assert (flags != 0).sum() > 50  # the case is not vacuous


@pytest.mark.parametrize("allow_short", [False, True])
def test_cash_and_position_rebuilt_from_trades_match_the_equity_on_a_long_run(
    allow_short: bool,
) -> None:
    """Over 50,000 bars with stops and many trades, the kernel's equity (marked to market
    bar by bar) equals cash + position × close from the trade ledger, exactly."""
    bars = Bars.from_frame(generate_intraday(50_000, seed=11))
    spec = SpecBuilder(
        "sma_cross", allow_short=allow_short, risk=Risk(stop_loss_pct=0.4, take_profit_pct=0.8)
    ).build({"fast": 8, "slow": 40})
    result = run_backtest(bars, spec, ExecutionSettings(initial_cash=10_000.0))
    assert result.metrics.trades > 100
    np.testing.assert_array_equal(result.equity, result.cash + result.position * bars.close)
    if allow_short:
        assert (result.position < 0).any()


@pytest.mark.parametrize(
    ("allow_short", "leverage"),
    [(False, 1.0), (True, 1.0), (True, 4.0)],
)
def test_metrics_gathered_while_simulating_equal_those_of_the_rebuilt_curve(
    allow_short: bool, leverage: float
) -> None:
    """The kernel never writes the equity curve: it gathers returns and drawdowns as it
    goes, skipping flat stretches in one step. Recomputing every metric from the curve
    rebuilt out of the trade ledger, bar by bar, gives the same numbers exactly."""
    bars = Bars.from_frame(generate_daily(8_000, seed=5))
    spec = SpecBuilder(
        "sma_cross",
        allow_short=allow_short,
        sizing=Sizing(fraction=leverage),
        risk=None if leverage > 1.0 else Risk(take_profit_pct=2.0),
    ).build({"fast": 12, "slow": 60})
    execution = ExecutionSettings(
        initial_cash=10_000.0, leverage_cap=leverage, maintenance_margin_pct=24.0, commission_bps=5
    )
    result = run_backtest(bars, spec, execution)
    assert result.metrics.trades > 50
    recomputed = performance(result.equity, result.trade_table, 10_000.0, bars.bars_per_year)
    np.testing.assert_array_equal(astuple(Metrics.from_vector(recomputed)), astuple(result.metrics))
    if leverage > 1.0:
        assert (result.trade_table[:, T_EXIT_REASON] == EXIT_MARGIN_CALL).any()


def test_results_do_not_share_the_scratch_memory_later_runs_reuse() -> None:
    bars = Bars.from_frame(generate_intraday(20_000, seed=8))
    execution = ExecutionSettings(initial_cash=10_000.0)
    first = run_backtest(bars, SpecBuilder("sma_cross").build({"fast": 5, "slow": 30}), execution)
    trades = first.trade_table.copy()
    run_backtest(bars, SpecBuilder("ema_cross").build({"fast": 7, "slow": 40}), execution)
    np.testing.assert_array_equal(first.trade_table, trades)
    again = run_backtest(bars, SpecBuilder("sma_cross").build({"fast": 5, "slow": 30}), execution)
    np.testing.assert_array_equal(first.equity, again.equity)


def test_backtests_in_parallel_threads_equal_the_same_backtests_one_by_one() -> None:
    """The kernels release the GIL and each thread has its own scratch memory."""
    bars = Bars.from_frame(generate_intraday(100_000, seed=9))
    execution = ExecutionSettings(initial_cash=10_000.0)
    specs = [
        SpecBuilder("sma_cross").build({"fast": fast, "slow": slow})
        for fast in (5, 8, 13)
        for slow in (30, 60, 90)
    ]
    alone = [run_backtest(bars, spec, execution) for spec in specs]
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(lambda spec: run_backtest(bars, spec, execution), specs * 3))
    for k, result in enumerate(together):
        expected = alone[k % len(specs)]
        np.testing.assert_array_equal(result.trade_table, expected.trade_table)
        assert result.metrics == expected.metrics
