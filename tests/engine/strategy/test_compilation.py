"""Compiling a spec for the kernel: each distinct indicator computed once whatever it is
called, rows reused when the table is full, conditions as arrays in group order, and
settings in the kernel's units."""

import numpy as np
import pytest

from engine import indicators
from engine.backtest import (
    BASE_ROWS,
    OP_ABOVE,
    OP_BELOW,
    OP_CROSSES_ABOVE,
    OP_CROSSES_BELOW,
    ORDER_LIMIT,
    ROW_CLOSE,
    S_COMMISSION_RATE,
    S_FILL_AT_CLOSE,
    S_LIMIT_OFFSET,
    S_MAINTENANCE_MARGIN,
    S_ORDER_TYPE,
    S_SLIPPAGE_RATE,
    S_STOP_LOSS,
    S_TARGET_VOLATILITY,
    S_TRAILING_STOP,
    S_VOLATILITY_ROW,
)
from engine.data import Bars
from engine.strategy import (
    Condition,
    EntryOrder,
    ExecutionSettings,
    Risk,
    Rules,
    SeriesTable,
    Sizing,
    Sma,
    StrategySpec,
    Volatility,
    compile_rules,
    indicator_key,
    kernel_settings,
    required_indicators,
)
from engine.synthetic import generate_daily

FAST_CROSS = Rules(long_entry=(Condition(left="fast", op="crosses_above", right="slow"),))


@pytest.fixture(scope="module")
def bars() -> Bars:
    return Bars.from_frame(generate_daily(300, seed=5))


def sma_spec(fast: Sma, slow: Sma) -> StrategySpec:
    rules = Rules(long_entry=(Condition(left=fast.name, op="crosses_above", right=slow.name),))
    return StrategySpec(name="cross", indicators=(fast, slow), rules=rules)


def test_the_same_indicator_under_two_names_is_computed_once_into_one_row(bars: Bars) -> None:
    fast, quick, slow = (
        Sma(name="fast", window=5),
        Sma(name="quick", window=5),
        Sma(name="slow", window=20),
    )
    table = SeriesTable(bars, [fast, quick, slow])
    assert table.computed == 2
    rows = table.rows_for(sma_spec(fast, slow))
    assert rows["fast"] == table.rows_for(sma_spec(quick, slow))["quick"]
    assert rows["close"] == ROW_CLOSE
    np.testing.assert_array_equal(
        table.matrix[rows["fast"] - BASE_ROWS], indicators.sma(bars.close, 5)
    )
    np.testing.assert_array_equal(
        table.matrix[rows["slow"] - BASE_ROWS], indicators.sma(bars.close, 20)
    )


def test_a_full_table_reuses_the_rows_of_indicators_no_longer_needed(bars: Bars) -> None:
    short, long = Sma(name="a", window=5), Sma(name="b", window=10)
    table = SeriesTable(bars, [short])
    row = table.rows_of[indicator_key(short)]
    table.ensure([long])
    assert table.rows_of == {indicator_key(long): row}
    assert table.computed == 2
    np.testing.assert_array_equal(table.matrix[row[0] - BASE_ROWS], indicators.sma(bars.close, 10))


def test_a_table_too_small_for_what_one_chunk_needs_at_once_refuses() -> None:
    table = SeriesTable(Bars.from_frame(generate_daily(50, seed=5)), [Sma(name="a", window=5)])
    with pytest.raises(MemoryError, match="too small"):
        table.ensure([Sma(name="a", window=5), Sma(name="b", window=10)])


def test_conditions_compile_to_arrays_in_group_order_with_constants_and_lags() -> None:
    spec = StrategySpec(
        name="mixed",
        indicators=(Sma(name="fast", window=5), Sma(name="slow", window=20)),
        rules=Rules(
            long_entry=(
                Condition(left="fast", op="crosses_above", right="slow"),
                Condition(left="close", op="above", right=100.0),
            ),
            long_exit=(Condition(left="fast", op="crosses_below", right="slow", right_lag=2),),
            short_entry=(Condition(left="close", op="below", right=90.0),),
        ),
        allow_short=True,
    )
    rows = {"open": 0, "high": 1, "low": 2, "close": ROW_CLOSE, "volume": 4, "fast": 5, "slow": 6}
    compiled = compile_rules(spec, rows)
    assert compiled.group_bounds.tolist() == [0, 2, 3, 4, 4]
    assert compiled.left.tolist() == [5, ROW_CLOSE, 5, ROW_CLOSE]
    assert compiled.op.tolist() == [OP_CROSSES_ABOVE, OP_ABOVE, OP_CROSSES_BELOW, OP_BELOW]
    assert compiled.right.tolist() == [6, -1, 6, -1]
    assert compiled.constant.tolist() == [0.0, 100.0, 0.0, 90.0]
    assert compiled.lag.tolist() == [0, 0, 2, 0]


def test_kernel_settings_are_fractions_not_basis_points_or_percent() -> None:
    spec = StrategySpec(
        name="limit",
        indicators=(Sma(name="fast", window=5), Sma(name="slow", window=20)),
        rules=FAST_CROSS,
        entry_order=EntryOrder(type="limit", limit_offset_bps=50),
        risk=Risk(stop_loss_pct=5, trailing_stop_pct=2),
    )
    execution = ExecutionSettings(
        commission_bps=25, slippage_bps=10, maintenance_margin_pct=25, fill="close"
    )
    settings = kernel_settings(spec, execution, {})
    assert settings[S_ORDER_TYPE] == ORDER_LIMIT
    assert settings[S_FILL_AT_CLOSE] == 1.0
    assert settings[S_LIMIT_OFFSET] == pytest.approx(0.005)
    assert settings[S_STOP_LOSS] == pytest.approx(0.05)
    assert settings[S_TRAILING_STOP] == pytest.approx(0.02)
    assert settings[S_COMMISSION_RATE] == pytest.approx(0.0025)
    assert settings[S_SLIPPAGE_RATE] == pytest.approx(0.001)
    assert settings[S_MAINTENANCE_MARGIN] == pytest.approx(0.25)


def test_vol_target_sizing_adds_its_volatility_series_and_points_the_kernel_at_it(
    bars: Bars,
) -> None:
    indicators_only = sma_spec(Sma(name="fast", window=5), Sma(name="slow", window=20))
    assert required_indicators(indicators_only) == indicators_only.indicators
    spec = StrategySpec(
        name="vol",
        indicators=indicators_only.indicators,
        rules=FAST_CROSS,
        sizing=Sizing(method="vol_target", target_volatility_pct=15, volatility_window=30),
    )
    needed = required_indicators(spec)
    assert needed[-1] == Volatility(name="sizing.volatility", window=30)
    table = SeriesTable(bars, list(needed))
    rows = table.rows_for(spec)
    settings = kernel_settings(spec, ExecutionSettings(), rows)
    assert settings[S_VOLATILITY_ROW] == rows["sizing.volatility"]
    assert settings[S_TARGET_VOLATILITY] == pytest.approx(0.15)
    np.testing.assert_array_equal(
        table.matrix[rows["sizing.volatility"] - BASE_ROWS],
        indicators.realised_volatility(bars.close, 30, bars.bars_per_year),
    )
