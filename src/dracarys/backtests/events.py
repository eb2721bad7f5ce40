"""Events of the backtests domain, each with its payload's shape."""

from __future__ import annotations

from typing import Any

import msgspec

# A backtest was accepted and waits for a worker (the `backtests.run` consumer hands it
# to a task of its own).
BACKTEST_REQUESTED = "backtest.requested"


class BacktestRequested(msgspec.Struct, frozen=True, kw_only=True):
    backtest_id: str

    def as_payload(self) -> dict[str, Any]:
        return msgspec.structs.asdict(self)
