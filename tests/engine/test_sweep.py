"""Sweeps agree with single runs, share indicators, stay within memory, and rank."""

import math
import os
import subprocess
import sys
from pathlib import Path

import numba
import numpy as np
import polars as pl
import pytest

from engine.backtest import BASE_ROWS
from engine.data import Bars
from engine.metrics import METRIC_NAMES
from engine.runner import run_backtest
from engine.strategy import ExecutionSettings, SpecBuilder
from engine.sweep import (
    FLAG_BLOCK_BARS,
    FLAGS_BUDGET_SHARE,
    WORKERS_PER_THREAD,
    deflated_sharpe_ratio,
    grid,
    parse_range,
    random_search,
    rank_sweep,
    run_sweep,
    split_sweep,
    sweep_metrics,
    walk_forward,
    worker_scratch_bytes,
)
from engine.synthetic import generate_daily

EXECUTION = ExecutionSettings(commission_bps=5)


@pytest.fixture(scope="module")
def bars() -> Bars:
    return Bars.from_frame(generate_daily(800, seed=11))


def test_parse_range_includes_the_stop() -> None:
    assert parse_range("fast=5:20:5") == ("fast", [5.0, 10.0, 15.0, 20.0])
    assert parse_range("width=1.5,2,2.5") == ("width", [1.5, 2.0, 2.5])
    with pytest.raises(ValueError, match="step > 0"):
        parse_range("fast=5:1:1")


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("fast=-1e308:1e308:1", "more than 100,000 values"),
        ("fast=1:1e300:1e-300", "more than 100,000 values"),
        ("fast=0:inf:1", "finite"),
        ("fast=nan:5:1", "finite"),
        ("fast=1,inf", "finite"),
    ],
)
def test_parse_range_refuses_ranges_that_are_not_finite_or_too_long(text: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        parse_range(text)


def test_grid_and_random_search_are_deterministic() -> None:
    ranges = {"fast": [1.0, 2.0, 3.0], "slow": [10.0, 20.0]}
    assert len(grid(ranges)) == 6
    assert random_search(ranges, 4, seed=1) == random_search(ranges, 4, seed=1)
    assert len({tuple(c.values()) for c in random_search(ranges, 4, seed=1)}) == 4


def test_every_sweep_row_equals_the_single_backtest_of_its_parameters(bars: Bars) -> None:
    builder = SpecBuilder("sma_cross", allow_short=True)
    combos = grid({"fast": [3, 5, 8], "slow": [20, 40]})
    result = run_sweep(bars, builder, combos, EXECUTION)
    for row in result.ranking.iter_rows(named=True):
        single = run_backtest(
            bars, builder.build({"fast": row["fast"], "slow": row["slow"]}), EXECUTION
        )
        assert row["final_equity"] == single.metrics.final_equity
        assert row["trades"] == single.metrics.trades
        assert row["sharpe"] == single.metrics.sharpe or (
            math.isnan(row["sharpe"]) and math.isnan(single.metrics.sharpe)
        )


@pytest.mark.parametrize("length", [800, 2 * FLAG_BLOCK_BARS + 517])
@pytest.mark.parametrize(
    ("template", "grid_ranges"),
    [
        ("ema_cross", {"fast": [3, 5], "slow": [20, 40]}),
        ("sma_cross", {"fast": [3, 8], "slow": [20, 40]}),
    ],
)
def test_sweep_rows_equal_single_backtests_with_and_without_a_crossover_route(
    length: int, template: str, grid_ranges: dict[str, list[float]]
) -> None:
    """Crossovers take their flags from the table rows in the sweep (a block of bars at
    a time, so across block edges too) and straight from the bars in a single backtest,
    other specs from their conditions in both: every metric agrees, whichever route."""
    bars = Bars.from_frame(generate_daily(length, seed=11))
    builder = SpecBuilder(template, allow_short=True)
    combos = grid(grid_ranges)
    result = run_sweep(bars, builder, combos, EXECUTION)
    for row in result.ranking.iter_rows(named=True):
        params = {name: row[name] for name in grid_ranges}
        single = run_backtest(bars, builder.build(params), EXECUTION)
        for name in METRIC_NAMES:
            value = getattr(single.metrics, name)
            assert row[name] == value or (math.isnan(row[name]) and math.isnan(value)), name


def test_each_indicator_window_is_computed_once(bars: Bars) -> None:
    combos = grid({"fast": [3, 5, 8, 13], "slow": [20, 40, 60]})
    result = run_sweep(bars, SpecBuilder("sma_cross"), combos, EXECUTION)
    assert result.indicators_computed == 7


def test_with_room_for_four_rows_each_window_is_still_computed_once(bars: Bars) -> None:
    """Two fast and six slow windows, a table of four indicator rows: the two fast SMAs
    stay while the slow ones pass through, so each of the eight is computed once."""
    combos = grid({"fast": [3, 5], "slow": [20, 30, 40, 50, 60, 70]})
    table_bytes = (BASE_ROWS + 4) * 8 * bars.length
    # Every combination's crossover flags, a byte per bar, within an eighth of the budget.
    flag_bytes = len(combos) * bars.length
    per_worker = worker_scratch_bytes(bars.length)
    # No more workers than half the budget holds (the sweep's rule), so the rest of it
    # is the flags and the table of four rows.
    workers = min(
        len(combos),
        WORKERS_PER_THREAD * numba.get_num_threads(),
        (table_bytes + flag_bytes) // per_worker,
    )
    budget = workers * per_worker + table_bytes + flag_bytes
    assert budget // FLAGS_BUDGET_SHARE >= flag_bytes
    roomy = run_sweep(bars, SpecBuilder("sma_cross"), combos, EXECUTION)
    tight = run_sweep(bars, SpecBuilder("sma_cross"), combos, EXECUTION, memory_budget_bytes=budget)
    assert tight.chunks == 3
    assert tight.indicators_computed == 8
    assert tight.ranking.equals(roomy.ranking)


def test_a_tiny_memory_budget_chunks_the_work_without_changing_results(bars: Bars) -> None:
    combos = grid({"fast": [3, 5, 8, 13], "slow": [20, 40, 60]})
    roomy = run_sweep(bars, SpecBuilder("sma_cross"), combos, EXECUTION)
    tight = run_sweep(bars, SpecBuilder("sma_cross"), combos, EXECUTION, memory_budget_bytes=1)
    assert tight.chunks > 1
    assert tight.ranking.equals(roomy.ranking)


def test_workers_scratch_stays_within_half_the_budget_and_results_do_not_change(
    bars: Bars,
) -> None:
    """On a many-core machine with long series the workers' own buffers alone could
    exceed the budget: fewer workers run then, with the same results."""
    combos = grid({"fast": [3, 5, 8, 13], "slow": [20, 40, 60]})
    per_worker = worker_scratch_bytes(bars.length)
    roomy = run_sweep(bars, SpecBuilder("sma_cross"), combos, EXECUTION)
    assert roomy.workers == min(len(combos), WORKERS_PER_THREAD * numba.get_num_threads())
    budget = 2 * 2 * per_worker + 1  # half of it holds two workers' scratch
    tight = run_sweep(bars, SpecBuilder("sma_cross"), combos, EXECUTION, memory_budget_bytes=budget)
    assert tight.workers == 2
    assert tight.ranking.equals(roomy.ranking)


def test_ranking_is_sorted_by_the_chosen_metric_with_nan_last(bars: Bars) -> None:
    combos = grid({"fast": [3, 5, 8], "slow": [20, 40]})
    ranked = run_sweep(
        bars, SpecBuilder("sma_cross"), combos, EXECUTION, rank_by="total_return_pct"
    ).ranking
    values = ranked["total_return_pct"].to_list()
    assert values == sorted(values, reverse=True)
    by_drawdown = run_sweep(
        bars, SpecBuilder("sma_cross"), combos, EXECUTION, rank_by="max_drawdown_pct"
    ).ranking
    assert by_drawdown["max_drawdown_pct"].is_sorted()
    assert set(ranked.columns) >= {"fast", "slow", "sharpe", "trades"}
    assert ranked.schema["fast"] == pl.Int64


def test_sweep_progress_reports_every_combination(bars: Bars) -> None:
    seen: list[int] = []
    combos = grid({"fast": [3, 5], "slow": [20, 40]})
    run_sweep(bars, SpecBuilder("sma_cross"), combos, EXECUTION, progress=seen.append)
    assert sum(seen) == 4


def test_walk_forward_reports_out_of_sample_results_and_deflated_sharpe(bars: Bars) -> None:
    combos = grid({"fast": [3, 8], "slow": [20, 40]})
    result = walk_forward(bars, SpecBuilder("sma_cross"), combos, EXECUTION, folds=2)
    assert result.folds.height == 2
    assert {"fast", "slow", "deflated_sharpe", "out_of_sample_return_pct"} <= set(
        result.folds.columns
    )
    compounded = np.prod(1 + result.folds["out_of_sample_return_pct"].to_numpy() / 100) - 1
    assert result.out_of_sample_return_pct == pytest.approx(100 * compounded)
    assert (result.folds["out_of_sample_start"] > result.folds["in_sample_start"]).all()


def test_deflated_sharpe_falls_as_more_trials_are_tried() -> None:
    rng = np.random.default_rng(5)
    returns = rng.normal(0.001, 0.01, 1_000)
    few = deflated_sharpe_ratio(returns, rng.normal(0, 0.03, 5))
    many = deflated_sharpe_ratio(returns, rng.normal(0, 0.03, 500))
    assert 0.0 <= many < few <= 1.0
    # One trial reduces to the probabilistic Sharpe ratio against zero.
    assert deflated_sharpe_ratio(returns, [0.1]) > 0.9


def test_split_sweep_covers_every_combination_once_in_order() -> None:
    chunks = split_sweep(53, 10)
    assert [(c.index, c.start, c.stop) for c in chunks][-2:] == [(4, 40, 50), (5, 50, 53)]
    covered = [k for c in chunks for k in range(c.start, c.stop)]
    assert covered == list(range(53))
    assert [(c.start, c.stop) for c in split_sweep(3, 25)] == [(0, 3)]
    with pytest.raises(ValueError, match="at least one"):
        split_sweep(10, 0)


@pytest.mark.parametrize("rank_by", ["sharpe", "max_drawdown_pct", "trades"])
def test_chunks_evaluated_apart_and_merged_rank_exactly_as_run_sweep(
    bars: Bars, rank_by: str
) -> None:
    """Chunks evaluated in any order (as workers finish them) and stacked by position give
    the single-process ranking, row for row and bit for bit, ties included: `trades`
    ties between many combinations, so their order is checked too."""
    builder = SpecBuilder("sma_cross", allow_short=True)
    combos = grid({"fast": [3, 5, 8, 13], "slow": [20, 30, 40, 60, 80]})
    whole = run_sweep(bars, builder, combos, EXECUTION, rank_by=rank_by)
    chunks = split_sweep(len(combos), 3)
    metrics = np.full((len(combos), len(METRIC_NAMES)), -1.0)
    for chunk in reversed(chunks):
        metrics[chunk.start : chunk.stop] = sweep_metrics(
            bars, builder, combos[chunk.start : chunk.stop], EXECUTION
        )
    merged = rank_sweep(combos, metrics, rank_by)
    assert merged.equals(whole.ranking)
    assert merged.schema == whole.ranking.schema
    assert merged[rank_by].n_unique() < merged.height or rank_by != "trades"


def test_rank_sweep_breaks_ties_by_combination_order() -> None:
    combos = [{"fast": float(k)} for k in range(4)]
    metrics = np.zeros((4, len(METRIC_NAMES)))
    metrics[:, METRIC_NAMES.index("sharpe")] = [1.0, 2.0, 1.0, math.nan]
    assert rank_sweep(combos, metrics)["fast"].to_list() == [1, 0, 2, 3]
    with pytest.raises(ValueError, match="expected 3 rows"):
        rank_sweep(combos[:3], metrics)


IDLE_AFTER_SWEEP = """
import time
from engine.data import Bars
from engine.strategy import ExecutionSettings, SpecBuilder
from engine.sweep import grid, run_sweep
from engine.synthetic import generate_daily

bars = Bars.from_frame(generate_daily(2_000, seed=1))
combos = grid({"fast": [5, 10], "slow": [20, 40]})
idle = []
for _ in range(7):
    run_sweep(bars, SpecBuilder("sma_cross"), combos, ExecutionSettings())
    before = time.process_time()
    time.sleep(0.1)
    idle.append(time.process_time() - before)
print(sorted(idle)[3])
"""


def test_sweep_threads_use_no_cpu_while_the_caller_is_idle() -> None:
    # OpenMP's default has every thread spin for milliseconds after a parallel call,
    # CPU a sweep burned between its chunks. Run in a fresh process: OpenMP reads its
    # wait policy when first loaded, and an explicit setting is left alone.
    environment = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    done = subprocess.run(
        [sys.executable, "-c", IDLE_AFTER_SWEEP],
        capture_output=True,
        text=True,
        check=True,
        env=environment,
        cwd=Path(__file__).resolve().parents[2],
    )
    # The median of seven idle spells: spinning does not follow every call.
    idle_cpu_seconds = float(done.stdout.split()[-1])
    assert idle_cpu_seconds < 0.001
