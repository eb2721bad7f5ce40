"""Warming the engine's on-disk Numba cache, so that the first backtest a fresh process
runs loads machine code instead of compiling every kernel it touches (about 12 s on an
empty cache, about 1.2 s warm: ``benchmarks/engine_cold_start.py``).

``warm()`` runs every kernel the platform uses (a backtest of each template, which
computes their indicators, the remaining indicators, a small sweep, a multi-asset run and
the paper-trading matcher) on a tiny synthetic series: Numba compiles each one for the
argument types the platform passes and writes it to its cache: a folder named after the
engine's sources, in ``NUMBA_CACHE_DIR`` when set, else in ``engine/__pycache__``. A marker
in that folder records for which versions (Python, Numba, NumPy, the engine's sources, the
CPU) the cache was warmed and which index files it holds, so ``is_warm()`` answers without
importing Numba.

``python -m engine.warmup`` warms in the foreground (``dracarys warm-engine``, run by the
image build); ``--background`` is how the platform starts it beside its services: at low
CPU priority, skipped when the cache is already warm, ended with its parent, its failure
only logged."""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import functools
import hashlib
import json
import os
import platform
import shutil
import signal
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Any

ENGINE_DIR = Path(__file__).resolve().parent
MARKER_NAME = "dracarys-engine-warm.json"
CACHE_PREFIX = "kernels-"
# Kernel folders of other engine versions untouched this long are removed by a warm-up.
STALE_CACHE_AGE_S = 7 * 86_400
# How much lower than its parent the background warm-up runs: it only uses idle CPU.
BACKGROUND_NICENESS = 15
# Bars of the synthetic series: longer than every indicator's default window, and short
# enough that running the kernels costs nothing beside compiling them.
WARMUP_BARS = 300
PR_SET_PDEATHSIG = 1


@functools.cache
def source_fingerprint(engine_dir: Path = ENGINE_DIR) -> str:
    """A digest of the contents of every engine source. Numba checks a cached kernel only
    against the file that defines it, yet kernels call and inline kernels of other files
    (the sweep runs backtest.py's simulation): after a change to backtest.py alone, the
    cached sweep kernel would go on running the old simulation. The cache's folder is
    named after this digest, so any change to the engine starts from a fresh folder."""
    digest = hashlib.sha256()
    for source in sorted(engine_dir.rglob("*.py")):
        digest.update(f"{source.relative_to(engine_dir)}\0".encode())
        digest.update(source.read_bytes())
    return digest.hexdigest()[:16]


def cache_base() -> Path:
    """The folder holding the kernel caches of every engine version: ``NUMBA_CACHE_DIR``
    when set, else ``__pycache__`` beside the sources."""
    configured = os.environ.get("NUMBA_CACHE_DIR")
    return Path(configured) if configured else ENGINE_DIR / "__pycache__"


def cache_root() -> Path:
    """Where Numba writes this version's kernels (``engine.compile`` points Numba there
    before any kernel is defined): a folder of ``cache_base()`` named after the sources."""
    return cache_base() / f"{CACHE_PREFIX}{source_fingerprint()}"


def prune_other_versions(*, older_than_s: float = STALE_CACHE_AGE_S) -> list[Path]:
    """Remove the kernel folders of other engine versions nobody has written to for a
    while (a checkout that moved on; a second checkout sharing ``NUMBA_CACHE_DIR`` and
    still in use keeps its folder, and at worst recompiles)."""
    current = cache_root()
    removed = []
    cutoff = time.time() - older_than_s
    for folder in cache_base().glob(f"{CACHE_PREFIX}*"):
        if folder == current or not folder.is_dir():
            continue
        newest = max((entry.stat().st_mtime for entry in folder.rglob("*")), default=0.0)
        if max(newest, folder.stat().st_mtime) < cutoff:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def marker_path() -> Path:
    return cache_root() / MARKER_NAME


def _cpu_fingerprint() -> str:
    """Numba's cache is keyed by the CPU it compiled for: an image warmed on one machine
    and run on another would miss. The model and feature flags tell them apart."""
    with contextlib.suppress(OSError):
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        wanted = [line for line in lines if line.startswith(("model name", "flags", "Features"))]
        return hashlib.sha256("\n".join(sorted(set(wanted))).encode()).hexdigest()[:16]
    return platform.processor()


def warm_key() -> dict[str, Any]:
    """What a warm cache was warmed for; a change to any of it means Numba recompiles."""
    sources = sorted(ENGINE_DIR.rglob("*.py"))
    stamps = hashlib.sha256()
    for source in sources:
        stat = source.stat()
        stamps.update(
            f"{source.relative_to(ENGINE_DIR)}:{stat.st_mtime_ns}:{stat.st_size}\n".encode()
        )
    return {
        "python": sys.version,
        "numba": metadata.version("numba"),
        "numpy": metadata.version("numpy"),
        "machine": platform.machine(),
        "cpu": _cpu_fingerprint(),
        "sources": stamps.hexdigest(),
    }


def is_warm() -> bool:
    """The cache holds the kernels for the current versions: the marker matches and every
    index file it lists is still there."""
    try:
        marker = json.loads(marker_path().read_text())
    except (OSError, ValueError):
        return False
    if not isinstance(marker, dict) or marker.get("key") != warm_key():
        return False
    indexes = marker.get("indexes")
    if not isinstance(indexes, list) or not indexes:
        return False
    return all(Path(str(index)).is_file() for index in indexes)


def _engine_modules() -> list[ModuleType]:
    from engine import backtest, curve, indicators, matching, metrics, portfolio, sweep

    return [backtest, curve, indicators, matching, metrics, portfolio, sweep]


def dispatchers() -> Iterator[Any]:
    """Every cached Numba kernel the engine defines."""
    for module in _engine_modules():
        for value in vars(module).values():
            if getattr(value, "_cache", None) is not None and hasattr(value, "stats"):
                yield value


@dataclass(frozen=True)
class CacheUse:
    """How a process's kernels came to be: loaded from the cache or compiled."""

    hits: int
    misses: int


def cache_use() -> CacheUse:
    hits = misses = 0
    for dispatcher in dispatchers():
        hits += sum(dispatcher.stats.cache_hits.values())
        misses += sum(dispatcher.stats.cache_misses.values())
    return CacheUse(hits=hits, misses=misses)


def _run_kernels() -> None:
    """Each kernel the platform runs, with the argument types the platform passes."""
    import numpy as np

    from engine import indicators
    from engine.data import Bars
    from engine.matching import BUY, LIMIT, MARKET, SELL, STOP, OrderBook, Tick
    from engine.portfolio import PortfolioSizing, run_portfolio
    from engine.runner import run_backtest
    from engine.strategy import TEMPLATES, ExecutionSettings, SpecBuilder
    from engine.sweep import grid, rank_sweep, sweep_metrics
    from engine.synthetic import generate, generate_mean_reverting, generate_trending

    bars = Bars.from_frame(generate(WARMUP_BARS, seed=1), symbol="WARM")
    execution = ExecutionSettings()
    # One backtest per template, long and short: together they compute the template
    # indicators and run the backtest kernel's paths.
    for template in TEMPLATES.values():
        for allow_short in (False, True):
            builder = SpecBuilder(template.name, allow_short=allow_short)
            run_backtest(bars, builder.build(dict(template.defaults)), execution)
    # The indicators a hand-written spec may use that no template does.
    high, low, close, volume = bars.high, bars.low, bars.close, bars.volume
    indicators.wma(close, 10)
    indicators.atr(high, low, close, 14)
    indicators.stochastic(high, low, close, 14, 3)
    indicators.vwap(high, low, close, volume, 0)
    indicators.vwap(high, low, close, volume, 20)
    indicators.zscore(close, 20)
    indicators.realised_volatility(close, 20, bars.bars_per_year)
    # A sweep (its parallel kernel and the shared-SMA path) and its ranking.
    combos = grid({"fast": [5.0, 10.0], "slow": [20.0, 40.0]})
    builder = SpecBuilder("sma_cross")
    rank_sweep(combos, sweep_metrics(bars, builder, combos, execution))
    # A multi-asset run with shared cash, rebalanced.
    basket = [
        Bars.from_frame(generate_trending(WARMUP_BARS, seed=2), symbol="TREND"),
        Bars.from_frame(generate_mean_reverting(WARMUP_BARS, seed=3), symbol="MEAN"),
    ]
    run_portfolio(
        basket,
        builder.build({"fast": 5, "slow": 20}),
        execution,
        PortfolioSizing(rebalance_every=5),
    )
    # The paper-trading matcher on a few orders of each kind.
    book = OrderBook(["WARM"], [0.01], [1.0])
    book.add(symbol="WARM", side=BUY, kind=MARKET, qty=1)
    book.add(symbol="WARM", side=BUY, kind=LIMIT, qty=1, limit_price=99.0)
    book.add(symbol="WARM", side=SELL, kind=STOP, qty=1, stop_price=90.0)
    for seq in range(1, 4):
        price = 100.0 - seq
        book.match(
            Tick(
                seq=seq,
                ts_ns=seq * 86_400 * 10**9,
                has_bar=np.ones(1, dtype=np.int8),
                open=np.array([price]),
                high=np.array([price + 2]),
                low=np.array([price - 2]),
                close=np.array([price + 1]),
                volume=np.array([1e9]),
            )
        )


@dataclass(frozen=True)
class WarmResult:
    seconds: float
    kernels: int
    use: CacheUse
    indexes: list[str]


def warm() -> WarmResult:
    """Run the platform's kernels (compiling those the cache lacks) and record the marker."""
    started = time.perf_counter()
    _run_kernels()
    used = [d for d in dispatchers() if d.signatures]
    indexes = sorted({str(d._cache._cache_file._index_path) for d in used})
    marker = marker_path()
    marker.parent.mkdir(parents=True, exist_ok=True)
    staging = marker.with_name(f"{marker.name}.{os.getpid()}.tmp")
    staging.write_text(json.dumps({"key": warm_key(), "indexes": indexes}, indent=1))
    staging.replace(marker)
    prune_other_versions()
    return WarmResult(
        seconds=time.perf_counter() - started, kernels=len(used), use=cache_use(), indexes=indexes
    )


def _die_with_parent(parent_pid: int) -> None:
    """Ask Linux to SIGTERM this process when its parent ends, however it ends (even
    SIGKILL), so a background warm-up never outlives the service that started it."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent_pid:
        # The parent ended before the request above took effect.
        raise SystemExit(0)


def _log(message: str) -> None:
    print(f"dracarys engine warm-up: {message}", file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None, *, report: Callable[[str], None] = _log) -> int:
    parser = argparse.ArgumentParser(
        prog="dracarys warm-engine",
        description="Compile the engine's kernels into the on-disk Numba cache "
        "(NUMBA_CACHE_DIR when set), so a fresh process's first backtest starts at once.",
    )
    parser.add_argument("--force", action="store_true", help="warm even if already warm")
    parser.add_argument(
        "--background",
        action="store_true",
        help="as the platform runs it: low priority, quiet unless it fails, exit 0 always",
    )
    parser.add_argument("--parent-pid", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.background:
        # Ctrl+C in the terminal reaches the service, which stops this process.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if args.parent_pid is not None:
            _die_with_parent(args.parent_pid)
        with contextlib.suppress(OSError):
            os.nice(BACKGROUND_NICENESS)
    if not args.force and is_warm():
        if not args.background:
            report(f"the cache at {cache_root()} is already warm")
        return 0
    try:
        result = warm()
    except Exception as exc:
        report(f"failed, kernels will compile on first use instead: {exc!r}")
        return 0 if args.background else 1
    report(
        f"{result.kernels} kernels ready in {cache_root()} in {result.seconds:.1f} s "
        f"({result.use.misses} compiled, {result.use.hits} already cached)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
