"""Running the paper-trading engine inside a process: the embedded `dracarys up` replays
several daily series at once on an accelerated clock, looping, so the demo keeps moving —
the committed synthetic sample (`data/sample_daily.csv`, symbol DEMO), a trending share
(TREND) and a mean-reverting currency pair (EURUSD), the last two generated seeded by
`engine.synthetic` on the sample's business days; `trading_feed=synthetic` makes endless bars
instead, `off` runs no engine (scale-out: one engine process per feed). Beside the demo
feed, the replay runs a second engine over BTCUSD's seeded 24/7 minute bars."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import structlog

from dracarys.platform import Platform
from dracarys.settings import Settings
from dracarys.trading.paper_loop.loop import PaperTradingEngine
from engine.data import load
from engine.feeds import MarketFeed, ReplayFeed, SyntheticFeed
from engine.synthetic import generate, generate_mean_reverting, generate_trending

log = structlog.get_logger("dracarys.trading.paper_loop.runtime")

DEMO_SYMBOL = "DEMO"
DEMO_FEED = "demo-replay"
DEMO_DATA = Path(__file__).resolve().parents[4] / "data" / "sample_daily.csv"
DEMO_TICK_SIZE = 0.0001
# The other demo series: (tick size, lot size) as migration 1320 registers them.
TREND_SYMBOL = "TREND"
FX_SYMBOL = "EURUSD"
DEMO_MARKET = {
    DEMO_SYMBOL: (DEMO_TICK_SIZE, 1.0),
    TREND_SYMBOL: (0.0001, 1.0),
    FX_SYMBOL: (0.00001, 1000.0),
}
TREND_SEED = 20260201
FX_SEED = 20260202


def demo_market_frames() -> dict[str, pl.DataFrame]:
    """The demo market's series, aligned on the sample's days: the same bytes every run."""
    sample = load(DEMO_DATA)
    return {
        DEMO_SYMBOL: sample,
        TREND_SYMBOL: generate_trending(sample.height, seed=TREND_SEED),
        FX_SYMBOL: generate_mean_reverting(sample.height, seed=FX_SEED),
    }


CRYPTO_SYMBOL = "BTCUSD"
CRYPTO_FEED = "crypto-replay"
CRYPTO_SEED = 20260203
CRYPTO_BARS = 7 * 1_440  # a week of minute bars, round the clock


def crypto_market_frame() -> pl.DataFrame:
    """BTCUSD's seeded week of 24/7 minute bars, on its 0.01 tick (rounding keeps each
    bar's high and low around its open and close)."""
    frame = generate(
        CRYPTO_BARS,
        seed=CRYPTO_SEED,
        bar_seconds=60,
        start=datetime(2026, 1, 1, tzinfo=UTC),
        start_price=40_000.0,
        annual_drift=0.3,
        calm_volatility=0.6,
        stressed_volatility=1.2,
        business_days=False,
    )
    return frame.with_columns(pl.col(c).round(2) for c in ("open", "high", "low", "close"))


def market_feeds(settings: Settings) -> list[MarketFeed]:
    """The feeds one engine process follows: the demo feed, and on the replay the crypto
    minute bars, one bar a second (the demo's speed counts trading days a second)."""
    feeds = [demo_feed(settings)]
    if settings.trading_feed == "replay":
        feeds.append(
            ReplayFeed.from_frames(
                CRYPTO_FEED,
                {CRYPTO_SYMBOL: crypto_market_frame()},
                speed=settings.trading_replay_speed / 1_440,
                loop=True,
                tick_size=[0.01],
                qty_step=[0.0001],
            )
        )
    return feeds


def demo_feed(settings: Settings) -> MarketFeed:
    if settings.trading_feed == "replay" and DEMO_DATA.exists():
        frames = demo_market_frames()
        return ReplayFeed.from_frames(
            DEMO_FEED,
            frames,
            speed=settings.trading_replay_speed,
            loop=True,
            tick_size=[DEMO_MARKET[symbol][0] for symbol in frames],
            qty_step=[DEMO_MARKET[symbol][1] for symbol in frames],
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
    engines = [
        PaperTradingEngine(platform, feed, marks_equity=k == 0)
        for k, feed in enumerate(market_feeds(platform.settings))
    ]
    task = asyncio.create_task(_run_engines(engines), name="paper-trading-engine")
    task.add_done_callback(_report_crash)
    try:
        yield task
    finally:
        # The engine finishes the tick in progress first; past the grace period,
        # `wait_for` cancels it again, which abandons that tick.
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.wait_for(task, platform.settings.shutdown_grace_s)


async def _run_engines(engines: list[PaperTradingEngine]) -> None:
    """Every feed's engine until cancelled; one failing stops the others (and the task
    reports it)."""
    async with asyncio.TaskGroup() as group:
        for engine in engines:
            group.create_task(engine.run(), name=f"paper-engine-{engine.feed.name}")


def _report_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("paper_engine_stopped", error=repr(task.exception()))
