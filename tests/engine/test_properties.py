"""Properties of the simulation over random bars, signals and settings (hypothesis)."""

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
