"""Multi-asset backtest with shared cash: Dracarys' Numba kernel (``engine.portfolio``)
against a peer measured in the same run.

The peer named by issue 23 is vectorbt's cash-sharing group (``Portfolio.from_signals``
with ``group_by=True, cash_sharing=True, call_seq="auto"``), but vectorbt is not in this
project's environment, so no comparison with it is written (untested code would prove
nothing). The peer here is a hand-written numpy loop: one Python iteration per bar, numpy
across the assets, the same rules (sells before buys, buys shrunk to the cash left,
periodic rebalancing). Both must agree to the cent before either is timed. Prints the
times, the ratio, versions and the machine.

    uv run python benchmarks/engine_multiasset.py [--assets 10] [--bars 50000]
"""

import argparse
import importlib.util
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numba
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.backtest import LONG_ENTRY, LONG_EXIT  # noqa: E402
from engine.data import Bars  # noqa: E402
from engine.portfolio import PortfolioSizing, run_flags  # noqa: E402
from engine.strategy import ExecutionSettings  # noqa: E402

COMMISSION_BPS, SLIPPAGE_BPS, REBALANCE_EVERY = 5.0, 2.0, 21
MIN_TIMED_S = 1.0


def make_data(assets: int, bars: int, seed: int) -> tuple[list[Bars], np.ndarray]:
    rng = np.random.default_rng(seed)
    out = []
    for a in range(assets):
        close = 100.0 * np.exp(np.cumsum(rng.normal(0.0002, 0.015, bars)))
        open_ = close * np.exp(rng.normal(0.0, 0.004, bars))
        out.append(Bars.from_arrays(open_, open_, open_, close, symbol=f"S{a}"))
    entries = (rng.random((assets, bars)) < 0.05).astype(np.int8) * LONG_ENTRY
    exits = (rng.random((assets, bars)) < 0.04).astype(np.int8) * LONG_EXIT
    return out, np.ascontiguousarray(entries | exits)


def numpy_loop(
    opens: np.ndarray, closes: np.ndarray, flags: np.ndarray, cash: float, weight: float
) -> np.ndarray:
    """The peer: the rules of engine/portfolio.py (next-open fills, no whole units),
    written the way one would in numpy without a compiler. Returns the equity curve."""
    n_assets, n = closes.shape
    fee = COMMISSION_BPS / 10_000
    slip = SLIPPAGE_BPS / 10_000
    units = np.zeros(n_assets)
    equity = np.empty(n)
    for i in range(n):
        if i > 0:
            price = opens[:, i]
            value = cash + units @ price
            signal = flags[:, i - 1]
            exiting = (units > 0) & ((signal & LONG_EXIT) != 0)
            rebalance = i % REBALANCE_EVERY == 0
            entering = (units == 0) & ((signal & LONG_ENTRY) != 0)
            sized = ~exiting & (entering | (rebalance & (units > 0)))
            paid = price * (1 + slip)
            target = np.where(sized, np.maximum(weight * value / (paid * (1 + fee)), 0.0), units)
            target[exiting] = 0.0
            change = target - units
            selling = change < 0
            gross = -change[selling] * price[selling] * (1 - slip)
            cash += float(np.sum(gross - np.minimum(gross * fee, gross)))
            units[selling] = np.where(exiting[selling], 0.0, target[selling])
            for a in np.flatnonzero(change > 0):  # buys, in asset order, shrunk to the cash
                wanted = min(change[a], max(cash / (paid[a] * (1 + fee)), 0.0))
                if wanted <= 0.0:
                    continue
                cash = max(cash - wanted * paid[a] - wanted * paid[a] * fee, 0.0)
                units[a] += wanted
        equity[i] = cash + units @ closes[:, i]
    return equity


def best_time(work: Callable[[], object]) -> float:
    best = float("inf")
    spent = 0.0
    while spent < MIN_TIMED_S:
        started = time.perf_counter()
        work()
        took = time.perf_counter() - started
        best = min(best, took)
        spent += took
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--assets", type=int, default=10)
    parser.add_argument("--bars", type=int, default=50_000)
    args = parser.parse_args()
    bars, flags = make_data(args.assets, args.bars, seed=5)
    execution = ExecutionSettings(
        initial_cash=100_000.0, commission_bps=COMMISSION_BPS, slippage_bps=SLIPPAGE_BPS
    )
    weight = 1.0 / args.assets
    sizing = PortfolioSizing(fraction=weight, rebalance_every=REBALANCE_EVERY)
    opens = np.stack([b.open for b in bars])
    closes = np.stack([b.close for b in bars])

    ours = run_flags(bars, flags, execution, sizing)  # compiles (or loads the cache)
    installed = importlib.util.find_spec("vectorbt") is not None
    print(f"vectorbt installed: {installed} (not compared, see the module doc)")
    peer_name = "hand-written numpy loop"
    theirs = numpy_loop(opens, closes, flags, execution.initial_cash, weight)
    gap = float(np.max(np.abs(theirs - ours.equity)))
    print(f"agreement: largest equity difference {gap:.2e} over {args.bars:,} bars")
    if gap >= 0.005:
        raise SystemExit("the peer and the engine disagree; timing them would mean nothing")
    peer_s = best_time(lambda: numpy_loop(opens, closes, flags, 100_000.0, weight))
    ours_s = best_time(lambda: run_flags(bars, flags, execution, sizing))
    evaluations = args.assets * args.bars
    print(f"{args.assets} assets × {args.bars:,} bars, shared cash, rebalance every 21 bars")
    for name, took in (("dracarys kernel", ours_s), (peer_name, peer_s)):
        rate = evaluations / took / 1e6
        print(f"  {name}: {took * 1e3:9.2f} ms  ({rate:8.2f} M asset-bars/s)")
    print(f"ratio (peer time / dracarys time): {peer_s / ours_s:.1f}×")
    print(
        f"final equity {ours.metrics.final_equity:,.2f}; numpy {np.__version__}, numba "
        f"{numba.__version__}; {os.cpu_count()} CPUs; {platform.platform()}; "
        f"Python {platform.python_version()}"
    )


if __name__ == "__main__":
    main()
