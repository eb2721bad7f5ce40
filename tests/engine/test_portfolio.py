"""Multi-asset backtests with shared cash (engine/portfolio.py): the kernel against a
plain-Python reference written from the module's rules, N = 1 against the single-asset
engine, and the accounting invariants."""

import math
from dataclasses import dataclass

import numpy as np
import pytest

from engine.backtest import LONG_ENTRY, LONG_EXIT
from engine.data import Bars, DataError
from engine.portfolio import (
    ASSET_COLUMNS,
    PortfolioBars,
    PortfolioSizing,
    SizingMethod,
    align_bars,
    fill_capacity,
    portfolio_settings,
    run_flags,
    run_portfolio,
    simulate_portfolio,
    trade_capacity,
)
from engine.runner import run_backtest, run_signal_function
from engine.strategy import (
    ExecutionSettings,
    Risk,
    Sizing,
    SpecBuilder,
    SpecError,
)
from engine.synthetic import generate_daily


@dataclass
class ReferenceRun:
    equity: list[float]
    cash: list[float]
    units: list[list[float]]  # at each close (rows), of each asset (columns)
    net_flow: list[float]


def reference_portfolio(
    opens: np.ndarray,
    closes: np.ndarray,
    flags: np.ndarray,
    execution: ExecutionSettings,
    sizing: PortfolioSizing,
) -> ReferenceRun:
    """The rules of engine/portfolio.py's module doc, one plain Python statement at a time,
    on time-major ``(n, N)`` matrices."""
    n, n_assets = closes.shape
    fee_rate = execution.commission_bps / 10_000
    fixed_fee = execution.commission_fixed
    slip = execution.slippage_bps / 10_000
    at_close = execution.fill == "close"
    if sizing.method == "target_weights":
        weights = list(sizing.target_weights)
    else:
        weights = [sizing.fraction or 1 / n_assets] * n_assets
    cash = execution.initial_cash
    held = [0.0] * n_assets
    flow = [0.0] * n_assets
    run = ReferenceRun([], [], [], flow)

    def floor_if_whole(units: float) -> float:
        return math.floor(units) if sizing.whole_units else units

    for bar in range(n):
        signal_bar = bar if at_close else bar - 1
        if signal_bar >= 0:
            price = [float(closes[bar, a] if at_close else opens[bar, a]) for a in range(n_assets)]
            value = cash + sum(held[a] * price[a] for a in range(n_assets))
            due = sizing.rebalance_every > 0 and bar > 0 and bar % sizing.rebalance_every == 0
            orders: list[tuple[int, float]] = []  # (asset, signed units)
            for a in range(n_assets):
                flag = int(flags[signal_bar, a])
                if held[a] > 0 and flag & LONG_EXIT:
                    orders.append((a, -held[a]))
                elif (held[a] == 0 and flag & LONG_ENTRY) or (due and held[a] > 0):
                    paid = price[a] * (1 + slip)
                    if sizing.method == "fixed_units":
                        want = sizing.units[a]
                    else:
                        want = (weights[a] * value - fixed_fee) / (paid * (1 + fee_rate))
                    want = max(floor_if_whole(want), 0.0)
                    if want != held[a]:
                        orders.append((a, want - held[a]))
            for a, change in [o for o in orders if o[1] < 0]:
                got = price[a] * (1 - slip)
                gross = -change * got
                fee = min(gross * fee_rate + fixed_fee, gross)
                cash += gross - fee
                flow[a] += gross - fee
                held[a] = 0.0 if -change >= held[a] else held[a] + change
            for a, change in [o for o in orders if o[1] > 0]:
                paid = price[a] * (1 + slip)
                affordable = max(floor_if_whole((cash - fixed_fee) / (paid * (1 + fee_rate))), 0.0)
                change = min(change, affordable)
                if change <= 0:
                    continue
                cost = change * paid + change * paid * fee_rate + fixed_fee
                cash = max(cash - cost, 0.0)
                flow[a] -= cost
                held[a] += change
        run.cash.append(cash)
        run.equity.append(cash + sum(held[a] * float(closes[bar, a]) for a in range(n_assets)))
        run.units.append(list(held))
    return run


def random_bars(rng: np.random.Generator, n_assets: int, n: int) -> list[Bars]:
    out = []
    for a in range(n_assets):
        close = 50.0 * np.exp(np.cumsum(rng.normal(0.0, 0.03, n))) * (1 + a)
        open_ = close * np.exp(rng.normal(0.0, 0.01, n))
        high = np.maximum(open_, close) * 1.01
        low = np.minimum(open_, close) * 0.99
        out.append(Bars.from_arrays(open_, high, low, close, symbol=f"S{a}"))
    return out


def time_major(flags: np.ndarray) -> np.ndarray:
    """Flags drawn one row per asset, as the kernel reads them: one row per bar."""
    return np.ascontiguousarray(flags.T)


def random_flags(rng: np.random.Generator, n_assets: int, n: int) -> np.ndarray:
    entries = (rng.random((n_assets, n)) < 0.15).astype(np.int8) * LONG_ENTRY
    exits = (rng.random((n_assets, n)) < 0.12).astype(np.int8) * LONG_EXIT
    return time_major(entries | exits)


def random_case(seed: int) -> tuple[ExecutionSettings, PortfolioSizing]:
    rng = np.random.default_rng(10_000 + seed)
    n_assets = 1 + seed % 4
    methods: tuple[SizingMethod, ...] = ("fraction", "target_weights", "fixed_units")
    method = methods[seed % 3]
    weights = rng.dirichlet(np.ones(n_assets)) * rng.uniform(0.5, 1.0)
    sizing = PortfolioSizing(
        method=method,
        fraction=float(rng.choice([0.0, 0.3, 0.6, 1.0])),
        target_weights=tuple(float(w) for w in weights),
        units=tuple(float(u) for u in rng.integers(1, 60, n_assets)),
        rebalance_every=int(rng.choice([0, 0, 3, 7])),
        whole_units=bool(seed % 5 == 0),
    )
    execution = ExecutionSettings(
        initial_cash=float(rng.choice([1_000.0, 10_000.0, 25_000.0])),
        commission_bps=float(rng.choice([0.0, 5.0, 25.0])),
        commission_fixed=float(rng.choice([0.0, 1.0])),
        slippage_bps=float(rng.choice([0.0, 10.0])),
        fill="close" if seed % 2 else "next_open",
    )
    return execution, sizing


@pytest.mark.parametrize("seed", range(48))
def test_kernel_matches_the_plain_python_reference_to_the_cent(seed: int) -> None:
    execution, sizing = random_case(seed)
    n_assets = 1 + seed % 4
    rng = np.random.default_rng(seed)
    bars = random_bars(rng, n_assets, 120)
    flags = random_flags(rng, n_assets, 120)
    result = run_flags(bars, flags, execution, sizing)
    opens = np.stack([b.open for b in bars], axis=1)
    closes = np.stack([b.close for b in bars], axis=1)
    expected = reference_portfolio(opens, closes, flags, execution, sizing)
    np.testing.assert_allclose(result.equity, expected.equity, rtol=0, atol=0.005)
    np.testing.assert_allclose(result.cash, expected.cash, rtol=0, atol=0.005)
    np.testing.assert_allclose(result.positions, np.array(expected.units), rtol=0, atol=1e-9)
    flows = [a.contribution - a.final_value for a in result.assets]
    np.testing.assert_allclose(flows, expected.net_flow, rtol=0, atol=0.005)
    # The cases must trade, or the comparison proves little.
    assert sum(a.fills for a in result.assets) > 0


@pytest.mark.parametrize("seed", range(24))
def test_cash_never_negative_and_equity_is_cash_plus_positions_at_every_bar(seed: int) -> None:
    execution, sizing = random_case(seed)
    rng = np.random.default_rng(500 + seed)
    n_assets = 1 + seed % 4
    bars = random_bars(rng, n_assets, 200)
    result = run_flags(bars, random_flags(rng, n_assets, 200), execution, sizing)
    assert (result.cash >= 0.0).all()
    marked = result.cash + (result.positions * result.closes).sum(axis=1)
    np.testing.assert_allclose(result.equity, marked, rtol=1e-12, atol=1e-9)
    profit = result.equity[-1] - execution.initial_cash
    assert sum(a.contribution for a in result.assets) == pytest.approx(profit, abs=1e-6)


@pytest.mark.parametrize("fill", ["next_open", "close"])
@pytest.mark.parametrize("costs", [(0.0, 0.0, 0.0), (10.0, 2.0, 5.0)])
def test_one_asset_portfolio_equals_the_single_asset_engine(
    fill: str, costs: tuple[float, float, float]
) -> None:
    bars = Bars.from_frame(generate_daily(600, seed=11), None)
    spec = SpecBuilder("sma_cross").build({"fast": 8, "slow": 30})
    commission_bps, commission_fixed, slippage_bps = costs
    execution = ExecutionSettings(
        initial_cash=10_000.0,
        commission_bps=commission_bps,
        commission_fixed=commission_fixed,
        slippage_bps=slippage_bps,
        fill=fill,  # type: ignore[arg-type]
    )
    single = run_backtest(bars, spec, execution)
    portfolio = run_portfolio([bars], spec, execution, PortfolioSizing(fraction=1.0))
    assert single.metrics.trades > 3
    np.testing.assert_allclose(portfolio.equity, single.equity, rtol=0, atol=0.005)
    np.testing.assert_allclose(portfolio.positions[:, 0], single.position, rtol=1e-12, atol=1e-12)
    assert portfolio.metrics.trades == single.metrics.trades
    assert portfolio.metrics.final_equity == pytest.approx(single.metrics.final_equity, abs=0.005)
    assert portfolio.metrics.sharpe == pytest.approx(single.metrics.sharpe, rel=1e-9)
    assert portfolio.metrics.max_drawdown_pct == pytest.approx(
        single.metrics.max_drawdown_pct, rel=1e-9
    )
    assert portfolio.assets[0].exposure_pct == pytest.approx(single.metrics.exposure_pct)


def test_one_asset_with_fraction_and_whole_units_equals_the_single_asset_engine() -> None:
    rng = np.random.default_rng(3)
    bars = random_bars(rng, 1, 300)
    flags = random_flags(rng, 1, 300)
    execution = ExecutionSettings(initial_cash=5_000.0, commission_bps=7.0, slippage_bps=3.0)
    single = run_signal_function(
        bars[0],
        lambda *_arrays: np.ascontiguousarray(flags[:, 0]),
        execution=execution,
        sizing=Sizing(fraction=0.5, whole_units=True),
    )
    portfolio = run_flags(bars, flags, execution, PortfolioSizing(fraction=0.5, whole_units=True))
    np.testing.assert_allclose(portfolio.equity, single.equity, rtol=0, atol=0.005)


def two_assets(rows_a: list[float], rows_b: list[float]) -> list[Bars]:
    a = np.array(rows_a)
    b = np.array(rows_b)
    return [
        Bars.from_arrays(a, a, a, a, symbol="AAA"),
        Bars.from_arrays(b, b, b, b, symbol="BBB"),
    ]


def test_sells_fill_before_buys_so_freed_cash_funds_the_buy() -> None:
    bars = two_assets([10.0, 10.0, 20.0, 20.0], [5.0, 5.0, 5.0, 5.0])
    flags = np.zeros((4, 2), dtype=np.int8)  # bars × assets
    flags[0, 0] = LONG_ENTRY
    flags[1, 0] = LONG_EXIT  # AAA, asset 0, sells at bar 2's open...
    flags[1, 1] = LONG_ENTRY  # ...and BBB buys at the same open with its proceeds.
    result = run_flags(
        bars, flags, ExecutionSettings(initial_cash=1_000.0), PortfolioSizing(fraction=1.0)
    )
    # 100 AAA bought at 10 sell at 20 for 2,000, all of which buys 400 BBB at 5.
    assert result.positions[2].tolist() == [0.0, 400.0]
    assert result.cash[2] == 0.0
    assert result.assets[1].cash_limited_orders == 0


def test_a_buy_the_cash_cannot_pay_shrinks_then_is_skipped() -> None:
    bars = two_assets([10.0] * 4, [5.0] * 4)
    flags = np.zeros((4, 2), dtype=np.int8)
    flags[0] = LONG_ENTRY
    sizing = PortfolioSizing(method="target_weights", target_weights=(0.7, 0.3))
    result = run_flags(bars, flags, ExecutionSettings(initial_cash=1_000.0), sizing)
    assert result.positions[1].tolist() == [70.0, 60.0]
    # Weights of 0.8 each want 1,600 of 1,000: AAA (first) gets 80, BBB the 200 left.
    sizing = PortfolioSizing(fraction=0.8)
    result = run_flags(bars, flags, ExecutionSettings(initial_cash=1_000.0), sizing)
    assert result.positions[1].tolist() == [80.0, 40.0]
    assert [a.cash_limited_orders for a in result.assets] == [0, 1]
    result = run_flags(
        bars, flags, ExecutionSettings(initial_cash=1_000.0), PortfolioSizing(fraction=1.0)
    )
    assert result.positions[1].tolist() == [100.0, 0.0]
    assert result.assets[1].fills == 0
    assert result.assets[1].cash_limited_orders == 1


def test_rebalancing_trades_held_assets_back_to_their_target_weights() -> None:
    bars = two_assets([10.0, 10.0, 20.0, 20.0, 20.0], [10.0] * 5)
    flags = np.zeros((5, 2), dtype=np.int8)
    flags[0] = LONG_ENTRY
    sizing = PortfolioSizing(fraction=0.5, rebalance_every=3)
    result = run_flags(bars, flags, ExecutionSettings(initial_cash=1_000.0), sizing)
    assert result.positions[2].tolist() == [50.0, 50.0]  # 1,000 + 500 at bar 2
    # Bar 3's open: equity 1,500, so 37.5 AAA at 20 and 75 BBB at 10; AAA's sale pays.
    assert result.positions[3].tolist() == [37.5, 75.0]
    assert result.cash[3] == pytest.approx(0.0, abs=1e-9)
    assert result.equity[-1] == pytest.approx(1_500.0)


def test_misaligned_timestamps_are_aligned_on_their_intersection() -> None:
    day = 86_400 * 1_000_000
    closes = np.arange(1.0, 7.0)
    a = Bars.from_arrays(closes, closes, closes, closes, symbol="AAA")
    b = Bars(
        symbol="BBB",
        timestamps=np.array([1, 2, 4, 5, 9]) * day,
        base=np.ascontiguousarray(np.tile(np.array([10.0, 20, 40, 50, 90]), (5, 1))),
    )
    (a2, b2), dropped = align_bars([a, b])
    assert a2.timestamps.tolist() == b2.timestamps.tolist() == [day, 2 * day, 4 * day, 5 * day]
    assert a2.close.tolist() == [2.0, 3.0, 5.0, 6.0]
    assert b2.close.tolist() == [10.0, 20.0, 40.0, 50.0]
    assert dropped == 2 + 1


def test_a_portfolio_run_refuses_what_it_does_not_support_naming_the_field() -> None:
    bars = random_bars(np.random.default_rng(1), 2, 50)
    spec = SpecBuilder("sma_cross").build({"fast": 5, "slow": 20})
    execution = ExecutionSettings()
    with pytest.raises(SpecError) as refused:
        run_portfolio(
            bars, spec, execution, PortfolioSizing(method="target_weights", target_weights=(1.0,))
        )
    assert refused.value.path == "$.sizing.target_weights"
    with pytest.raises(SpecError) as refused:
        run_portfolio(
            bars, SpecBuilder("sma_cross", risk=Risk(stop_loss_pct=5.0)).build({}), execution
        )
    assert refused.value.path == "$.risk"
    with pytest.raises(SpecError) as refused:
        run_portfolio([bars[0], bars[0]], spec, execution)
    assert refused.value.path == "$.symbols"


def test_per_asset_contributions_add_up_to_the_portfolio_profit_on_real_signals() -> None:
    bars = [Bars.from_frame(generate_daily(400, seed=seed), None) for seed in (1, 2, 3)]
    bars = [Bars(symbol=f"S{k}", timestamps=b.timestamps, base=b.base) for k, b in enumerate(bars)]
    spec = SpecBuilder("sma_cross").build({"fast": 5, "slow": 20})
    result = run_portfolio(bars, spec, ExecutionSettings(commission_bps=5.0))
    profit = result.metrics.final_equity - 10_000.0
    assert sum(a.contribution for a in result.assets) == pytest.approx(profit, abs=1e-6)
    assert all(a.round_trips > 0 for a in result.assets)
    assert result.asset_frame().height == 3


def test_a_run_on_misaligned_symbols_equals_the_run_on_their_common_bars() -> None:
    rng = np.random.default_rng(8)
    whole = random_bars(rng, 2, 300)
    # BBB misses every seventh bar and AAA its last twenty.
    gappy = Bars(
        symbol="S1",
        timestamps=whole[1].timestamps[np.arange(300) % 7 != 3],
        base=np.ascontiguousarray(whole[1].base[:, np.arange(300) % 7 != 3]),
    )
    short = whole[0].slice(0, 280)
    spec = SpecBuilder("sma_cross").build({"fast": 5, "slow": 20})
    execution = ExecutionSettings(commission_bps=5.0)
    result = run_portfolio([short, gappy], spec, execution)
    (a, b), dropped = align_bars([short, gappy])
    expected = run_portfolio([a, b], spec, execution)
    assert result.dropped_bars == dropped == (280 - a.length) + (gappy.length - b.length)
    assert result.timestamps.tolist() == a.timestamps.tolist()
    np.testing.assert_array_equal(result.equity, expected.equity)
    assert expected.dropped_bars == 0


@pytest.mark.parametrize("seed", range(12))
def test_the_trade_table_sized_from_the_entry_flags_never_overflows(seed: int) -> None:
    # Busy signals (an entry and an exit flag on most bars) make far more round trips than
    # n // 8; a table of trade_capacity rows must hold them all in one kernel run.
    execution, sizing = random_case(seed)
    rng = np.random.default_rng(900 + seed)
    n_assets, n = 1 + seed % 4, 160
    bars = random_bars(rng, n_assets, n)
    entries = (rng.random((n_assets, n)) < 0.9).astype(np.int8) * LONG_ENTRY
    exits = (rng.random((n_assets, n)) < 0.9).astype(np.int8) * LONG_EXIT
    flags = time_major(entries | exits)
    result = run_flags(bars, flags, execution, sizing)
    rows = trade_capacity(flags)
    table = np.zeros((rows, result.trade_table.shape[1]))
    fills = fill_capacity(flags, sizing.rebalance_every)
    count, _, _ = simulate_portfolio(
        np.stack([b.open for b in bars], axis=1),
        result.closes,
        flags,
        portfolio_settings(execution, sizing),
        np.full(n_assets, sizing.fraction or 1.0 / n_assets)
        if sizing.method != "target_weights"
        else np.array(sizing.target_weights),
        np.array(sizing.units or (0.0,) * n_assets, dtype=np.float64),
        np.empty(n),
        np.empty(n),
        table,
        np.zeros(rows, dtype=np.int64),
        np.zeros((n_assets, ASSET_COLUMNS)),
        np.empty(fills, dtype=np.int64),
        np.empty(fills, dtype=np.int64),
        np.empty(fills),
    )
    assert max(16, n // 8) < count == result.trade_table.shape[0] <= rows
    np.testing.assert_array_equal(table[:count], result.trade_table)


@pytest.mark.parametrize("seed", range(12))
def test_matrices_given_once_run_exactly_as_the_stacked_bars(seed: int) -> None:
    # PortfolioBars hands the kernel the caller's matrices without copying them; the run
    # must be bit for bit the one run_flags makes from a list of Bars.
    execution, sizing = random_case(seed)
    rng = np.random.default_rng(1_300 + seed)
    n_assets = 1 + seed % 4
    bars = random_bars(rng, n_assets, 150)
    flags = random_flags(rng, n_assets, 150)
    panel = PortfolioBars.stack(bars)
    given = run_flags(panel, flags, execution, sizing)
    stacked = run_flags(bars, flags, execution, sizing)
    assert given.closes is panel.closes
    assert given.symbols == stacked.symbols == tuple(b.symbol for b in bars)
    for name in ("equity", "cash", "positions", "trade_table", "trade_assets", "asset_stats"):
        np.testing.assert_array_equal(getattr(given, name), getattr(stacked, name))
    assert given.metrics == stacked.metrics


def test_matrices_of_the_wrong_shape_or_layout_are_refused_naming_them() -> None:
    bars = random_bars(np.random.default_rng(3), 2, 40)
    panel = PortfolioBars.stack(bars)
    with pytest.raises(DataError) as wrong_shape:
        PortfolioBars(panel.symbols, panel.timestamps, panel.opens[:30], panel.closes, 252.0)
    assert wrong_shape.value.column == "opens"
    with pytest.raises(DataError) as strided:
        PortfolioBars(
            panel.symbols, panel.timestamps, panel.opens, np.asfortranarray(panel.closes), 252.0
        )
    assert strided.value.column == "closes"


def test_flags_in_the_symbol_major_layout_are_refused_naming_them() -> None:
    # The kernel reads flags one bar (row) at a time without checking indices; flags of
    # one row per symbol would read past their end instead of failing.
    rng = np.random.default_rng(4)
    bars = random_bars(rng, 3, 40)
    flags = random_flags(rng, 3, 40)
    with pytest.raises(DataError) as refused:
        run_flags(bars, np.ascontiguousarray(flags.T), ExecutionSettings(), PortfolioSizing())
    assert refused.value.column == "flags"


@pytest.mark.parametrize("seed", range(24))
def test_exposure_and_positions_from_the_fill_log_match_the_units_at_every_close(
    seed: int,
) -> None:
    # The kernel no longer writes the (N, n) units: it logs each fill's units, counts the
    # bars held from the round trips and the exposed bars from the assets held. Each must
    # equal what the units at every close say, on busy signals that fill on most bars.
    execution, sizing = random_case(seed)
    rng = np.random.default_rng(1_700 + seed)
    n_assets, n = 1 + seed % 4, 160
    bars = random_bars(rng, n_assets, n)
    busy = 0.15 if seed % 2 else 0.7
    entries = (rng.random((n_assets, n)) < busy).astype(np.int8) * LONG_ENTRY
    exits = (rng.random((n_assets, n)) < busy).astype(np.int8) * LONG_EXIT
    flags = time_major(entries | exits)
    result = run_flags(bars, flags, execution, sizing)
    expected = reference_portfolio(
        np.stack([b.open for b in bars], axis=1), result.closes, flags, execution, sizing
    )
    units = np.array(expected.units)
    np.testing.assert_allclose(result.positions, units, rtol=0, atol=1e-9)
    held = result.positions > 0.0
    assert (held == (units > 1e-9)).all()
    assert result.metrics.exposure_pct == pytest.approx(100.0 * held.any(axis=1).sum() / n)
    for a, asset in enumerate(result.assets):
        assert asset.exposure_pct == pytest.approx(100.0 * held[:, a].sum() / n)
        assert asset.fills == int(np.count_nonzero(result.position_assets == a))
    assert result.position_bars.shape[0] <= fill_capacity(flags, sizing.rebalance_every)
    assert (np.diff(result.position_bars) >= 0).all()
    assert sum(a.fills for a in result.assets) > 0
