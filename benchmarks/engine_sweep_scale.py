"""The sweep at the scale issue 4 asks to fit on this machine: 1e7 bars × 1,000 SMA
crossover combinations, with the default memory budget, beside the hand-written
single-loop Numba kernel (`engine_vs_peers.hand_sweep`, which keeps no series at all)
on the same data in the same run. vectorbt is not run here: its 100-combination sweep
on 1e6 bars already peaks near 12 GB (`engine_vs_peers`), so this one would need about
a hundred times that.

    flock /tmp/dracarys-bench.lock uv run python benchmarks/engine_sweep_scale.py \
        [--bars 10000000] [--budget-gib 2]

Prints wall time, throughput in bar-evaluations per second, peak resident memory of the
process, and how many SMA series the sweep computed (each distinct window once, unless
the budget cannot hold them all at the same time).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from engine_vs_peers import hand_sweep, machine, peak_mb, reset_peak, rss_mb

from engine.data import Bars
from engine.strategy import ExecutionSettings, SpecBuilder
from engine.sweep import grid, run_sweep
from engine.synthetic import generate_intraday

FASTS = list(range(2, 52))  # 50 values
SLOWS = list(range(60, 260, 10))  # 20 values → 1,000 combinations
CASH = 10_000.0


def peak_gib() -> float:
    return peak_mb() / 1024


def resident_gib() -> float:
    return rss_mb() / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=10_000_000)
    parser.add_argument("--budget-gib", type=float, default=2.0)
    args = parser.parse_args()

    started = time.perf_counter()
    bars = Bars.from_frame(generate_intraday(args.bars, seed=7))
    print(f"data: {args.bars:,} one-minute synthetic bars in {time.perf_counter() - started:.1f} s")
    combos = grid({"fast": FASTS, "slow": SLOWS})
    execution = ExecutionSettings(initial_cash=CASH)
    builder = SpecBuilder("sma_cross")
    warm = bars.slice(0, 5_000)
    run_sweep(warm, builder, combos[:4], execution)
    opens, closes = bars.open.copy(), bars.close.copy()
    fasts = np.array([c["fast"] for c in combos], dtype=np.int64)
    slows = np.array([c["slow"] for c in combos], dtype=np.int64)
    hand_sweep(opens[:5_000], closes[:5_000], fasts[:4], slows[:4], CASH)
    before = resident_gib()
    reset_peak()  # the data's own construction peaked higher than what it keeps

    started = time.perf_counter()
    result = run_sweep(
        bars, builder, combos, execution, memory_budget_bytes=int(args.budget_gib * 1024**3)
    )
    ours = time.perf_counter() - started
    ours_peak = peak_gib()

    started = time.perf_counter()
    hand_sweep(opens, closes, fasts, slows, CASH)
    hand = time.perf_counter() - started

    evaluations = args.bars * len(combos)
    best = result.ranking.row(0, named=True)
    print(f"machine: {machine()}")
    print(f"{len(combos):,} combinations × {args.bars:,} bars = {evaluations:.2e} bar-evaluations")
    print(
        f"  dracarys  {ours:7.1f} s  {evaluations / ours / 1e6:7.1f} M bar-evals/s  "
        f"peak RSS {ours_peak:.2f} GiB, of which the bars and process before it "
        f"{before:.2f} GiB (sweep budget {args.budget_gib:g} GiB)"
    )
    print(f"  hand      {hand:7.1f} s  {evaluations / hand / 1e6:7.1f} M bar-evals/s")
    print(f"  dracarys / hand throughput: {hand / ours:.1%}")
    print(
        f"  SMA series computed: {result.indicators_computed} "
        f"(distinct windows: {len(set(FASTS) | set(SLOWS))})"
    )
    print(f"  best by Sharpe: fast {best['fast']:g}, slow {best['slow']:g}, {best['sharpe']:.3f}")


if __name__ == "__main__":
    main()
