"""Multi-asset backtest with shared cash: Dracarys' Numba kernel (``engine.portfolio``)
against two peers measured in the same run, on the same seeded data and the same
per-asset entry/exit flags.

* **vectorbt's cash-sharing group** (issue 23's peer). ``Portfolio.from_signals`` only
  sizes by amount, value or percent of cash, so the faithful twin of our "buy
  ``w_a × portfolio value``" sizing is ``Portfolio.from_orders`` with
  ``size_type="targetpercent"``: size ``w_a`` at the fill bar of an entry (asset flat),
  ``0`` at the fill bar of an exit (asset held), ``w_a`` at every rebalancing bar for a
  held asset that is not exiting, NaN otherwise; ``group_by=True, cash_sharing=True,
  call_seq="auto"``, long only, the portfolio valued at the fill prices before the bar's
  orders (vectorbt's ``val_price=inf``, our rule too). Next-open fills on both sides: the
  sizes sit one bar after the flags and ``price`` is the open. The size matrix comes from
  the flags by a small Numba state machine built before timing (our kernel does that work
  inside its timed call, so this favours vectorbt). Fees and slippage are **0** for this
  comparison: vectorbt adds fees on top of a target (it buys ``w_a × E / price`` units and
  pays the fee besides) while we size net of fees (``w_a × E / (price × (1 + fee))``), so
  with fees the two differ by design, not by error.
  When cash runs short, both shrink a buy to the cash left, but in different orders
  (vectorbt's auto call sequence sorts buys by order value, we buy in asset order), so
  such bars would differ legitimately. The weights are therefore ``WEIGHT_SUM / N`` with
  ``WEIGHT_SUM = 0.5``: half the portfolio stays uninvested on average, and the run checks
  that our kernel shrank no buy at all (``cash_limited_orders == 0``) before comparing.
  Agreement: the whole equity curve, the final equity and every asset's final units
  within a relative 1e-9, before anything is timed.
* **A hand-written numpy loop**: one Python iteration per bar, numpy across the assets,
  the same rules (sells before buys, buys shrunk to the cash left, periodic rebalancing)
  with 5 bps commission and 2 bps slippage, weights ``1 / N``; it must agree with our
  kernel to the cent in that configuration before either is timed.

Both sides get their inputs built before timing: vectorbt its pandas frames and size
matrix, our kernel its ``PortfolioBars`` (time-major ``(n, N)`` open and close matrices,
one row per bar) and its ``(n, N)`` flags; the timed call of each is the whole run.

Timings are the best of at least three runs adding up to a second; each engine's first
call (JIT compilation, or loading the cache) is the agreement run and is not timed.
Ratios are by CPU time (user + system of this process), which on a machine shared with
other work is fairer than wall time; wall times are printed too. Prints the load, the
versions and the machine.

    uv run --group bench python benchmarks/engine_multiasset.py [--assets 100] [--bars 100000]
"""

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numba
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.backtest import LONG_ENTRY, LONG_EXIT  # noqa: E402
from engine.data import Bars  # noqa: E402
from engine.portfolio import PortfolioBars, PortfolioResult, PortfolioSizing, run_flags  # noqa: E402
from engine.strategy import ExecutionSettings  # noqa: E402

COMMISSION_BPS, SLIPPAGE_BPS, REBALANCE_EVERY = 5.0, 2.0, 21
CASH = 100_000.0
WEIGHT_SUM = 0.5  # of the vectorbt comparison's weights: keeps every buy unshrunk
AGREEMENT_RTOL = 1e-9
MIN_TIMED_S, MIN_RUNS = 1.0, 3


def make_data(assets: int, bars: int, seed: int) -> tuple[list[Bars], np.ndarray]:
    """Random walks with intraday-sized steps (0.2 % a bar): over 100,000 bars daily-sized
    steps would carry prices to 1e16 and units to 1e-13, where vectorbt's
    near-zero tests drop rebalancing orders we fill, measuring float noise. The flags
    are time-major, ``(bars, assets)``, as ``run_flags`` takes them."""
    rng = np.random.default_rng(seed)
    out = []
    for a in range(assets):
        close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.002, bars)))
        open_ = close * np.exp(rng.normal(0.0, 0.0005, bars))
        out.append(Bars.from_arrays(open_, open_, open_, close, symbol=f"S{a}"))
    entries = (rng.random((assets, bars)) < 0.05).astype(np.int8) * LONG_ENTRY
    exits = (rng.random((assets, bars)) < 0.04).astype(np.int8) * LONG_EXIT
    return out, np.ascontiguousarray((entries | exits).T)


def numpy_loop(
    opens: np.ndarray, closes: np.ndarray, flags: np.ndarray, cash: float, weight: float
) -> np.ndarray:
    """The hand-written peer: the rules of engine/portfolio.py (next-open fills, no whole
    units), written the way one would in numpy without a compiler, on time-major
    ``(n, N)`` matrices (one bar's assets contiguous). Returns the equity."""
    n, n_assets = closes.shape
    fee = COMMISSION_BPS / 10_000
    slip = SLIPPAGE_BPS / 10_000
    units = np.zeros(n_assets)
    equity = np.empty(n)
    for i in range(n):
        if i > 0:
            price = opens[i]
            value = cash + units @ price
            signal = flags[i - 1]
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
        equity[i] = cash + units @ closes[i]
    return equity


@numba.njit(cache=True)
def target_percents(flags: np.ndarray, weights: np.ndarray, rebalance_every: int) -> np.ndarray:
    """vectorbt's ``size`` matrix (bars × assets) for our rules with next-open fills: the
    flags of bar ``i - 1`` fill at bar ``i``. A flat asset with an entry flag targets
    ``w_a``, a held one with an exit flag targets 0, a held one that is not exiting
    targets ``w_a`` at every rebalancing bar; NaN is no order. Whether an asset is held
    follows from the flags alone because no buy is ever shrunk to nothing (checked)."""
    n, n_assets = flags.shape
    sizes = np.full((n, n_assets), np.nan)
    for a in range(n_assets):
        held = False
        for i in range(1, n):
            signal = flags[i - 1, a]
            if held and (signal & LONG_EXIT) != 0:
                sizes[i, a] = 0.0
                held = False
            elif not held and (signal & LONG_ENTRY) != 0:
                sizes[i, a] = weights[a]
                held = True
            elif held and rebalance_every > 0 and i % rebalance_every == 0:
                sizes[i, a] = weights[a]
    return sizes


def best_times(work: Callable[[], object]) -> tuple[float, float]:
    """Best wall and best CPU seconds over at least ``MIN_RUNS`` runs adding up to
    ``MIN_TIMED_S`` of wall time."""
    best_wall = best_cpu = float("inf")
    spent = 0.0
    runs = 0
    while runs < MIN_RUNS or spent < MIN_TIMED_S:
        cpu_before = time.process_time()
        started = time.perf_counter()
        work()
        took = time.perf_counter() - started
        best_wall = min(best_wall, took)
        best_cpu = min(best_cpu, time.process_time() - cpu_before)
        spent += took
        runs += 1
    return best_wall, best_cpu


def relative_gap(ours: np.ndarray, theirs: np.ndarray) -> float:
    scale = np.maximum(np.abs(ours), 1e-12)
    return float(np.max(np.abs(np.asarray(theirs, dtype=np.float64) - ours) / scale))


def vectorbt_peer(
    opens: np.ndarray, closes: np.ndarray, sizes: np.ndarray
) -> Callable[[], tuple[Any, float]]:
    """A call running vectorbt's cash-sharing group and reading its final value, on
    time-major ``(n, N)`` matrices (a frame has one column per asset)."""
    import pandas as pd
    import vectorbt as vbt

    columns = [f"S{a}" for a in range(closes.shape[1])]
    close_frame = pd.DataFrame(closes, columns=columns)
    open_frame = pd.DataFrame(opens, columns=columns)
    size_frame = pd.DataFrame(sizes, columns=columns)

    def run() -> tuple[Any, float]:
        pf = vbt.Portfolio.from_orders(
            close_frame,
            size_frame,
            size_type="targetpercent",
            price=open_frame,
            direction="longonly",
            init_cash=CASH,
            fees=0.0,
            slippage=0.0,
            group_by=True,
            cash_sharing=True,
            call_seq="auto",
        )
        return pf, float(pf.final_value())

    return run


def report(label: str, evaluations: int, wall: float, cpu: float) -> None:
    rate = evaluations / cpu / 1e6
    print(
        f"  {label:<34} CPU {cpu * 1e3:9.1f} ms  wall {wall * 1e3:9.1f} ms  "
        f"({rate:7.2f} M asset-bars/CPU-s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--assets", type=int, default=100)
    parser.add_argument("--bars", type=int, default=100_000)
    parser.add_argument("--skip-numpy", action="store_true", help="leave out the hand loop")
    args = parser.parse_args()
    print(f"load average at start: {Path('/proc/loadavg').read_text().strip()}")
    bars, flags = make_data(args.assets, args.bars, seed=5)
    panel = PortfolioBars.stack(bars)  # built once, as vectorbt's frames are
    opens, closes = panel.opens, panel.closes
    evaluations = args.assets * args.bars

    # 1. vectorbt's cash-sharing group: no fees, weights summing to WEIGHT_SUM.
    free = ExecutionSettings(initial_cash=CASH, commission_bps=0.0, slippage_bps=0.0)
    weights = np.full(args.assets, WEIGHT_SUM / args.assets)
    free_sizing = PortfolioSizing(
        fraction=WEIGHT_SUM / args.assets, rebalance_every=REBALANCE_EVERY
    )
    ours: PortfolioResult = run_flags(panel, flags, free, free_sizing)  # compiles or loads
    shrunk = sum(asset.cash_limited_orders for asset in ours.assets)
    if shrunk:
        raise SystemExit(
            f"{shrunk} buys were shrunk to the cash left; vectorbt orders them differently, "
            "so the comparison would differ by design (lower WEIGHT_SUM)"
        )
    sizes = target_percents(flags, weights, REBALANCE_EVERY)
    vbt_run = vectorbt_peer(opens, closes, sizes)
    pf, vbt_final = vbt_run()  # vectorbt's first call: JIT warm-up, not timed
    curve_gap = relative_gap(ours.equity, pf.value().to_numpy())
    final_gap = relative_gap(np.array([ours.metrics.final_equity]), np.array([vbt_final]))
    our_units = np.array([asset.final_units for asset in ours.assets])
    vbt_units = pf.assets().to_numpy()[-1]
    held = our_units > 0
    units_gap = relative_gap(our_units[held], vbt_units[held]) if held.any() else 0.0
    flat_mismatch = int(np.count_nonzero(vbt_units[~held] != 0.0))
    our_fills = sum(asset.fills for asset in ours.assets)
    vbt_fills = int(pf.orders.count().sum())
    print(
        f"vectorbt agreement ({args.assets} assets × {args.bars:,} bars, fees 0, weights "
        f"{WEIGHT_SUM}/N, 0 shrunk buys): equity curve rel. gap {curve_gap:.1e}, final equity "
        f"{ours.metrics.final_equity:,.4f} vs {vbt_final:,.4f} (rel. {final_gap:.1e}), final "
        f"units rel. gap {units_gap:.1e} over {int(held.sum())} held assets, {flat_mismatch} "
        f"flat-vs-held mismatches, fills {our_fills:,} vs {vbt_fills:,}"
    )
    if (
        max(curve_gap, final_gap, units_gap) > AGREEMENT_RTOL
        or flat_mismatch
        or our_fills != vbt_fills
    ):
        raise SystemExit("vectorbt and the engine disagree; timing them would mean nothing")
    del pf
    vbt_wall, vbt_cpu = best_times(vbt_run)
    ours_wall, ours_cpu = best_times(lambda: run_flags(panel, flags, free, free_sizing))
    print(
        f"{args.assets} assets × {args.bars:,} bars, shared cash, rebalance every "
        f"{REBALANCE_EVERY} bars, fees 0"
    )
    report("dracarys kernel", evaluations, ours_wall, ours_cpu)
    report("vectorbt from_orders cash sharing", evaluations, vbt_wall, vbt_cpu)
    print(
        f"  ratio (vectorbt CPU time / dracarys CPU time): {vbt_cpu / ours_cpu:.1f}× (goal ≥ 20×)"
    )
    print(f"  by wall time: {vbt_wall / ours_wall:.1f}×")

    # 2. The hand-written numpy loop: 5 bps commission, 2 bps slippage, weights 1/N.
    if not args.skip_numpy:
        execution = ExecutionSettings(
            initial_cash=CASH, commission_bps=COMMISSION_BPS, slippage_bps=SLIPPAGE_BPS
        )
        weight = 1.0 / args.assets
        sizing = PortfolioSizing(fraction=weight, rebalance_every=REBALANCE_EVERY)
        ours = run_flags(panel, flags, execution, sizing)
        theirs = numpy_loop(opens, closes, flags, CASH, weight)
        gap = float(np.max(np.abs(theirs - ours.equity)))
        print(f"numpy-loop agreement: largest equity difference {gap:.2e} over {args.bars:,} bars")
        if gap >= 0.005:
            raise SystemExit(
                "the numpy loop and the engine disagree; timing them would mean nothing"
            )
        loop_wall, loop_cpu = best_times(lambda: numpy_loop(opens, closes, flags, CASH, weight))
        ours_wall, ours_cpu = best_times(lambda: run_flags(panel, flags, execution, sizing))
        print(
            f"{args.assets} assets × {args.bars:,} bars, 5 bps commission, 2 bps slippage, "
            "weights 1/N"
        )
        report("dracarys kernel", evaluations, ours_wall, ours_cpu)
        report("hand-written numpy loop", evaluations, loop_wall, loop_cpu)
        print(f"  ratio (numpy loop CPU time / dracarys CPU time): {loop_cpu / ours_cpu:.1f}×")

    print(
        f"load average at end: {Path('/proc/loadavg').read_text().strip()}; "
        + ", ".join(f"{name} {version(name)}" for name in ("numpy", "numba", "pandas", "vectorbt"))
        + f"; {os.cpu_count()} CPUs; {platform.platform()}; Python {platform.python_version()}"
    )


if __name__ == "__main__":
    main()
