"""Events of the backtests domain."""

from __future__ import annotations

# {backtest_id}: a backtest was accepted and waits for a worker.
BACKTEST_REQUESTED = "backtest.requested"
