"""Warming the engine's Numba cache (engine.warmup, workers.engine_warmup): after a warm-up
into an empty cache, a fresh process's backtest and sweep load every kernel they use from
the cache; the background warm-up never holds up the service that starts it and never
outlives it."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from engine import warmup
from workers.engine_warmup import start_engine_warmup, stop_engine_warmup

pytestmark = pytest.mark.slow

DRACARYS = str(Path(sys.executable).with_name("dracarys"))

# A fresh process running what a first platform backtest and a small sweep run, reporting
# how its kernels came to be.
FIRST_RUN = textwrap.dedent(
    """
    import json
    from engine.data import Bars
    from engine.runner import run_backtest
    from engine.strategy import ExecutionSettings, SpecBuilder
    from engine.sweep import grid, run_sweep
    from engine.synthetic import generate
    from engine.warmup import cache_use

    bars = Bars.from_frame(generate(2_000, seed=7), symbol="FRESH")
    builder = SpecBuilder("sma_cross")
    run_backtest(bars, builder.build({"fast": 10, "slow": 50}), ExecutionSettings())
    combos = grid({"fast": [5.0, 8.0, 12.0], "slow": [30.0, 60.0]})
    run_sweep(bars, builder, combos, ExecutionSettings())
    use = cache_use()
    print(json.dumps({"hits": use.hits, "misses": use.misses}))
    """
)


def env_with_cache(cache: Path) -> dict[str, str]:
    return {**os.environ, "NUMBA_CACHE_DIR": str(cache)}


def first_run(cache: Path) -> dict[str, int]:
    done = subprocess.run(
        [sys.executable, "-c", FIRST_RUN],
        env=env_with_cache(cache),
        capture_output=True,
        text=True,
        check=True,
    )
    use: dict[str, int] = json.loads(done.stdout.strip().splitlines()[-1])
    return use


def is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(") ", 1)[1].startswith("Z"))


def wait_until_gone(pid: int, timeout_s: float = 30) -> bool:
    deadline = time.monotonic() + timeout_s
    while is_running(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


@pytest.fixture
def empty_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "numba"
    cache.mkdir()
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(cache))
    return cache


def test_without_a_warm_up_a_fresh_process_compiles_the_kernels_it_runs(
    empty_cache: Path,
) -> None:
    use = first_run(empty_cache)
    assert use["misses"] > 0
    assert use["hits"] == 0


def test_after_warm_engine_a_fresh_process_loads_every_kernel_it_runs_from_the_cache(
    empty_cache: Path,
) -> None:
    assert not warmup.is_warm()

    warmed = subprocess.run(
        [DRACARYS, "warm-engine"],
        env=env_with_cache(empty_cache),
        capture_output=True,
        text=True,
        check=True,
    )

    assert "kernels ready" in warmed.stderr
    assert warmup.is_warm()
    use = first_run(empty_cache)
    assert use["hits"] > 0
    assert use["misses"] == 0
    again = subprocess.run(
        [DRACARYS, "warm-engine"],
        env=env_with_cache(empty_cache),
        capture_output=True,
        text=True,
        check=True,
    )
    assert "already warm" in again.stderr


def test_a_changed_engine_source_makes_the_cache_cold_again(
    empty_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = warmup.marker_path()
    marker.parent.mkdir(parents=True)
    index = empty_cache / "kernel.nbi"
    index.write_text("")
    marker.write_text(json.dumps({"key": warmup.warm_key(), "indexes": [str(index)]}))
    assert warmup.is_warm()

    monkeypatch.setattr(warmup, "warm_key", lambda: {"sources": "edited"})
    assert not warmup.is_warm()
    monkeypatch.undo()
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(empty_cache))
    index.unlink()
    assert not warmup.is_warm(), "a deleted index means the kernel compiles again"


KERNEL_FOLDERS = textwrap.dedent(
    """
    import json
    from engine.warmup import cache_root, dispatchers
    print(json.dumps({
        "root": str(cache_root()),
        "folders": sorted({d._cache._cache_path for d in dispatchers()}),
    }))
    """
)


def test_every_kernel_caches_into_the_folder_of_this_engine_version(empty_cache: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", KERNEL_FOLDERS],
        env=env_with_cache(empty_cache),
        capture_output=True,
        text=True,
        check=True,
    )
    seen = json.loads(done.stdout)

    assert Path(seen["root"]).parent == empty_cache
    assert seen["folders"], "the engine defines cached kernels"
    assert all(folder.startswith(seen["root"] + os.sep) for folder in seen["folders"])


def test_a_change_to_any_engine_source_names_a_new_cache_folder(tmp_path: Path) -> None:
    # Numba would check a cached sweep kernel against sweep.py only: a change to the
    # simulation in backtest.py must still lead to a new folder, hence a recompiled sweep.
    engine = tmp_path / "engine"
    shutil.copytree(warmup.ENGINE_DIR, engine, ignore=shutil.ignore_patterns("__pycache__"))
    before = warmup.source_fingerprint(engine)
    assert before == warmup.source_fingerprint(warmup.ENGINE_DIR)

    simulation = engine / "backtest.py"
    simulation.write_text(simulation.read_text() + "\n# edited\n")
    warmup.source_fingerprint.cache_clear()

    assert warmup.source_fingerprint(engine) != before
    # Touching a file without changing it keeps the folder.
    (engine / "sweep.py").touch()
    warmup.source_fingerprint.cache_clear()
    simulation.write_text(simulation.read_text().removesuffix("\n# edited\n"))
    assert warmup.source_fingerprint(engine) == before


def test_a_warm_up_removes_the_folders_of_engine_versions_long_unused(empty_cache: Path) -> None:
    old = empty_cache / f"{warmup.CACHE_PREFIX}0000000000000000"
    recent = empty_cache / f"{warmup.CACHE_PREFIX}1111111111111111"
    unrelated = empty_cache / "something-else"
    for folder in (old, recent, unrelated):
        (folder / "engine_abc").mkdir(parents=True)
        (folder / "engine_abc" / "kernel.nbi").write_text("")
    long_ago = time.time() - warmup.STALE_CACHE_AGE_S - 60
    for path in (old, old / "engine_abc", old / "engine_abc" / "kernel.nbi"):
        os.utime(path, (long_ago, long_ago))
    warmup.cache_root().mkdir()
    os.utime(warmup.cache_root(), (long_ago, long_ago))

    removed = warmup.prune_other_versions()

    assert removed == [old]
    assert not old.exists()
    assert recent.exists()
    assert unrelated.exists()
    assert warmup.cache_root().exists()


def test_the_background_warm_up_starts_without_waiting_and_stops_when_asked(
    empty_cache: Path,
) -> None:
    child = start_engine_warmup()

    assert child is not None
    # Compiling every kernel takes seconds: start-up is already back while it runs.
    assert child.poll() is None
    stop_engine_warmup(child)
    assert child.returncode is not None
    assert not warmup.marker_path().exists(), "a stopped warm-up does not claim a warm cache"


def test_a_warm_cache_starts_no_warm_up(empty_cache: Path) -> None:
    index = empty_cache / "kernel.nbi"
    index.write_text("")
    warmup.marker_path().parent.mkdir(parents=True)
    warmup.marker_path().write_text(json.dumps({"key": warmup.warm_key(), "indexes": [str(index)]}))

    assert start_engine_warmup() is None


SERVICE = textwrap.dedent(
    """
    import time
    from workers.engine_warmup import start_engine_warmup
    from workers.main import exit_0_on_stop_signals

    exit_0_on_stop_signals()
    child = start_engine_warmup()
    print(child.pid, flush=True)
    while True:
        time.sleep(1)
    """
)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_stopping_the_service_mid_warm_up_leaves_no_orphan(empty_cache: Path, sig: int) -> None:
    service = subprocess.Popen(
        [sys.executable, "-c", SERVICE],
        env=env_with_cache(empty_cache),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert service.stdout is not None
        warm_up = int(service.stdout.readline())
        assert is_running(warm_up)

        service.send_signal(sig)
        code = service.wait(timeout=30)
    finally:
        if service.poll() is None:
            service.kill()
            service.wait()

    if sig == signal.SIGTERM:
        assert code == 0
    # SIGKILL runs no exit handler: Linux's parent-death signal stops the warm-up then.
    assert wait_until_gone(warm_up), "the warm-up outlived the service that started it"
