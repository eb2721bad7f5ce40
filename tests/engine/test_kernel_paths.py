"""The simulation kernel's fast paths against plain references: skipping quiet bars eight
at a time, conditions evaluated block by block, and cash and position rebuilt from the
trade table."""

import itertools
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
    T_ENTRY_BAR,
    T_EXIT_REASON,
    TRADE_COLUMNS,
    _list_flagged,
    _next_flagged,
    _next_listed,
    _prefetch_flagged,
    fill_signal_flags,
    simulate_general,
    simulate_plain,
    takes_plain_path,
)
from engine.curve import CURVE_STATS
from engine.data import Bars
from engine.indicators import CROSSING_BLOCK_BARS, crossings_between, crossings_into
from engine.metrics import Metrics, performance
from engine.runner import crossing_flags, crossover_of, run_backtest, run_signal_function
from engine.strategy import (
    Condition,
    EntryOrder,
    ExecutionSettings,
    Risk,
    Rules,
    SeriesTable,
    Sizing,
    Sma,
    SpecBuilder,
    StrategySpec,
    compile_rules,
    kernel_settings,
    required_indicators,
)
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


def test_the_list_of_flagged_bars_and_the_search_along_it_match_the_flags() -> None:
    """Every flagged bar listed once, in order, whatever its bits and wherever it falls in
    a word (several flagged bars in one word, the bars after the last whole word); the
    search along the list finds the first watched bar from any start, from any earlier
    position in the list."""
    rng = np.random.default_rng(4)
    for n in [0, 1, 7, 8, 9, 15, 16, 17, 63, 64, 65, 200]:
        for density in (0.0, 0.02, 0.3, 1.0):
            flags = np.where(rng.random(n) < density, rng.integers(1, 16, n), 0).astype(np.int8)
            listing = np.full(n + 1, -1, dtype=np.int32)
            count = _list_flagged(flags, listing)
            np.testing.assert_array_equal(listing[:count], np.flatnonzero(flags), err_msg=str(n))
            for watch in (LONG_ENTRY, LONG_EXIT | SHORT_ENTRY, 15):
                for start in range(n + 1):
                    hits = [i for i in range(start, n) if flags[i] & watch]
                    earlier = int(np.searchsorted(listing[:count], start)) // 2
                    found = _next_listed(flags, listing, count, earlier, start, watch)
                    assert (int(listing[found]) if found < count else n) == (
                        hits[0] if hits else n
                    ), (n, start, watch)


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
    fill_signal_flags(
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


def _kernel_inputs(
    bars: Bars, spec: StrategySpec, execution: ExecutionSettings
) -> tuple[SeriesTable, np.ndarray, np.ndarray]:
    """The series table, settings vector and signal flags ``simulate`` would work from."""
    table = SeriesTable(bars, list(required_indicators(spec)))
    rows = table.rows_for(spec)
    rules = compile_rules(spec, rows)
    flags = np.empty(bars.length, dtype=np.int8)
    fill_signal_flags(
        bars.base,
        table.matrix,
        flags,
        rules.group_bounds,
        rules.left,
        rules.op,
        rules.right,
        rules.constant,
        rules.lag,
    )
    return table, kernel_settings(spec, execution, rows), flags


def _both_paths(
    bars: Bars, table: SeriesTable, settings: np.ndarray, flags: np.ndarray
) -> list[tuple[bytes, bytes]]:
    """Curve statistics and trade table, as raw bytes, from the general and the plain
    simulation of the same flags."""
    outcomes = []
    for plain in (False, True):
        curve = np.full(CURVE_STATS, -1.0)
        trades = np.full((bars.length + 1, TRADE_COLUMNS), -1.0)
        if plain:
            listing = np.full(bars.length, -1, dtype=np.int32)
            count = simulate_plain(bars.base, table.matrix, settings, flags, curve, trades, listing)
        else:
            count = simulate_general(bars.base, table.matrix, settings, flags, curve, trades)
        outcomes.append((curve.tobytes(), trades[:count].tobytes()))
    return outcomes


PLAIN_CASES: list[tuple[str, SpecBuilder, ExecutionSettings]] = [
    ("default", SpecBuilder("sma_cross"), ExecutionSettings()),
    ("fill at close", SpecBuilder("sma_cross"), ExecutionSettings(fill="close")),
    (
        "fees and slippage",
        SpecBuilder("sma_cross"),
        ExecutionSettings(commission_bps=7.0, commission_fixed=1.5, slippage_bps=3.0),
    ),
    (
        "whole units, half the equity, at close",
        SpecBuilder("sma_cross", sizing=Sizing(fraction=0.5, whole_units=True)),
        ExecutionSettings(fill="close", commission_bps=2.0),
    ),
    (
        "fixed units past the leverage cap",
        SpecBuilder("sma_cross", sizing=Sizing(method="fixed_units", units=500.0)),
        ExecutionSettings(leverage_cap=2.0),
    ),
    (
        "volatility target",
        SpecBuilder("sma_cross", sizing=Sizing(method="vol_target", volatility_window=15)),
        ExecutionSettings(slippage_bps=1.0),
    ),
    (
        "entries that buy nothing: volatility still warming up",
        SpecBuilder(
            "sma_cross",
            sizing=Sizing(method="vol_target", volatility_window=3_000, whole_units=True),
        ),
        ExecutionSettings(commission_fixed=0.5),
    ),
    (
        "leverage with margin calls",
        SpecBuilder("sma_cross", sizing=Sizing(fraction=4.0)),
        ExecutionSettings(leverage_cap=4.0, maintenance_margin_pct=90.0, commission_bps=5.0),
    ),
    (
        "leverage with margin calls, at close",
        SpecBuilder("sma_cross", sizing=Sizing(fraction=4.0)),
        ExecutionSettings(fill="close", leverage_cap=4.0, maintenance_margin_pct=90.0),
    ),
    *(
        (name, SpecBuilder(name), ExecutionSettings(commission_bps=3.0))
        for name in ("ema_cross", "rsi_reversion", "bollinger_reversion", "donchian_breakout")
    ),
]


@pytest.mark.parametrize(
    ("label", "builder", "execution"), PLAIN_CASES, ids=[case[0] for case in PLAIN_CASES]
)
def test_plain_path_gives_exactly_the_general_paths_results(
    label: str, builder: SpecBuilder, execution: ExecutionSettings
) -> None:
    """Runs with market orders alone, long only, take the plain simulation; over specs
    that reach every branch it has (both fill timings, fees, slippage, every sizing, the
    leverage cap, entries that buy nothing, margin calls), its curve statistics and trade
    table equal the general simulation's bit for bit."""
    bars = Bars.from_frame(generate_intraday(30_000, seed=21))
    spec = builder.build(
        {"fast": 6, "slow": 25} if builder.defaults.keys() == {"fast", "slow"} else {}
    )
    table, settings, flags = _kernel_inputs(bars, spec, execution)
    assert takes_plain_path(settings), label
    general, plain = _both_paths(bars, table, settings, flags)
    assert plain == general, label
    trades = np.frombuffer(general[1]).reshape(-1, TRADE_COLUMNS)
    assert trades.shape[0] > 20, label  # the case is not vacuous
    if "margin" in label:
        assert (trades[:, T_EXIT_REASON] == EXIT_MARGIN_CALL).any()
    if "nothing" in label:
        assert (flags[:2_999] & LONG_ENTRY).any()
        assert trades[0, T_ENTRY_BAR] >= 3_000


@pytest.mark.parametrize("leveraged", [False, True], ids=["cash", "margin_calls"])
@pytest.mark.parametrize("fill", ["next_open", "close"])
@pytest.mark.parametrize("density", [0.01, 0.3, 0.9])
def test_plain_path_equals_the_general_path_on_random_flags(
    fill: str, density: float, leveraged: bool
) -> None:
    """Every flag combination, including entries and exits on the same bar, signals on
    the first and last bars and flags the plain path must ignore (shorts, entries while
    holding), on both fill timings; leveraged, margin calls end positions before their
    exit signal, and entries flagged between the call and that exit must be taken."""
    bars = Bars.from_frame(generate_intraday(5_003, seed=4))
    rng = np.random.default_rng(int(density * 100))
    flags = np.where(rng.random(bars.length) < density, rng.integers(1, 16, bars.length), 0)
    flags = flags.astype(np.int8)
    flags[0] = flags[-1] = LONG_ENTRY | LONG_EXIT
    execution = ExecutionSettings(
        fill=fill,  # type: ignore[arg-type]
        commission_bps=4.0,
        slippage_bps=2.0,
        **({"leverage_cap": 4.0, "maintenance_margin_pct": 90.0} if leveraged else {}),
    )
    builder = SpecBuilder("sma_cross", sizing=Sizing(fraction=4.0) if leveraged else None)
    table, settings, _ = _kernel_inputs(bars, builder.build({}), execution)
    assert takes_plain_path(settings)
    general, plain = _both_paths(bars, table, settings, flags)
    assert plain == general
    trades = np.frombuffer(general[1]).reshape(-1, TRADE_COLUMNS)
    if leveraged and density < 0.5:
        # Not vacuous: positions called before their exit signal, and entries after.
        called = trades[:, T_EXIT_REASON] == EXIT_MARGIN_CALL
        assert called[:-1].any()


@pytest.mark.parametrize(
    "builder",
    [
        SpecBuilder("sma_cross", allow_short=True),
        SpecBuilder("sma_cross", risk=Risk(stop_loss_pct=1.0)),
        SpecBuilder("sma_cross", risk=Risk(take_profit_pct=1.0)),
        SpecBuilder("sma_cross", risk=Risk(trailing_stop_pct=1.0)),
        SpecBuilder("sma_cross", entry_order=EntryOrder(type="limit", limit_offset_bps=5.0)),
        SpecBuilder("sma_cross", entry_order=EntryOrder(type="stop", stop_offset_bps=5.0)),
        SpecBuilder("sma_cross", entry_order=EntryOrder(type="stop_limit", stop_offset_bps=5.0)),
    ],
    ids=["short", "stop_loss", "take_profit", "trailing", "limit", "stop", "stop_limit"],
)
def test_runs_with_more_than_market_orders_take_the_general_path(builder: SpecBuilder) -> None:
    bars = Bars.from_frame(generate_intraday(2_000, seed=6))
    _, settings, _ = _kernel_inputs(bars, builder.build({}), ExecutionSettings())
    assert not takes_plain_path(settings)


def test_a_slippage_that_prices_fills_at_zero_or_less_takes_the_general_path() -> None:
    # An order whose price is not positive never fills and stays working: only the
    # general path has working orders.
    bars = Bars.from_frame(generate_intraday(2_000, seed=6))
    spec = SpecBuilder("sma_cross").build({})
    _, settings, _ = _kernel_inputs(bars, spec, ExecutionSettings(slippage_bps=10_000.0))
    assert not takes_plain_path(settings)
    _, settings, _ = _kernel_inputs(bars, spec, ExecutionSettings(slippage_bps=9_999.0))
    assert takes_plain_path(settings)


def _crossover(
    rules: Rules,
    windows: tuple[int, int] = (7, 31),
    source: str = "close",
    sizing: Sizing | None = None,
) -> StrategySpec:
    return StrategySpec(
        name="crossover",
        indicators=(
            Sma(name="a", window=windows[0], source=source),  # type: ignore[arg-type]
            Sma(name="b", window=windows[1], source=source),  # type: ignore[arg-type]
        ),
        rules=rules,
        sizing=sizing or Sizing(),
        allow_short=True,
    )


UP = Condition(left="a", op="crosses_above", right="b")
DOWN = Condition(left="a", op="crosses_below", right="b")
B_UP = Condition(left="b", op="crosses_above", right="a")
B_DOWN = Condition(left="b", op="crosses_below", right="a")
CROSSOVERS = [
    ("long only", _crossover(Rules(long_entry=(UP,), long_exit=(DOWN,)))),
    ("long and short", _crossover(Rules((UP,), (DOWN,), (DOWN,), (UP,)))),
    ("second series first", _crossover(Rules((B_DOWN,), (B_UP,), (B_UP,), (B_DOWN,)))),
    ("mixed orders", _crossover(Rules((B_DOWN,), (DOWN,), (B_UP,), ()))),
    ("slow window first", _crossover(Rules((UP,), (DOWN,)), windows=(40, 3))),
    ("equal windows", _crossover(Rules((UP,), (DOWN,)), windows=(12, 12))),
    ("window of one", _crossover(Rules((UP,), (DOWN,)), windows=(1, 2))),
    ("on the highs", _crossover(Rules((UP,), (DOWN,)), source="high")),
    ("longer than the bars", _crossover(Rules((UP,), (DOWN,)), windows=(5, 5_000))),
]


@pytest.mark.parametrize("length", [1, 2, 45, 1_001, 3 * CROSSING_BLOCK_BARS + 5_917])
@pytest.mark.parametrize(("label", "spec"), CROSSOVERS, ids=[case[0] for case in CROSSOVERS])
def test_crossover_flags_straight_from_the_bars_equal_the_conditions_on_the_averages(
    label: str, spec: StrategySpec, length: int
) -> None:
    """A moving-average crossover's flags, computed without writing the averages out,
    equal those the general route evaluates on the rows ``SeriesTable`` wrote, bar for
    bar, whatever the windows' order, the rules' directions and the bars' count
    (warm-ups, both halves of each average, the bars between their middles)."""
    bars = Bars.from_frame(generate_intraday(length, seed=length))
    _, _, expected = _kernel_inputs(bars, spec, ExecutionSettings())
    flags = crossing_flags(bars, spec)
    assert flags is not None, label
    np.testing.assert_array_equal(flags, expected)
    if length > 1_000 and label != "longer than the bars" and label != "equal windows":
        assert (expected != 0).sum() > 20  # the case is not vacuous


@pytest.mark.parametrize(("label", "spec"), CROSSOVERS, ids=[case[0] for case in CROSSOVERS])
def test_crossover_flags_from_the_table_rows_equal_the_conditions_on_them(
    label: str, spec: StrategySpec
) -> None:
    """A sweep's route: the two averages' rows compared once per bar give the flags the
    conditions give on the same rows (warm-ups NaN, either row first, every direction)."""
    bars = Bars.from_frame(generate_intraday(3 * CROSSING_BLOCK_BARS + 77, seed=9))
    table, _, expected = _kernel_inputs(bars, spec, ExecutionSettings())
    crossover = crossover_of(spec)
    assert crossover is not None, label
    rows = table.rows_for(spec)
    flags = np.full(bars.length, -1, dtype=np.int8)
    crossings_into(
        table.matrix[rows[crossover.first.name] - BASE_ROWS],
        table.matrix[rows[crossover.second.name] - BASE_ROWS],
        crossover.rising,
        crossover.falling,
        flags,
    )
    np.testing.assert_array_equal(flags, expected)
    # A block of bars at a time, as a sweep fills them, blocks of uneven sizes.
    blocks = np.full(bars.length, -1, dtype=np.int8)
    edges = [0, 1, 2, 500, CROSSING_BLOCK_BARS, 2 * CROSSING_BLOCK_BARS + 3, bars.length]
    for start, stop in itertools.pairwise(edges):
        crossings_between(
            table.matrix[rows[crossover.first.name] - BASE_ROWS],
            table.matrix[rows[crossover.second.name] - BASE_ROWS],
            start,
            stop,
            crossover.rising,
            crossover.falling,
            blocks,
        )
    np.testing.assert_array_equal(blocks, expected)


@pytest.mark.parametrize(
    "spec",
    [
        SpecBuilder("ema_cross").build({}),
        SpecBuilder("rsi_reversion").build({}),
        _crossover(Rules((UP,), (DOWN,)), sizing=Sizing(method="vol_target")),
        _crossover(Rules((UP, Condition(left="a", op="above", right=100.0)), (DOWN,))),
        _crossover(Rules((Condition(left="a", op="above", right="b"),), (DOWN,))),
        _crossover(Rules((Condition(left="a", op="crosses_above", right="b", right_lag=1),))),
        _crossover(Rules((Condition(left="a", op="crosses_above", right="close"),))),
        _crossover(Rules((Condition(left="a", op="crosses_above", right=101.0),))),
    ],
    ids=["ema", "rsi", "vol_target", "two_conditions", "above", "lag", "close", "constant"],
)
def test_other_specs_are_not_taken_for_crossovers(spec: StrategySpec) -> None:
    bars = Bars.from_frame(generate_intraday(500, seed=1))
    assert crossing_flags(bars, spec) is None


def test_a_crossover_backtest_equals_the_same_backtest_of_the_conditions_flags() -> None:
    bars = Bars.from_frame(generate_intraday(40_000, seed=12))
    spec = SpecBuilder("sma_cross", allow_short=True).build({"fast": 9, "slow": 45})
    execution = ExecutionSettings(commission_bps=2.0)
    _, _, expected_flags = _kernel_inputs(bars, spec, execution)
    result = run_backtest(bars, spec, execution)
    reference = run_signal_function(
        bars, lambda *_: expected_flags, execution=execution, allow_short=True
    )
    assert result.metrics.trades > 100
    np.testing.assert_array_equal(result.trade_table, reference.trade_table)
    assert astuple(result.metrics) == astuple(reference.metrics)


def test_crossover_flags_equal_the_conditions_for_random_windows_and_lengths() -> None:
    """Random windows (either the larger) over random lengths, from one bar to a few
    blocks: the bars between the two averages' middles move with both."""
    rng = np.random.default_rng(17)
    for _ in range(150):
        length = int(rng.integers(1, 3 * CROSSING_BLOCK_BARS))
        windows = (int(rng.integers(1, 90)), int(rng.integers(1, 140)))
        bars = Bars.from_frame(generate_intraday(length, seed=length))
        spec = _crossover(Rules((UP,), (DOWN,), (B_UP,), (B_DOWN,)), windows=windows)
        _, _, expected = _kernel_inputs(bars, spec, ExecutionSettings())
        flags = crossing_flags(bars, spec)
        assert flags is not None
        np.testing.assert_array_equal(flags, expected, err_msg=f"{length} bars, {windows}")
