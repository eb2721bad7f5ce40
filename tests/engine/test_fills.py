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


STOP_LIMIT_1PCT = EntryOrder(type="stop_limit", stop_offset_bps=100, limit_offset_bps=50)


def test_stop_limit_touched_inside_the_bar_fills_at_its_stop_within_the_limit() -> None:
    # Signal close 100: buy stop at 100 × 1.01 = 101, limit at 101 × 1.005 = 101.505.
    # Bar 1 opens under the stop (100) and trades up through it (high 102): the order
    # triggers at 101, where the buy limit of 101.505 is marketable, so it fills at 101 on
    # this bar, not at the open and not at the (worse) limit.
    rows = [(100.0, 100.5, 99.0, 100.0), (100.0, 102.0, 99.5, 101.5), (101.0, 102.0, 100.0, 101.0)]
    result = run_flags(rows, {0: LONG_ENTRY}, entry_order=STOP_LIMIT_1PCT)
    trade = only_trade(result)
    stop, limit = 100.0 * 1.01, 100.0 * 1.01 * 1.005
    assert (trade["entry_bar"], trade["entry_price"]) == (1, pytest.approx(stop, rel=1e-15))
    assert trade["entry_price"] <= limit
    # All in at 101: 10,000 / 101 units, held from bar 1's close.
    assert trade["units"] == pytest.approx(10_000 / 101.0, rel=1e-12)
    assert result.position[0] == 0.0
    assert result.position[1] == trade["units"]


def test_stop_limit_opening_past_its_stop_but_inside_its_limit_fills_at_the_open() -> None:
    # Stop 101, limit 101.505 (as above). Bar 1 opens at 101.2: past the stop, so the
    # order triggers at the open, and 101.2 ≤ 101.505 satisfies the limit, so it fills
    # there at once, unlike the gap beyond the limit, which only rests.
    rows = [(100.0, 100.5, 99.0, 100.0), (101.2, 102.0, 101.1, 101.8), (101.5, 102.0, 101.0, 101.6)]
    trade = only_trade(run_flags(rows, {0: LONG_ENTRY}, entry_order=STOP_LIMIT_1PCT))
    assert (trade["entry_bar"], trade["entry_price"]) == (1, 101.2)


def test_stop_limit_that_is_never_reached_never_fills() -> None:
    # The stop of 101 is never traded (highs 100.5 and 100.99), so the limit never works.
    rows = [(100.0, 100.5, 99.0, 100.0), (100.0, 100.5, 99.5, 100.2), (99.0, 100.99, 98.0, 99.0)]
    result = run_flags(rows, {0: LONG_ENTRY}, entry_order=STOP_LIMIT_1PCT)
    assert result.trades().height == 0
    assert np.all(result.position == 0.0)


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


# Short entry at bar 1's open of 100 for a fixed 100 units: the entry bar (high 101, low 99)
# touches none of the protective levels below.
SHORT_100_UNITS = Sizing(method="fixed_units", units=100)


def test_short_stop_loss_above_the_entry_buys_back_at_the_stop_plus_slippage() -> None:
    rows = [*ENTER_AT_100, (100.0, 106.0, 99.0, 104.0), (104.0, 105.0, 103.0, 104.0)]
    execution = ExecutionSettings(initial_cash=10_000.0, slippage_bps=10)
    result = run_flags(
        rows,
        {0: SHORT_ENTRY},
        execution=execution,
        allow_short=True,
        sizing=SHORT_100_UNITS,
        risk=Risk(stop_loss_pct=5, take_profit_pct=5),
    )
    trade = only_trade(result)
    # Entry: a market sell slips down, 100 × (1 − 0.001) = 99.9.
    # Stop-loss for a short sits above the entry: 99.9 × 1.05 = 104.895; bar 2's high of
    # 106 reaches it (its low of 99 is far from the 94.905 target), and the buy-back slips
    # up: 104.895 × 1.001 = 104.999895.
    # P&L = −100 × (104.999895 − 99.9) = −509.9895.
    assert trade["units"] == 100.0
    assert trade["entry_price"] == pytest.approx(99.9, rel=1e-15)
    assert (trade["exit_bar"], trade["exit_reason"]) == (2, "stop_loss")
    assert trade["exit_price"] == pytest.approx(104.999895, rel=1e-12)
    assert trade["pnl"] == pytest.approx(-509.9895, rel=1e-12)
    assert result.position[2] == 0.0
    assert result.metrics.final_equity == pytest.approx(10_000 - 509.9895, rel=1e-12)


def test_short_take_profit_below_the_entry_buys_back_at_the_target_net_of_fees() -> None:
    rows = [*ENTER_AT_100, (100.0, 101.0, 94.0, 96.0), (96.0, 97.0, 95.0, 96.0)]
    # A leverage cap of 2 leaves room for the full 100 units once the fee is counted (at
    # the default cap of 1 they would be cut to 10,000 / (100 × 1.001) ≈ 99.9).
    execution = ExecutionSettings(initial_cash=10_000.0, commission_bps=10, leverage_cap=2.0)
    result = run_flags(
        rows,
        {0: SHORT_ENTRY},
        execution=execution,
        allow_short=True,
        sizing=SHORT_100_UNITS,
        risk=Risk(stop_loss_pct=5, take_profit_pct=5),
    )
    trade = only_trade(result)
    assert trade["units"] == 100.0
    # Entry 100 (no slippage); target for a short below it: 100 × (1 − 0.05) = 95. Bar 2's
    # low of 94 reaches it and its high of 101 stays under the 105 stop.
    # Fees: entry 100 × 100 × 0.001 = 10, exit 100 × 95 × 0.001 = 9.5.
    # P&L = 100 × (100 − 95) − 10 − 9.5 = 480.5.
    assert (trade["exit_bar"], trade["exit_reason"]) == (2, "take_profit")
    assert trade["exit_price"] == pytest.approx(95.0, rel=1e-15)
    assert trade["fees"] == pytest.approx(19.5, rel=1e-12)
    assert trade["pnl"] == pytest.approx(480.5, rel=1e-12)
    # While short (bar 1) cash holds the sale proceeds less the fee: 10,000 + 10,000 − 10.
    assert result.cash[1] == pytest.approx(19_990.0, rel=1e-15)
    assert result.cash[2] == pytest.approx(10_480.5, rel=1e-12)
    assert result.position[2] == 0.0
    assert result.metrics.final_equity == pytest.approx(10_480.5, rel=1e-12)


def test_short_trailing_stop_trails_the_lowest_earlier_low_down_then_triggers() -> None:
    rows = [
        (100.0, 100.5, 99.5, 100.0),  # signal bar
        (100.0, 101.0, 95.0, 96.0),  # entry at the open; trail 100 × 1.1 = 110 untouched
        (94.0, 94.5, 85.0, 86.0),  # trail 95 × 1.1 = 104.5 untouched; low now 85
        (88.0, 94.0, 80.0, 93.0),  # trail 85 × 1.1 = 93.5, high 94 reaches it
        (93.0, 94.0, 92.0, 93.0),
    ]
    result = run_flags(
        rows,
        {0: SHORT_ENTRY},
        allow_short=True,
        sizing=SHORT_100_UNITS,
        risk=Risk(trailing_stop_pct=10),
    )
    trade = only_trade(result)
    assert (trade["units"], trade["entry_price"]) == (100.0, 100.0)
    # The stop comes from the lows of bars before bar 3 (85), not bar 3's own low of 80:
    # trailing its own low would put the stop at 88 = the open and fill there.
    # P&L = −100 × (93.5 − 100) = 650.
    assert (trade["exit_bar"], trade["exit_reason"]) == (3, "trailing_stop")
    assert trade["exit_price"] == pytest.approx(93.5, rel=1e-15)
    assert trade["pnl"] == pytest.approx(650.0, rel=1e-12)
    assert result.metrics.final_equity == pytest.approx(10_650.0, rel=1e-12)


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
