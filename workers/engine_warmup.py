"""The background warm-up of the engine's Numba cache that `dracarys up`, `serve` and
`worker` start beside themselves (see ``engine.warmup``): a child process of the project's
own interpreter, so starting it costs a fork and an exec, never the service's start-up;
stopped when the service stops."""

from __future__ import annotations

import atexit
import contextlib
import os
import subprocess
import sys

from engine.warmup import is_warm

# How long a stopping service waits for the warm-up to end after SIGTERM before killing it.
STOP_WAIT_S = 5.0


def start_engine_warmup() -> subprocess.Popen[bytes] | None:
    """Start warming the cache in the background, unless it is already warm. Returns the
    child (None when there was nothing to do); it is stopped at the service's exit, and
    Linux stops it if the service dies without exiting (see ``engine.warmup``)."""
    if is_warm():
        return None
    try:
        child = subprocess.Popen(  # noqa: S603 - our own interpreter, fixed arguments
            [
                sys.executable,
                "-m",
                "engine.warmup",
                "--background",
                f"--parent-pid={os.getpid()}",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            # Its one line of failure goes to the service's log.
            stderr=None,
            close_fds=True,
        )
    except OSError as exc:
        print(f"dracarys engine warm-up: cannot start: {exc!r}", file=sys.stderr, flush=True)
        return None
    atexit.register(stop_engine_warmup, child)
    return child


def stop_engine_warmup(child: subprocess.Popen[bytes]) -> None:
    """End the warm-up if it still runs: what a compiled kernel it was writing leaves
    behind is a temporary file, never a half-written cache entry (Numba writes each entry
    to a temporary name and renames it)."""
    if child.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        child.terminate()
    try:
        child.wait(timeout=STOP_WAIT_S)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()
