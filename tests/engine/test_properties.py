"""Properties of the simulation over random bars, signals and settings (hypothesis)."""

import math
from typing import Any

import msgspec
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.backtest import LONG_ENTRY, LONG_EXIT, SHORT_ENTRY, SHORT_EXIT
from engine.metrics import performance
from engine.runner import BacktestResult, run_signal_function
from engine.strategy import ExecutionSettings, Risk, Sizing
from tests.engine.bars import bars_from

EXAMPLES = settings(max_examples=60, deadline=None)


@st.composite
def random_bars(draw: st.DrawFn) -> list[tuple[float, float, float, float]]:
    n = draw(st.integers(2, 40))
    moves = draw(st.lists(st.floats(-0.08, 0.08), min_size=n, max_size=n))
    wicks = draw(
        st.lists(
            st.tuples(st.floats(0, 0.03), st.floats(0, 0.03), st.floats(-0.02, 0.02)),
            min_size=n,
            max_size=n,
        )
    )
    rows = []
    close = 100.0
    for move, (up, down, gap) in zip(moves, wicks, strict=True):
        open_ = close * (1 + gap)
        close = close * (1 + move)
        rows.append((open_, max(open_, close) * (1 + up), min(open_, close) * (1 - down), close))
    return rows


flag_lists = st.lists(
    st.sampled_from(
        [
            0,
            0,
            0,
            LONG_ENTRY,
            LONG_EXIT,
            SHORT_ENTRY,
            SHORT_EXIT,
            LONG_ENTRY | SHORT_EXIT,
            SHORT_ENTRY | LONG_EXIT,
        ]
    ),
    min_size=40,
    max_size=40,
)
executions = st.builds(
    ExecutionSettings,
    initial_cash=st.floats(100, 1e6),
    commission_bps=st.sampled_from([0.0, 5.0]),
    commission_fixed=st.sampled_from([0.0, 1.0]),
    slippage_bps=st.sampled_from([0.0, 10.0]),
    fill=st.sampled_from(["next_open", "close"]),
    leverage_cap=st.sampled_from([1.0, 2.0]),
    maintenance_margin_pct=st.sampled_from([0.0, 30.0]),
)
risks = st.builds(
    Risk,
    stop_loss_pct=st.sampled_from([None, 2.0]),
    take_profit_pct=st.sampled_from([None, 3.0]),
    trailing_stop_pct=st.sampled_from([None, 4.0]),
)
sizings = st.builds(Sizing, fraction=st.sampled_from([0.5, 1.0]), whole_units=st.booleans())


def run(rows, flags, execution, allow_short, risk=None, sizing=None) -> BacktestResult:  # type: ignore[no-untyped-def]
    signal = np.array(flags[: len(rows)], dtype=np.int8)
    return run_signal_function(
        bars_from(rows),
        lambda *_: signal,
        execution=execution,
        allow_short=allow_short,
        risk=risk,
        sizing=sizing,
    )


@EXAMPLES
@given(random_bars(), flag_lists, executions, st.booleans(), risks, sizings)
def test_equity_is_cash_plus_position_value_at_every_bar(
    rows, flags, execution, allow_short, risk, sizing
) -> None:  # type: ignore[no-untyped-def]
    """The kernel marks the account to market at every close as it runs, gathering the
    curve's statistics without writing the curve; cash and position per bar are rebuilt
    from the trade ledger. Every metric of ``cash + position × close`` from the ledger
    equals what the kernel gathered, bit for bit, so the two agree at every bar."""
    result = run(rows, flags, execution, allow_short, risk, sizing)
    closes = np.array([row[3] for row in rows])
    equity = result.cash + result.position * closes
    np.testing.assert_array_equal(result.equity, equity)
    rebuilt = performance(
        equity, result.trade_table, execution.initial_cash, result.bars.bars_per_year
    )
    np.testing.assert_array_equal(rebuilt, msgspec.structs.astuple(result.metrics))


def replay_fills(
    trades: list[dict[str, Any]], n: int, execution: ExecutionSettings
) -> tuple[list[float], list[float]]:
    """Cash and signed position at each of ``n`` closes, replayed in plain Python from the
    fills alone (bar, price, units, direction) and the fee schedule, the way a broker
    statement would: an entry pays ``direction × units × price`` plus its fee, an exit
    receives it back at the exit price less its fee. Uses none of the engine's book code
    and none of its bookkeeping columns (cash held, realised profit)."""
    rate = execution.commission_bps / 1e4
    fixed = execution.commission_fixed
    cash_change = [0.0] * n
    position = [0.0] * n
    for trade in trades:
        side = 1.0 if trade["direction"] == "long" else -1.0
        units = trade["units"]
        entry_bar, entry_price = trade["entry_bar"], trade["entry_price"]
        cash_change[entry_bar] -= side * units * entry_price + (units * entry_price * rate + fixed)
        held_until = n
        if trade["exit_reason"] != "open":
            exit_bar, exit_price = trade["exit_bar"], trade["exit_price"]
            cash_change[exit_bar] += side * units * exit_price - (units * exit_price * rate + fixed)
            held_until = exit_bar
        for bar in range(entry_bar, held_until):
            position[bar] += side * units
    cash = []
    running = execution.initial_cash
    for change in cash_change:
        running += change
        cash.append(running)
    return cash, position


@EXAMPLES
@given(random_bars(), flag_lists, executions, st.booleans(), risks, sizings)
def test_cash_position_and_equity_match_a_plain_replay_of_the_fills_at_every_bar(
    rows, flags, execution, allow_short, risk, sizing
) -> None:  # type: ignore[no-untyped-def]
    """``result.equity`` is by construction ``cash + position × close``, so checking that
    identity alone proves nothing about the cash. Here cash and position are rebuilt from
    the fills and the fee schedule only, and the engine's cash, position and equity must
    match them at every close; the final equity must also match the one the kernel
    gathered while running (its metrics), which does not go through the ledger at all."""
    result = run(rows, flags, execution, allow_short, risk, sizing)
    n = len(rows)
    closes = [row[3] for row in rows]
    trades = list(result.trades().iter_rows(named=True))
    slip = execution.slippage_bps / 1e4
    rate = execution.commission_bps / 1e4
    previous_exit = 0
    for k, trade in enumerate(trades):
        # One position at a time, in order; only the last trade may still be open.
        assert trade["entry_bar"] >= previous_exit
        assert trade["exit_bar"] >= trade["entry_bar"]
        assert trade["units"] > 0.0
        assert trade["exit_reason"] != "open" or k == len(trades) - 1
        previous_exit = trade["exit_bar"]
        # Every fill is a price its bar traded at, moved by at most the slippage.
        fills = (
            (trade["entry_bar"], trade["entry_price"]),
            (trade["exit_bar"], trade["exit_price"]),
        )
        for bar, price in fills:
            low, high = rows[bar][2], rows[bar][1]
            assert low * (1 - slip) * (1 - 1e-12) <= price <= high * (1 + slip) * (1 + 1e-12)
        # Fees are the schedule applied to each order (no exit fee while still open).
        exit_fee = (
            0.0
            if trade["exit_reason"] == "open"
            else trade["units"] * trade["exit_price"] * rate + execution.commission_fixed
        )
        entry_fee = trade["units"] * trade["entry_price"] * rate + execution.commission_fixed
        assert math.isclose(trade["fees"], entry_fee + exit_fee, rel_tol=1e-9, abs_tol=1e-9)

    cash, position = replay_fills(trades, n, execution)
    equity = [c + p * close for c, p, close in zip(cash, position, closes, strict=True)]
    # Cash can sit near zero beside a large position (all in), so the tolerance is relative
    # to the size of the account rather than to each number.
    scale = max(
        execution.initial_cash,
        *(abs(c) for c in cash),
        *(abs(p * close) for p, close in zip(position, closes, strict=True)),
    )
    tolerance = 1e-9 * scale
    for bar in range(n):
        assert result.position[bar] == position[bar], f"position at bar {bar}"
        assert abs(result.cash[bar] - cash[bar]) <= tolerance, f"cash at bar {bar}"
        assert abs(result.equity[bar] - equity[bar]) <= tolerance, f"equity at bar {bar}"
    assert abs(result.metrics.final_equity - equity[-1]) <= tolerance


@EXAMPLES
@given(random_bars(), flag_lists, executions, st.booleans())
def test_no_trade_without_a_signal(rows, flags, execution, allow_short) -> None:  # type: ignore[no-untyped-def]
    result = run(rows, flags, execution, allow_short)
    delay = 0 if execution.fill == "close" else 1
    for trade in result.trades().iter_rows(named=True):
        entry_flag = LONG_ENTRY if trade["direction"] == "long" else SHORT_ENTRY
        assert flags[trade["entry_bar"] - delay] & entry_flag
        if trade["exit_reason"] == "signal":
            exit_flags = (
                (LONG_EXIT | SHORT_ENTRY)
                if trade["direction"] == "long"
                else (SHORT_EXIT | LONG_ENTRY)
            )
            assert flags[trade["exit_bar"] - delay] & exit_flags
        else:
            assert trade["exit_reason"] in {"open", "margin_call"}


@EXAMPLES
@given(random_bars(), flag_lists, executions, st.booleans(), risks)
def test_every_exit_is_a_signal_or_a_stop_that_was_touched(
    rows, flags, execution, allow_short, risk
) -> None:  # type: ignore[no-untyped-def]
    result = run(rows, flags, execution, allow_short, risk)
    for trade in result.trades().iter_rows(named=True):
        low, high = rows[trade["exit_bar"]][2], rows[trade["exit_bar"]][1]
        if trade["exit_reason"] in {"stop_loss", "take_profit", "trailing_stop"}:
            price = trade["exit_price"] / (
                1
                - (execution.slippage_bps / 1e4 if trade["exit_reason"] != "take_profit" else 0)
                * (1 if trade["direction"] == "long" else -1)
            )
            assert low * (1 - 1e-12) <= price <= high * (1 + 1e-12)


@EXAMPLES
@given(
    st.integers(2, 40),
    st.floats(0.01, 1e5),
    flag_lists,
    st.floats(1, 1e7),
    st.booleans(),
    st.sampled_from(["next_open", "close"]),
    sizings,
)
def test_zero_fee_round_trips_on_flat_prices_return_exactly_the_starting_cash(
    n, price, flags, cash, allow_short, fill, sizing
) -> None:  # type: ignore[no-untyped-def]
    rows = [(price, price, price, price)] * n
    result = run(
        rows, flags, ExecutionSettings(initial_cash=cash, fill=fill), allow_short, sizing=sizing
    )
    assert result.cash[-1] + result.position[-1] * price == result.equity[-1]
    closed_only = result.position[-1] == 0.0
    if closed_only:
        assert result.metrics.final_equity == cash
    assert all(pnl == 0.0 for pnl in result.trades()["pnl"])


@settings(max_examples=20, deadline=None)
@given(random_bars(), flag_lists, executions, st.booleans(), risks, sizings)
def test_same_input_gives_identical_output_twice(
    rows, flags, execution, allow_short, risk, sizing
) -> None:  # type: ignore[no-untyped-def]
    first = run(rows, flags, execution, allow_short, risk, sizing)
    second = run(rows, flags, execution, allow_short, risk, sizing)
    np.testing.assert_array_equal(first.equity, second.equity)
    np.testing.assert_array_equal(first.trade_table, second.trade_table)
    assert msgspec.json.encode(first.metrics) == msgspec.json.encode(second.metrics)
