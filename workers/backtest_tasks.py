"""The backtests domain's background side: the outbox consumer that runs a queued
backtest with the engine (bound to the delivering worker's platform)."""

from __future__ import annotations

import uuid

from dracarys.backtests import service
from dracarys.db import Connection
from dracarys.messaging.service import delivery_platform
from dracarys.outbox import Event


async def on_backtest_requested(conn: Connection, event: Event) -> None:
    """Consumer `backtests.run`: `backtest.requested` → run it and store the result.

    The run writes its progress and result on its own connections (so the page sees the
    progress while it runs); a redelivery after a crash re-runs it, which gives the same
    result (the engine is deterministic) and a finished run is never run again."""
    await service.run_job(delivery_platform(), uuid.UUID(event.payload["backtest_id"]))
