"""The `dracarys` command. `dracarys backtest` and `dracarys warm-engine` need only the
engine, so they start without importing the platform (about 4 s of imports on this
machine: the web framework, the payment providers, every domain); every other command is
`workers.cli`'s."""

from __future__ import annotations

import signal
import sys
from collections.abc import Sequence
from types import FrameType

# What systemd, Docker and Kubernetes send to stop a process, and what Ctrl+C sends.
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
# The commands that run until stopped.
SERVICES = frozenset({"up", "serve", "worker", "scheduler", "paper-engine"})


def _exit_0(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def exit_0_on_stop_signals() -> None:
    """A stop signal ends the process with exit 0 through the normal exit path, instead of
    the default for SIGTERM (killed, status 143) or SIGINT (a traceback). Each service
    replaces this with its own graceful stop once it runs; this covers the seconds of
    imports before that, and what comes after a server hands the signal back."""
    for sig in STOP_SIGNALS:
        signal.signal(sig, _exit_0)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["backtest"]:
        # Imported here, not at the top: that is the point of this module.
        from engine.cli import backtest_main

        return backtest_main(arguments[1:])
    if arguments[:1] == ["warm-engine"]:
        from engine.warmup import main as warm_engine_main

        return warm_engine_main(arguments[1:])
    if arguments[:1] and arguments[0] in SERVICES:
        exit_0_on_stop_signals()
    from workers.cli import main as platform_main

    return platform_main(arguments)


if __name__ == "__main__":
    raise SystemExit(main())
