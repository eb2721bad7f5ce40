"""Market feeds: replay pacing on an accelerated clock, resuming after a sequence number,
looping, and the synthetic feed's determinism."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.feeds import TRADING_DAY_PER_SECOND, ReplayFeed, SyntheticFeed
from engine.matching import Tick

DATA = Path(__file__).resolve().parents[2] / "data"


class RecordingSleep:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay_s: float) -> None:
        self.delays.append(delay_s)


async def take(feed: ReplayFeed | SyntheticFeed, after_seq: int, count: int) -> list[Tick]:
    out: list[Tick] = []
    async for tick in feed.ticks(after_seq):
        out.append(tick)
        if len(out) == count:
            break
    return out


def daily_feed(**options: object) -> ReplayFeed:
    return ReplayFeed.from_files("demo", {"DEMO": DATA / "sample_daily.csv"}, **options)


async def test_replay_plays_one_trading_day_per_second_by_default() -> None:
    sleep = RecordingSleep()
    feed = daily_feed(sleep=sleep)
    assert feed.speed == TRADING_DAY_PER_SECOND
    await take(feed, 0, 3)
    assert sleep.delays == [1.0, 1.0, 1.0]


async def test_replay_speed_is_adjustable() -> None:
    sleep = RecordingSleep()
    minutes = ReplayFeed.from_files(
        "m", {"DEMO1M": DATA / "sample_1m.csv"}, speed=600.0, sleep=sleep
    )
    await take(minutes, 0, 2)
    assert sleep.delays == [0.1, 0.1]  # a 60 s bar at 600× takes a tenth of a second


async def test_replay_resumes_right_after_the_given_sequence() -> None:
    feed = daily_feed(speed=float("inf"))
    whole = await take(feed, 0, 10)
    resumed = await take(feed, 6, 4)
    assert [t.seq for t in resumed] == [7, 8, 9, 10]
    for a, b in zip(whole[6:], resumed, strict=True):
        assert a.ts_ns == b.ts_ns
        assert np.array_equal(a.open, b.open)


async def test_finite_replay_stops_at_the_end_of_the_data() -> None:
    feed = daily_feed(speed=float("inf"))
    ticks = await take(feed, feed.length - 2, 10)
    assert [t.seq for t in ticks] == [feed.length - 1, feed.length]


async def test_looping_replay_continues_time_and_price_from_the_last_bar() -> None:
    feed = daily_feed(speed=float("inf"), loop=True)
    last, first_again = await take(feed, feed.length - 1, 2)
    assert first_again.seq == feed.length + 1
    assert first_again.ts_ns > last.ts_ns
    # The second pass starts where the first ended (the first open scaled to the last close).
    assert abs(first_again.open[0] - last.close[0]) < 1e-9


async def test_synthetic_feed_gives_the_same_bars_for_the_same_seed() -> None:
    a = await take(SyntheticFeed("s", ["AAA", "BBB"], seed=3, speed=float("inf"), block=50), 0, 120)
    b = SyntheticFeed("s", ["AAA", "BBB"], seed=3, speed=float("inf"), block=50)
    resumed = await take(b, 100, 20)
    for x, y in zip(a[100:], resumed, strict=True):
        assert x.seq == y.seq
        assert np.array_equal(x.close, y.close)
    assert all(np.all(t.high >= t.low) for t in a)
    # Blocks continue from the previous block's last close, without a jump.
    assert abs(a[50].open[0] / a[49].close[0] - 1) < 0.05
