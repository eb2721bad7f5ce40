"""The publisher and its transports: sequence numbers, history and cross-process order,
against a real Redis for the Redis transport."""

from __future__ import annotations

import asyncio
import uuid

import msgspec
import pytest
from redis.asyncio import Redis

from dracarys.settings import Settings
from streams.channels import InvalidChannel, parse_channel
from streams.hub import MemoryBackend, RedisBackend, StreamHub
from streams.protocol import Message, server_decoder


class Fill(msgspec.Struct, tag="paper.fill", tag_field="type"):
    order: int


class Recorder:
    def __init__(self) -> None:
        self.frames: list[tuple[str, int, str]] = []

    def push(self, channel: str, seq: int, frame: str) -> None:
        self.frames.append((channel, seq, frame))


def redis_hub(settings: Settings, history_size: int = 100) -> tuple[StreamHub, Redis]:
    assert settings.redis_url is not None
    redis = Redis.from_url(settings.redis_url)
    backend = RedisBackend(
        redis, prefix=settings.redis_prefix, history_size=history_size, history_ttl_s=60
    )
    return StreamHub(backend), redis


async def test_memory_sequence_numbers_are_per_channel_and_gap_free() -> None:
    hub = StreamHub(MemoryBackend(history_size=10))
    sink = Recorder()
    hub.attach("market:A", sink)
    seqs = [
        await hub.publish(ch, Fill(order=i)) for i, ch in enumerate(["market:A", "market:B"] * 5)
    ]
    assert seqs == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert [seq for _, seq, _ in sink.frames] == [1, 2, 3, 4, 5]
    frame = server_decoder.decode(sink.frames[2][2])
    assert frame == Message(seq=3, channel="market:A", data={"type": "paper.fill", "order": 4})


async def test_memory_history_replays_after_a_seq_or_says_it_cannot() -> None:
    hub = StreamHub(MemoryBackend(history_size=5))
    for i in range(12):
        await hub.publish("market:A", Fill(order=i))
    within = await hub.catch_up("market:A", 9)
    assert (within.last_seq, [s for s, _ in within.frames], within.complete) == (
        12,
        [10, 11, 12],
        True,
    )
    trimmed = await hub.catch_up("market:A", 3)
    assert (trimmed.complete, trimmed.frames) == (False, [])
    ahead = await hub.catch_up("market:A", 40)  # the channel was reset under the client
    assert ahead.complete is False
    fresh = await hub.catch_up("market:A", None)
    assert (fresh.last_seq, fresh.complete) == (12, True)


async def test_redis_publishers_in_many_processes_share_one_gap_free_ordered_sequence(
    redis_settings: Settings,
) -> None:
    listener, listener_redis = redis_hub(redis_settings)
    publishers = [redis_hub(redis_settings) for _ in range(3)]  # separate connections
    sink = Recorder()
    channel = f"portfolio:{uuid.uuid4()}"
    listener.attach(channel, sink)
    await listener.start()
    await listener.catch_up(channel, None)  # as a subscribing session does: waits till live
    try:

        async def burst(hub: StreamHub, base: int) -> list[int]:
            return [await hub.publish(channel, Fill(order=base + i)) for i in range(100)]

        results = await asyncio.gather(*(burst(h, 1000 * n) for n, (h, _) in enumerate(publishers)))
        assert sorted(s for r in results for s in r) == list(range(1, 301))
        for _ in range(200):
            if len(sink.frames) == 300:
                break
            await asyncio.sleep(0.01)
        assert [seq for _, seq, _ in sink.frames] == list(range(1, 301))
        # Each publisher's own messages keep their order too.
        orders = [server_decoder.decode(f).data["order"] for _, _, f in sink.frames]  # type: ignore[union-attr]
        for n in range(3):
            mine = [o for o in orders if o // 1000 == n]
            assert mine == sorted(mine)
        history = await publishers[0][0].catch_up(channel, 295)
        assert [s for s, _ in history.frames] == [296, 297, 298, 299, 300]
    finally:
        await listener.stop()
        for _, redis in [*publishers, (listener, listener_redis)]:
            await redis.aclose()


async def test_redis_history_is_bounded_and_keys_carry_the_prefix(redis_settings: Settings) -> None:
    hub, redis = redis_hub(redis_settings, history_size=10)
    channel = f"leaderboard:w{uuid.uuid4().hex[:8]}"
    try:
        for i in range(30):
            await hub.publish(channel, Fill(order=i))
        assert (await hub.catch_up(channel, 5)).complete is False
        assert [s for s, _ in (await hub.catch_up(channel, 25)).frames] == [26, 27, 28, 29, 30]
        keys = sorted([k.decode() async for k in redis.scan_iter(match=f"*{channel}*")])
        prefix = redis_settings.redis_prefix
        assert keys == [f"{prefix}:stream:log:{channel}", f"{prefix}:stream:seq:{channel}"]
        assert await redis.xlen(keys[0]) == 10
    finally:
        await redis.aclose()


def test_channel_names_have_one_spelling_and_known_kinds() -> None:
    mentor = uuid.uuid4()
    assert parse_channel(f"signals:{str(mentor).upper()}").name == f"signals:{mentor}"
    assert parse_channel("market:BTC-USD").key == "BTC-USD"
    assert parse_channel("leaderboard:weekly-points").kind.value == "leaderboard"
    for bad in (
        "signals",
        "trades:x",
        "portfolio:123",
        "market:btc",
        "leaderboard:Weekly",
        "market:" + "A" * 40,
    ):
        with pytest.raises(InvalidChannel):
            parse_channel(bad)


async def test_a_reconnect_storm_waits_for_the_redis_pool_instead_of_failing(
    redis_settings: Settings,
) -> None:
    hub, redis = redis_hub(redis_settings)  # redis-py's default pool: 100 connections
    channel = f"market:S{uuid.uuid4().hex[:6].upper()}"
    try:
        await hub.publish(channel, Fill(order=1))
        results = await asyncio.gather(
            *(hub.catch_up(channel, 0) for _ in range(500)),
            *(hub.publish(channel, Fill(order=i)) for i in range(200)),
        )
        catch_ups = results[:500]
        assert all(r.complete and r.last_seq >= 1 for r in catch_ups)  # type: ignore[union-attr]
        assert sorted(results[500:]) == list(range(2, 202))
    finally:
        await redis.aclose()


async def test_redis_publish_many_numbers_each_channel_gap_free_in_order_across_batches(
    redis_settings: Settings,
) -> None:
    """A fan-out (one frame to each of 2,500 channels, three times, interleaved with
    single publishes) crosses pipeline batches and keeps every channel's order."""
    hub, redis = redis_hub(redis_settings)
    names = [f"notifications:{uuid.uuid4()}" for _ in range(2_500)]
    try:
        first = await hub.publish_many([(name, Fill(order=0)) for name in names])
        assert first == [1] * len(names)
        assert await hub.publish(names[0], Fill(order=1)) == 2
        again = await hub.publish_many([(n, Fill(order=2)) for n in (names[0], names[1], names[0])])
        assert again == [3, 2, 4]
        history = await hub.catch_up(names[0], 0)
        orders = [server_decoder.decode(frame).data["order"] for _, frame in history.frames]
        assert (history.complete, orders) == (True, [0, 1, 2, 2])
    finally:
        await redis.aclose()
