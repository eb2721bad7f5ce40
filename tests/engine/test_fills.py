"""Fill semantics, case by case (see the rules in engine/backtest.py)."""

import math

import numba
import numpy as np
import pytest

from engine.backtest import LONG_ENTRY, LONG_EXIT, SHORT_ENTRY, SHORT_EXIT
from engine.runner import run_signal_function
from engine.strategy import EntryOrder, ExecutionSettings, Risk, Sizing
from tests.engine.bars import bars_from, run_flags

RISING = [
    (100.0, 101.0, 99.0, 100.0),
    (102.0, 103.0, 101.0, 102.0),
    (104.0, 105.0, 103.0, 104.0),
    (106.0, 107.0, 105.0, 106.0),
]


def only_trade(result):  # type: ignore[no-untyped-def]
    trades = result.trades()
    assert trades.height == 1
    return trades.row(0, named=True)


def test_market_signal_at_close_fills_at_next_open() -> None:
    result = run_flags(RISING, {0: LONG_ENTRY, 2: LONG_EXIT})
    trade = only_trade(result)
    assert (trade["entry_bar"], trade["entry_price"]) == (1, 102.0)
    assert (trade["exit_bar"], trade["exit_price"]) == (3, 106.0)
    assert result.metrics.final_equity == pytest.approx(10_000 + 10_000 / 102 * 4, rel=1e-12)


def test_fill_at_close_option_fills_at_the_signal_bars_close() -> None:
    result = run_flags(
        RISING, {0: LONG_ENTRY, 2: LONG_EXIT}, execution=ExecutionSettings(fill="close")
    )
    trade = only_trade(result)
    assert (trade["entry_bar"], trade["entry_price"]) == (0, 100.0)
    assert (trade["exit_bar"], trade["exit_price"]) == (2, 104.0)


def test_signal_on_last_bar_never_fills_under_next_open() -> None:
    result = run_flags(RISING, {3: LONG_ENTRY})
    assert result.trades().height == 0
    assert result.metrics.final_equity == 10_000.0


def test_entry_while_already_long_is_ignored() -> None:
    result = run_flags(RISING, {0: LONG_ENTRY, 1: LONG_ENTRY})
    trade = only_trade(result)
    assert trade["entry_bar"] == 1
    assert trade["exit_reason"] == "open"


LIMIT_1PCT = EntryOrder(type="limit", limit_offset_bps=100)  # limit at 99 from a 100 close


def test_limit_order_never_touched_never_fills() -> None:
    rows = [(100.0, 101.0, 99.5, 100.0), (100.5, 101.0, 99.5, 100.0), (100.0, 101.0, 99.01, 100.5)]
    result = run_flags(rows, {0: LONG_ENTRY}, entry_order=LIMIT_1PCT)
    assert result.trades().height == 0
    assert np.all(result.position == 0.0)


def test_limit_order_touched_inside_the_bar_fills_at_its_price() -> None:
    rows = [(100.0, 101.0, 99.5, 100.0), (100.5, 101.0, 98.5, 100.0), (100.0, 101.0, 99.0, 100.5)]
    trade = only_trade(run_flags(rows, {0: LONG_ENTRY}, entry_order=LIMIT_1PCT))
    assert (trade["entry_bar"], trade["entry_price"]) == (1, 99.0)


def test_limit_order_gapped_through_fills_at_the_better_open() -> None:
    rows = [(100.0, 101.0, 99.5, 100.0), (98.0, 98.5, 97.0, 98.0), (98.0, 99.0, 97.5, 98.5)]
    trade = only_trade(run_flags(rows, {0: LONG_ENTRY}, entry_order=LIMIT_1PCT))
    assert trade["entry_price"] == 98.0


def test_limit_order_expires_after_its_expiry_bars() -> None:
    rows = [(100.0, 101.0, 99.5, 100.0), (100.5, 101.0, 99.5, 100.0), (99.5, 100.0, 98.0, 99.0)]
    order = EntryOrder(type="limit", limit_offset_bps=100, expiry_bars=1)
    assert run_flags(rows, {0: LONG_ENTRY}, entry_order=order).trades().height == 0


STOP_1PCT = EntryOrder(type="stop", stop_offset_bps=100)  # buy stop at 101 from a 100 close


def test_stop_order_gaps_through_fills_at_open() -> None:
    rows = [(100.0, 101.0, 99.0, 100.0), (103.0, 104.0, 102.5, 103.5), (103.0, 104.0, 102.0, 103.0)]
    trade = only_trade(run_flags(rows, {0: LONG_ENTRY}, entry_order=STOP_1PCT))
    assert (trade["entry_bar"], trade["entry_price"]) == (1, 103.0)


def test_stop_order_touched_inside_the_bar_fills_at_the_stop_price() -> None:
    rows = [(100.0, 100.5, 99.0, 100.0), (100.0, 102.0, 99.5, 101.5), (101.0, 102.0, 100.0, 101.0)]
    trade = only_trade(run_flags(rows, {0: LONG_ENTRY}, entry_order=STOP_1PCT))
    assert trade["entry_price"] == pytest.approx(101.0, rel=1e-15)


def test_stop_order_not_reached_never_fills() -> None:
    rows = [(100.0, 100.5, 99.0, 100.0), (100.0, 100.9, 99.5, 100.5), (100.5, 100.99, 100.0, 100.2)]
    assert run_flags(rows, {0: LONG_ENTRY}, entry_order=STOP_1PCT).trades().height == 0


def test_stop_limit_gapped_beyond_its_limit_rests_as_a_limit_and_fills_later() -> None:
    order = EntryOrder(type="stop_limit", stop_offset_bps=100, limit_offset_bps=50)
    limit = 100.0 * 1.01 * 1.005
    rows = [(100.0, 100.5, 99.0, 100.0), (103.0, 104.0, 102.5, 103.5), (102.0, 102.5, 101.0, 101.2)]
    trade = only_trade(run_flags(rows, {0: LONG_ENTRY}, entry_order=order))
    assert (trade["entry_bar"], trade["entry_price"]) == (2, pytest.approx(limit, rel=1e-15))


ENTER_AT_100 = [(100.0, 100.5, 99.5, 100.0), (100.0, 101.0, 99.0, 100.0)]


def test_stop_loss_gapped_through_fills_at_open() -> None:
    rows = [*ENTER_AT_100, (90.0, 92.0, 89.0, 91.0), (91.0, 92.0, 90.0, 91.0)]
    result = run_flags(rows, {0: LONG_ENTRY}, risk=Risk(stop_loss_pct=5))
    trade = only_trade(result)
    assert (trade["exit_bar"], trade["exit_price"], trade["exit_reason"]) == (2, 90.0, "stop_loss")


def test_stop_loss_and_take_profit_touched_in_one_bar_assumes_the_stop_first() -> None:
    rows = [*ENTER_AT_100, (100.0, 106.0, 94.0, 100.0), (100.0, 101.0, 99.0, 100.0)]
    trade = only_trade(
        run_flags(rows, {0: LONG_ENTRY}, risk=Risk(stop_loss_pct=5, take_profit_pct=5))
    )
    assert trade["exit_reason"] == "stop_loss"
    assert trade["exit_price"] == pytest.approx(95.0, rel=1e-15)


def test_take_profit_touched_inside_the_bar_fills_at_its_price_and_cancels_the_stop() -> None:
    rows = [*ENTER_AT_100, (100.0, 106.0, 99.0, 100.0), (80.0, 81.0, 79.0, 80.0)]
    result = run_flags(rows, {0: LONG_ENTRY}, risk=Risk(stop_loss_pct=5, take_profit_pct=5))
    trade = only_trade(result)
    assert (trade["exit_reason"], trade["exit_price"]) == (
        "take_profit",
        pytest.approx(105.0, rel=1e-15),
    )
    assert result.position[-1] == 0.0


def test_take_profit_gapped_through_fills_at_the_better_open() -> None:
    rows = [*ENTER_AT_100, (110.0, 111.0, 109.0, 110.0)]
    trade = only_trade(
        run_flags(rows, {0: LONG_ENTRY}, risk=Risk(stop_loss_pct=5, take_profit_pct=5))
    )
    assert (trade["exit_reason"], trade["exit_price"]) == ("take_profit", 110.0)


def test_trailing_stop_trails_the_best_high_of_earlier_bars() -> None:
    rows = [(100.0, 100.5, 99.5, 100.0), (100.0, 120.0, 99.0, 118.0), (117.0, 119.0, 107.0, 110.0)]
    trade = only_trade(run_flags(rows, {0: LONG_ENTRY}, risk=Risk(trailing_stop_pct=10)))
    assert trade["exit_reason"] == "trailing_stop"
    assert trade["exit_price"] == pytest.approx(108.0, rel=1e-15)


def test_protective_stop_works_on_the_entry_bar_when_filled_at_its_open() -> None:
    rows = [(100.0, 100.5, 99.5, 100.0), (100.0, 100.5, 94.0, 95.5), (95.0, 96.0, 94.0, 95.0)]
    trade = only_trade(run_flags(rows, {0: LONG_ENTRY}, risk=Risk(stop_loss_pct=5)))
    assert (trade["entry_bar"], trade["exit_bar"], trade["exit_reason"]) == (1, 1, "stop_loss")


def test_short_round_trip_gains_what_the_price_fell() -> None:
    rows = [
        (100.0, 101.0, 99.0, 100.0),
        (100.0, 101.0, 97.0, 98.0),
        (95.0, 96.0, 94.0, 95.0),
        (90.0, 91.0, 89.0, 90.0),
    ]
    result = run_flags(rows, {0: SHORT_ENTRY, 2: SHORT_EXIT}, allow_short=True)
    trade = only_trade(result)
    assert (trade["direction"], trade["units"], trade["pnl"]) == ("short", 100.0, 1000.0)
    assert result.cash[1] == 20_000.0
    assert result.equity[1] == 20_000.0 - 100 * 98.0
    assert result.metrics.final_equity == 11_000.0


def test_short_signals_are_ignored_unless_shorting_is_allowed() -> None:
    result = run_flags(RISING, {0: SHORT_ENTRY, 2: SHORT_EXIT})
    assert result.trades().height == 0


def test_opposite_entry_reverses_at_the_same_open() -> None:
    rows = [*RISING, (108.0, 109.0, 107.0, 108.0)]
    result = run_flags(rows, {0: LONG_ENTRY, 2: SHORT_ENTRY | LONG_EXIT}, allow_short=True)
    trades = result.trades()
    assert trades["direction"].to_list() == ["long", "short"]
    assert trades["exit_price"][0] == trades["entry_price"][1] == 106.0
    assert trades["exit_bar"][0] == trades["entry_bar"][1] == 3


def test_all_in_whole_units_buys_floor_of_equity_over_price_with_fee() -> None:
    execution = ExecutionSettings(commission_bps=10)
    trade = only_trade(
        run_flags(RISING, {0: LONG_ENTRY}, execution=execution, sizing=Sizing(whole_units=True))
    )
    # Without the fee in the denominator it would buy 98 and overdraw the cash.
    assert trade["units"] == math.floor(10_000 / (102.0 * 1.001)) == 97
    assert trade["units"] * 102.0 * 1.001 <= 10_000


def test_commission_in_bps_and_fixed_is_charged_on_both_orders() -> None:
    execution = ExecutionSettings(commission_bps=10, commission_fixed=5)
    result = run_flags(RISING, {0: LONG_ENTRY, 2: LONG_EXIT}, execution=execution)
    trade = only_trade(result)
    units = (10_000 - 5) / (102.0 * 1.001)
    entry_fee = units * 102.0 * 0.001 + 5
    exit_fee = units * 106.0 * 0.001 + 5
    assert trade["units"] == pytest.approx(units, rel=1e-12)
    assert trade["fees"] == pytest.approx(entry_fee + exit_fee, rel=1e-12)
    assert trade["pnl"] == pytest.approx(units * 4 - entry_fee - exit_fee, rel=1e-12)


def test_slippage_moves_market_fills_against_the_trader() -> None:
    result = run_flags(
        RISING, {0: LONG_ENTRY, 2: LONG_EXIT}, execution=ExecutionSettings(slippage_bps=10)
    )
    trade = only_trade(result)
    assert trade["entry_price"] == pytest.approx(102.0 * 1.001, rel=1e-15)
    assert trade["exit_price"] == pytest.approx(106.0 * 0.999, rel=1e-15)


def test_fixed_fraction_sizing_risks_the_fraction_against_the_stop_distance() -> None:
    sizing = Sizing(method="fixed_fraction", fraction=0.01)
    trade = only_trade(
        run_flags(ENTER_AT_100, {0: LONG_ENTRY}, sizing=sizing, risk=Risk(stop_loss_pct=5))
    )
    assert trade["units"] == pytest.approx(0.01 * 10_000 / (100.0 * 0.05), rel=1e-12)


def test_fixed_units_sizing_trades_the_set_quantity() -> None:
    trade = only_trade(
        run_flags(RISING, {0: LONG_ENTRY}, sizing=Sizing(method="fixed_units", units=7))
    )
    assert trade["units"] == 7.0


def test_vol_target_sizing_scales_notional_by_target_over_realised_volatility() -> None:
    closes = [100.0, 101.0, 99.5, 102.0, 101.0, 103.0]
    rows = [(c, c + 1, c - 1, c) for c in closes]
    sizing = Sizing(method="vol_target", target_volatility_pct=20, volatility_window=3)
    trade = only_trade(run_flags(rows, {4: LONG_ENTRY}, sizing=sizing))
    realised = np.std(np.diff(np.log(closes))[1:4], ddof=1) * math.sqrt(365.25)
    assert trade["units"] == pytest.approx(10_000 * 0.2 / realised / 103.0, rel=1e-12)


def test_leverage_cap_limits_notional_to_a_multiple_of_equity() -> None:
    execution = ExecutionSettings(leverage_cap=1.5)
    trade = only_trade(
        run_flags(ENTER_AT_100, {0: LONG_ENTRY}, execution=execution, sizing=Sizing(fraction=3))
    )
    assert trade["units"] == pytest.approx(150.0, rel=1e-15)


def test_margin_call_liquidates_at_the_close_when_equity_falls_below_maintenance() -> None:
    rows = [
        (100.0, 101.0, 99.0, 100.0),
        (100.0, 121.0, 99.0, 120.0),
        (125.0, 141.0, 124.0, 140.0),
        (150.0, 151.0, 149.0, 150.0),
    ]
    execution = ExecutionSettings(maintenance_margin_pct=50)
    result = run_flags(rows, {0: SHORT_ENTRY}, execution=execution, allow_short=True)
    trade = only_trade(result)
    assert (trade["exit_bar"], trade["exit_price"], trade["exit_reason"]) == (
        2,
        140.0,
        "margin_call",
    )
    assert result.metrics.final_equity == 6_000.0


def test_open_position_is_marked_to_market_at_the_last_close_without_closing() -> None:
    result = run_flags(RISING, {0: LONG_ENTRY}, execution=ExecutionSettings(commission_bps=10))
    trade = only_trade(result)
    assert trade["exit_reason"] == "open"
    assert result.metrics.trades == 0
    units = trade["units"]
    assert result.metrics.final_equity == pytest.approx(result.cash[-1] + units * 106.0, rel=1e-15)
    assert result.position[-1] == units


@numba.njit(cache=True)
def _breakout_flags(open_, high, low, close, volume, threshold):  # type: ignore[no-untyped-def]
    flags = np.zeros(close.shape[0], dtype=np.int8)
    for i in range(close.shape[0]):
        if close[i] > threshold:
            flags[i] = LONG_ENTRY
        elif close[i] < threshold:
            flags[i] = LONG_EXIT
    return flags


def test_custom_numba_signal_function_drives_the_same_fills() -> None:
    bars = bars_from([*RISING, (103.0, 104.0, 101.0, 101.0), (100.0, 101.0, 99.0, 100.0)])
    result = run_signal_function(bars, _breakout_flags, 103.0, execution=ExecutionSettings())
    trade = only_trade(result)
    assert (trade["entry_bar"], trade["entry_price"], trade["exit_bar"], trade["exit_price"]) == (
        3,
        106.0,
        5,
        100.0,
    )
    assert result.spec.name == "_breakout_flags"
