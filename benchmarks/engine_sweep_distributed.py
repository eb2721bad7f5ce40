"""A distributed sweep's scaling (issue 23 item 4): a 200-combination SMA crossover sweep
on 2e6 one-minute bars cut into 20 chunks (`engine.sweep.split_sweep`), run by 1 and by
2 worker processes with one Numba thread each, which take the next chunk as they free up
(as `dracarys worker` processes take them from the sweep queue), and merged with
`rank_sweep`; beside the in-process `run_sweep` on every thread of the machine. Checks
that the three rankings are identical.

    flock /tmp/dracarys-bench.lock uv run python benchmarks/engine_sweep_distributed.py \
        [--bars 2000000] [--chunks 20] [--repeats 3]

Measured: the engine's side of the work (each process evaluating its chunks, the merge)
from the first chunk handed out to the ranking; the queue and the chunk leases in
PostgreSQL add a few milliseconds per chunk (tests/backtests/test_sweep_workers.py runs
the whole path with real worker processes). The workers are started, given the bars and
warmed (kernels loaded from the cache) before the clock starts. Scaling efficiency is
the 1-worker time over twice the 2-worker time.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing.context import SpawnContext
from pathlib import Path

import numba
import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.data import Bars
from engine.metrics import METRIC_NAMES
from engine.strategy import ExecutionSettings, SpecBuilder
from engine.sweep import Params, grid, rank_sweep, run_sweep, split_sweep, sweep_metrics
from engine.synthetic import generate_intraday

FASTS = list(range(2, 22, 2))  # 10 values
SLOWS = list(range(60, 260, 10))  # 20 values → 200 combinations
SEED = 7
EXECUTION = ExecutionSettings(initial_cash=10_000.0)
BUILDER = SpecBuilder("sma_cross", allow_short=True)

# Each worker process's bars and combinations, built once by its initializer.
_bars: Bars | None = None
_combos: list[Params] = []


def _start_worker(bar_count: int, combos: list[Params]) -> None:
    global _bars, _combos
    _bars = Bars.from_frame(generate_intraday(bar_count, seed=SEED))
    _combos = combos
    sweep_metrics(_bars.slice(0, 5_000), BUILDER, combos[:2], EXECUTION)  # warm


def _chunk(start: int, stop: int) -> tuple[int, np.ndarray, int]:
    assert _bars is not None
    return start, sweep_metrics(_bars, BUILDER, _combos[start:stop], EXECUTION), os.getpid()


def _ready() -> int:
    return os.getpid()


def distributed(
    context: SpawnContext,
    processes: int,
    bar_count: int,
    combos: list[Params],
    chunks: int,
    repeats: int,
) -> tuple[list[float], pl.DataFrame, int]:
    """`repeats` timings of the sweep on `processes` workers, the merged ranking, and how
    many of the workers ran chunks in the last repeat."""
    size = -(-len(combos) // chunks)
    parts = split_sweep(len(combos), size)
    with ProcessPoolExecutor(
        processes, mp_context=context, initializer=_start_worker, initargs=(bar_count, combos)
    ) as pool:
        # Every worker up, with its bars and warm kernels, before the clock starts.
        seen: set[int] = set()
        while len(seen) < processes:
            seen |= {f.result() for f in [pool.submit(_ready) for _ in range(4 * processes)]}
        timings = []
        ranking = pl.DataFrame()
        used = 0
        for _ in range(repeats):
            started = time.perf_counter()
            metrics = np.empty((len(combos), len(METRIC_NAMES)))
            pids: set[int] = set()
            futures = [pool.submit(_chunk, part.start, part.stop) for part in parts]
            for future in futures:
                start, values, pid = future.result()
                metrics[start : start + values.shape[0]] = values
                pids.add(pid)
            ranking = rank_sweep(combos, metrics, "sharpe")
            timings.append(time.perf_counter() - started)
            used = len(pids)
    return timings, ranking, used


def spread(timings: list[float]) -> str:
    return f"{min(timings):.2f}–{max(timings):.2f} s"


def main() -> None:
    started = time.perf_counter()
    combos = grid({"fast": FASTS, "slow": SLOWS})
    bars = Bars.from_frame(generate_intraday(ARGS.bars, seed=SEED))
    print(
        f"data: {ARGS.bars:,} one-minute synthetic bars, {len(combos)} combinations in "
        f"{ARGS.chunks} chunks; {os.cpu_count()} cores, {numba.get_num_threads()} Numba "
        f"threads in-process ({time.perf_counter() - started:.1f} s to build)"
    )
    run_sweep(bars.slice(0, 5_000), BUILDER, combos[:2], EXECUTION)  # warm
    in_process = []
    single = pl.DataFrame()
    for _ in range(ARGS.repeats):
        began = time.perf_counter()
        single = run_sweep(bars, BUILDER, combos, EXECUTION, rank_by="sharpe").ranking
        in_process.append(time.perf_counter() - began)

    # Spawned, with one Numba thread each: a worker process as `dracarys worker` runs it
    # with NUMBA_NUM_THREADS=1 (set before the children import numba).
    os.environ["NUMBA_NUM_THREADS"] = "1"
    context = multiprocessing.get_context("spawn")
    one, one_ranking, _ = distributed(context, 1, ARGS.bars, combos, ARGS.chunks, ARGS.repeats)
    two, two_ranking, two_used = distributed(
        context, 2, ARGS.bars, combos, ARGS.chunks, ARGS.repeats
    )

    identical = one_ranking.equals(single) and two_ranking.equals(single)
    efficiency = min(one) / (2 * min(two))
    print(f"in-process run_sweep ({numba.get_num_threads()} threads): {spread(in_process)}")
    print(f"1 worker process (1 thread):  {spread(one)}")
    print(f"2 worker processes (1 thread each, {two_used} ran chunks): {spread(two)}")
    print(f"scaling efficiency 1 → 2 workers: {100 * efficiency:.0f} %")
    print(f"rankings identical to run_sweep's: {identical}")
    if not identical:
        raise SystemExit("the merged rankings differ from run_sweep's")


parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
parser.add_argument("--bars", type=int, default=2_000_000)
parser.add_argument("--chunks", type=int, default=20)
parser.add_argument("--repeats", type=int, default=3)
ARGS = parser.parse_args([] if __name__ != "__main__" else None)

if __name__ == "__main__":
    main()
