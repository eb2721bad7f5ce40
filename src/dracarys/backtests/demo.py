"""Demo backtests for `dracarys up`: the demo mentee's SMA-crossover run and a small
sweep, queued like any other (the embedded worker runs them), once."""

from __future__ import annotations

import uuid

from dracarys.backtests import store
from dracarys.backtests.models import BacktestInput, SweepRange
from dracarys.backtests.service import plan, queue_backtest
from dracarys.db import transaction
from dracarys.identity import DEMO_MENTEE, account_of
from dracarys.platform import Platform

DEMO_BACKTESTS = {
    "dracarys-demo:backtest:sma": BacktestInput(
        template="sma_cross", params={"fast": 10, "slow": 30}
    ),
    "dracarys-demo:backtest:sweep": BacktestInput(
        template="sma_cross",
        sweep={
            "fast": SweepRange(start=5, stop=25, step=5),
            "slow": SweepRange(start=30, stop=90, step=15),
        },
    ),
}


async def seed_backtests_demo(platform: Platform) -> None:
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        if await account_of(conn, DEMO_MENTEE.id) is None:
            return
        for key, request in DEMO_BACKTESTS.items():
            backtest_id = uuid.uuid5(uuid.NAMESPACE_URL, key)
            if await store.get_backtest(conn, backtest_id) is not None:
                continue
            await queue_backtest(
                conn,
                backtest_id=backtest_id,
                owner_id=DEMO_MENTEE.id,
                request=request,
                combinations=len(plan(request).combinations),
                now=now,
            )
