"""The fuzz targets in the test command: every seed and every input that once crashed a
parser is replayed, and each target is fuzzed briefly (`FUZZ_SECONDS`, 10 s by default)
from its seed corpus. A longer run is `python -m tests.fuzz.run NAME` (see run.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from engine.data import DataError
from engine.sandbox import Format, load_untrusted
from tests.fuzz.targets import TARGETS

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
FUZZ_SECONDS = int(os.environ.get("FUZZ_SECONDS", "10"))
# Inputs that abort polars' native readers (no exception to catch): platform code reads
# outside market data only through `engine.sandbox`, which must refuse each of them.
SANDBOXED: dict[str, Format] = {"ohlcv_csv": "csv", "ohlcv_parquet": "parquet"}


def _inputs(kind: str, target: str) -> list[Path]:
    folder = HERE / kind / target
    return sorted(folder.iterdir()) if folder.is_dir() else []


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_every_seed_and_past_crash_is_handled(target: str) -> None:
    inputs = _inputs("corpus", target) + _inputs("regressions", target)
    assert _inputs("corpus", target), f"{target} has no seed corpus"
    for path in inputs:
        TARGETS[target].run(path.read_bytes())


@pytest.mark.parametrize("path", _inputs("native", "ohlcv_parquet"), ids=lambda p: p.name)
def test_a_file_that_aborts_the_native_reader_is_refused_in_the_sandbox(path: Path) -> None:
    with pytest.raises(DataError, match="not a readable"):
        load_untrusted(path.read_bytes(), "parquet")


def test_the_sandbox_returns_the_frame_or_the_row_and_column_at_fault() -> None:
    good = (HERE / "corpus" / "ohlcv_csv" / "yahoo.csv").read_bytes()
    assert load_untrusted(good, "csv").height == 15
    bad = b"date,open,high,low,close,volume\n2024-01-01,1,0.5,1,1,1\n"
    with pytest.raises(DataError) as refused:
        load_untrusted(bad, "csv")
    assert (refused.value.row, refused.value.column) == (0, "high")


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_fuzzing_finds_no_crash(target: str, tmp_path: Path) -> None:
    pytest.importorskip("atheris", reason="atheris has no wheel for this platform")
    corpus = tmp_path / "corpus"
    shutil.copytree(HERE / "corpus" / target, corpus)
    artifacts = tmp_path / "artifacts"
    artifacts.mkdir()
    run = subprocess.run(
        [
            sys.executable,
            *("-m", "tests.fuzz.run", target, str(corpus)),
            f"-max_total_time={FUZZ_SECONDS}",
            f"-artifact_prefix={artifacts}/",
            "-rss_limit_mb=4096",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=FUZZ_SECONDS + 300,
        check=False,
    )
    if run.returncode == 0:
        return
    found = sorted(artifacts.iterdir())
    native = "Uncaught Python exception" not in run.stderr and "deadly signal" in run.stderr
    if native and target in SANDBOXED and found:
        # A native abort inside polars: acceptable only because outside files are read in
        # the sandbox, which must turn this very input into a refusal.
        for crash in found:
            with pytest.raises(DataError):
                load_untrusted(crash.read_bytes(), SANDBOXED[target])
        return
    names = [p.name for p in found]
    pytest.fail(f"{target}: the fuzzer found a crash ({names}):\n{run.stderr[-4000:]}")
