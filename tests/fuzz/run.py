"""Run one fuzz target under atheris (libFuzzer for Python).

    python -m tests.fuzz.run NAME [CORPUS_DIR ...] [libFuzzer options]

e.g. `python -m tests.fuzz.run ohlcv_csv /tmp/corpus tests/fuzz/corpus/ohlcv_csv
-max_total_time=3600 -artifact_prefix=/tmp/crash-` for an hour on one core (add
`-jobs=N -workers=N` for N). The first corpus directory receives the new inputs the fuzzer
finds; a crash is written under `-artifact_prefix` with the traceback printed, and
`python -m tests.fuzz.run NAME CRASH_FILE` replays it."""

from __future__ import annotations

import importlib
import sys

import atheris

from tests.fuzz.targets import KERNEL_MODULES, TARGETS


def main(argv: list[str]) -> None:
    if len(argv) < 2 or argv[1] not in TARGETS:
        sys.exit(f"usage: python -m tests.fuzz.run {{{','.join(TARGETS)}}} [libFuzzer args]")
    target = TARGETS[argv[1]]
    with atheris.instrument_imports(include=list(target.modules), exclude=list(KERNEL_MODULES)):
        for module in target.modules:
            importlib.import_module(module)
    atheris.Setup([argv[0], *argv[2:]], target.run)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
