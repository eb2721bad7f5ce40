"""The topic the backtests domain produces, with its payload, emitted through the outbox
with `emit_event`."""

from __future__ import annotations

from typing import ClassVar

from dracarys.outbox import EventPayload

# A backtest was accepted and waits for a worker (the `backtests.run` consumer hands it
# to a task of its own).
BACKTEST_REQUESTED = "backtest.requested"


class BacktestRequested(EventPayload, frozen=True, kw_only=True):
    topic: ClassVar[str] = BACKTEST_REQUESTED
    backtest_id: str
