"""Running the paper-trading engine inside a process: the embedded `dracarys up` replays
the committed synthetic sample (`data/sample_daily.csv`, symbol DEMO) on an accelerated
clock, looping, so the demo keeps moving; `trading_feed=synthetic` makes endless bars
instead, `off` runs no engine (scale-out: one engine process per feed)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import structlog

from dracarys.platform import Platform
from dracarys.settings import Settings
from dracarys.trading.paper_loop.loop import PaperTradingEngine
from engine.feeds import MarketFeed, ReplayFeed, SyntheticFeed

log = structlog.get_logger("dracarys.trading.paper_loop.runtime")

DEMO_SYMBOL = "DEMO"
DEMO_FEED = "demo-replay"
DEMO_DATA = Path(__file__).resolve().parents[4] / "data" / "sample_daily.csv"
DEMO_TICK_SIZE = 0.0001


def demo_feed(settings: Settings) -> MarketFeed:
    if settings.trading_feed == "replay" and DEMO_DATA.exists():
        return ReplayFeed.from_files(
            DEMO_FEED,
            {DEMO_SYMBOL: DEMO_DATA},
            speed=settings.trading_replay_speed,
            loop=True,
            tick_size=[DEMO_TICK_SIZE],
            qty_step=[1.0],
        )
    return SyntheticFeed(
        "demo-synthetic",
        ["SYNTH"],
        seed=20260101,
        bar_seconds=60,
        speed=settings.trading_replay_speed / 1440,
        tick_size=[DEMO_TICK_SIZE],
        qty_step=[1.0],
    )


@asynccontextmanager
async def paper_trading(platform: Platform) -> AsyncIterator[asyncio.Task[None] | None]:
    """Lifespan hook: the engine follows the feed for as long as the app lives. → the
    engine's task (None with the feed off), which ends early only if the engine fails."""
    if platform.settings.trading_feed == "off":
        yield None
        return
    engine = PaperTradingEngine(platform, demo_feed(platform.settings))
    task = asyncio.create_task(engine.run(), name="paper-trading-engine")
    task.add_done_callback(_report_crash)
    try:
        yield task
    finally:
        # The engine finishes the tick in progress first; past the grace period,
        # `wait_for` cancels it again, which abandons that tick.
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.wait_for(task, platform.settings.shutdown_grace_s)


def _report_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("paper_engine_stopped", error=repr(task.exception()))
