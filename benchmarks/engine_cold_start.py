"""Engine start-up: how long a fresh process takes until one backtest of 5,000 bars is done
(imports, loading the file, compiling or loading the kernels, the run), on an empty Numba
cache and after the background warm-up the platform starts with `up`, `serve` and `worker`
(``python -m engine.warmup --background``, as ``workers.engine_warmup`` runs it).

    .venv/bin/python benchmarks/engine_cold_start.py [--repeats 3]

Each measurement is its own process with its own temporary NUMBA_CACHE_DIR; the figure is
wall time from the interpreter's start (``time.perf_counter`` in the parent around the
whole child), so interpreter start-up and imports count."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BARS = 5_000

FIRST_BACKTEST = """
import json, sys, time
started = time.perf_counter()
from engine.data import Bars, load
from engine.runner import run_backtest
from engine.strategy import ExecutionSettings, SpecBuilder
from engine.warmup import cache_use
imported = time.perf_counter()
bars = Bars.from_frame(load(sys.argv[1]))
result = run_backtest(
    bars, SpecBuilder("sma_cross").build({"fast": 10, "slow": 50}), ExecutionSettings()
)
use = cache_use()
print(json.dumps({"import_s": imported - started, "hits": use.hits, "misses": use.misses}))
"""


def first_backtest(data: Path, cache: Path) -> dict[str, float]:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", FIRST_BACKTEST, str(data)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    seconds = time.perf_counter() - started
    row: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    row["seconds"] = seconds
    return row


def background_warm_up(cache: Path) -> float:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "engine.warmup", "--background"],
        env=env,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started


def line(label: str, row: dict[str, float]) -> str:
    return (
        f"  {label}: {row['seconds']:.2f} s (imports {row['import_s']:.2f} s; kernels "
        f"{int(row['hits'])} loaded from the cache, {int(row['misses'])} compiled)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    repeats = parser.parse_args().repeats

    from engine.synthetic import generate

    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores")
    print("load average at start: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    with tempfile.TemporaryDirectory() as work:
        data = Path(work) / "bars.csv"
        generate(BARS, seed=11).write_csv(data)
        print(f"== a fresh process until one backtest of {BARS:,} bars is done ==")
        cold = []
        for k in range(repeats):
            with tempfile.TemporaryDirectory() as cache:
                cold.append(first_backtest(data, Path(cache)))
            print(line(f"empty cache, run {k + 1}", cold[-1]))
        with tempfile.TemporaryDirectory() as cache:
            warm_up_s = background_warm_up(Path(cache))
            print(f"  background warm-up (niced, all platform kernels): {warm_up_s:.1f} s")
            warm = []
            for k in range(repeats):
                warm.append(first_backtest(data, Path(cache)))
                print(line(f"after the warm-up, run {k + 1}", warm[-1]))
        best_cold = min(row["seconds"] for row in cold)
        best_warm = min(row["seconds"] for row in warm)
        print(
            f"  best: empty cache {best_cold:.2f} s, after the warm-up {best_warm:.2f} s "
            f"(goal ≤ 5 s): {best_cold / best_warm:.1f}× sooner"
        )
    print("load average at end: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
