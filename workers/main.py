"""The `dracarys` command. `dracarys backtest` needs only the engine, so it starts
without importing the platform (about 4 s of imports on this machine: the web framework,
the payment providers, every domain); every other command is `workers.cli`'s."""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["backtest"]:
        # Imported here, not at the top: that is the point of this module.
        from engine.cli import backtest_main

        return backtest_main(arguments[1:])
    from workers.cli import main as platform_main

    return platform_main(arguments)


if __name__ == "__main__":
    raise SystemExit(main())
