"""The KPI engine's columnar cache of the stream: what it returns is exactly the stream
(every event, those committed a moment ago and those a slow transaction commits after
newer ones included), whatever the cache holds, and the folder stays readable when
writers race or crash."""

from __future__ import annotations

import asyncio
import os
import uuid
from datetime import timedelta
from pathlib import Path

import polars as pl

from dracarys.analytics.events import cache
from dracarys.analytics.events.population import Population, write_population
from dracarys.analytics.events.service import (
    FACT_SCHEMA,
    MAX_SEGMENTS,
    current_fact_frame,
    fact_frame,
    facts_cache_folder,
    record_events,
    warm_fact_cache,
)
from dracarys.analytics.kpis.compute import session_fill
from dracarys.analytics.kpis.service import kpi_report, report_of
from dracarys.clock import ManualClock
from dracarys.platform import Platform
from tests.analytics.fixture import AS_OF, at, deliver, event, history
from workers.analytics_tasks import WARM_FACT_CACHE
from workers.runtime import Worker

SMALL = Population(users=120, mentors=4, events=3_000, weeks=4, seed=3)
FAR = AS_OF + timedelta(days=3650)
TEXT_COLUMNS = ["user_id", "topic", "subject", "ref"]


def rows(frame: pl.DataFrame) -> list[tuple[object, ...]]:
    """The frame's rows, categoricals as text, in one order: what compares two frames
    holding the same events in any order."""
    as_text = frame.with_columns(pl.col(TEXT_COLUMNS).cast(pl.String)).select(list(FACT_SCHEMA))
    return sorted(as_text.rows(), key=repr)


async def stream(platform: Platform) -> pl.DataFrame:
    """The stream read the old way: every fact pulled out of PostgreSQL."""
    async with platform.pool.acquire() as conn:
        return await fact_frame(conn, FAR)


def chain_end(platform: Platform) -> int:
    links = cache.chain(cache.segments(facts_cache_folder(platform.settings)))
    return links[-1].high if links else 0


async def newest_xid(platform: Platform) -> int:
    value = await platform.pool.fetchval(
        "SELECT max(recorded_xid)::text::bigint FROM analytics_events"
    )
    return int(value)


async def cached_past(platform: Platform, xid: int) -> pl.DataFrame:
    """Read through the cache, writing every settled event, until the cache's end has
    passed `xid`: a transaction of another test on the cluster may hold the snapshot's
    xmin back for a moment."""
    for _ in range(1200):
        frame = await current_fact_frame(platform, FAR, segment_rows=1)
        if chain_end(platform) > xid:
            return frame
        await asyncio.sleep(0.1)
    raise AssertionError(f"the cache never passed transaction {xid}")


async def test_the_cached_stream_is_the_stream_with_its_newest_events_and_the_same_kpis(
    platform: Platform, clock: ManualClock
) -> None:
    async with platform.pool.acquire() as conn:
        await write_population(conn, SMALL, chunk_rows=1_000)
    cached = await cached_past(platform, await newest_xid(platform))
    assert rows(cached) == rows(await stream(platform))
    end = chain_end(platform)

    # Events recorded after the cache was written are read from PostgreSQL until enough
    # settle for a segment of their own.
    await deliver(platform, history())
    recent = await current_fact_frame(platform, FAR)
    old_way = await stream(platform)
    assert recent.height == old_way.height > cached.height
    assert rows(recent) == rows(old_way)
    assert chain_end(platform) == end

    again = await cached_past(platform, await newest_xid(platform))
    assert chain_end(platform) > end
    assert rows(again) == rows(old_way)
    clock.set(AS_OF)
    assert await kpi_report(platform) == report_of(
        old_way.filter(pl.col("occurred_at") < AS_OF), AS_OF
    )


async def test_an_event_committed_after_newer_ones_were_cached_is_still_counted(
    platform: Platform,
) -> None:
    await deliver(platform, [event("user.signed_up", at(1, 5), user_id=uuid.uuid4())])
    first = await newest_xid(platform)
    slow_member = uuid.uuid4()
    async with platform.pool.acquire() as slow:
        transaction = slow.transaction()
        await transaction.start()
        # Happened (and was recorded) before the next event, committed after it.
        await record_events(slow, [event("user.signed_up", at(1, 6), user_id=slow_member)])
        slow_xid = int(await slow.fetchval("SELECT pg_current_xact_id()::text::bigint"))
        await deliver(platform, [event("user.signed_up", at(1, 7), user_id=uuid.uuid4())])
        assert await newest_xid(platform) > slow_xid
        # The cache settles what came before the slow transaction, never past it.
        await cached_past(platform, first)
        assert chain_end(platform) <= slow_xid
        await transaction.commit()

    frame = await current_fact_frame(platform, FAR, segment_rows=1)

    assert str(slow_member) in frame["user_id"].cast(pl.String).to_list()
    assert rows(frame) == rows(await stream(platform))


async def test_two_processes_building_the_cache_at_once_both_read_the_whole_stream(
    platform: Platform,
) -> None:
    async with platform.pool.acquire() as conn:
        await write_population(conn, SMALL)
    expected = rows(await stream(platform))
    await cached_past(platform, await newest_xid(platform))
    cache_folder = facts_cache_folder(platform.settings)
    for segment in cache.segments(cache_folder):
        segment.path.unlink()

    first, second = await asyncio.gather(
        current_fact_frame(platform, FAR, segment_rows=1),
        current_fact_frame(platform, FAR, segment_rows=1),
    )

    assert rows(first) == rows(second) == expected
    assert rows(await current_fact_frame(platform, FAR)) == expected
    assert not list(cache_folder.glob(".*.writing"))


async def test_a_long_chain_is_rewritten_as_one_segment(platform: Platform) -> None:
    for day in range(1, MAX_SEGMENTS + 2):
        await deliver(platform, [event("user.signed_up", at(1, day), user_id=uuid.uuid4())])
        await cached_past(platform, await newest_xid(platform))

    found = cache.segments(facts_cache_folder(platform.settings))

    # One segment per round or more without the rewrite; it leaves the chain only.
    assert len(found) < MAX_SEGMENTS
    assert len(cache.chain(found)) == len(found)
    assert rows(await current_fact_frame(platform, FAR)) == rows(await stream(platform))


def test_the_chain_takes_the_furthest_segment_at_each_point_and_prune_drops_the_rest(
    tmp_path: Path,
) -> None:
    frame = pl.DataFrame({"n": [1]})
    for low, high in [(0, 5), (0, 7), (5, 9), (7, 12), (20, 30)]:
        cache.write(tmp_path, low, high, frame)

    links = cache.chain(cache.segments(tmp_path))
    cache.prune(tmp_path)

    assert [(s.low, s.high) for s in links] == [(0, 7), (7, 12)]
    # (20, 30) is past the chain's end: kept, the next segment may reach it.
    assert sorted((s.low, s.high) for s in cache.segments(tmp_path)) == [
        (0, 7),
        (7, 12),
        (20, 30),
    ]


def test_a_crashed_writers_half_file_is_never_read_and_is_removed_once_stale(
    tmp_path: Path,
) -> None:
    whole = pl.DataFrame({"n": [1, 2, 3]})
    cache.write(tmp_path, 0, 10, whole)
    name = cache.segment_name(10, 20)
    half = tmp_path / f".{name}.4242-dead.writing"
    half.write_bytes(b"PAR1\x00\x00truncated")
    (tmp_path / "facts-garbage.parquet").write_bytes(b"not a segment")

    links, frame = cache.read(tmp_path)

    assert [(s.low, s.high) for s in links] == [(0, 10)]
    assert frame is not None
    assert frame.equals(whole)
    cache.prune(tmp_path)
    assert half.exists()  # a writer may still be writing it
    old = half.stat().st_mtime - cache.STALE_WRITING_S - 1
    os.utime(half, (old, old))
    cache.prune(tmp_path)
    assert not half.exists()


def test_a_slot_counts_its_first_offer_whatever_the_order_of_the_frame() -> None:
    # Offered with 3 seats of 45 minutes, then again with 5 of 60; the later row first.
    offers = pl.DataFrame(
        {
            "topic": ["slot.offered", "slot.offered"],
            "occurred_at": [at(1, 2), at(1, 1)],
            "ref": ["slot-1", "slot-1"],
            "seats": [5, 3],
            "minutes": [60, 45],
        },
        schema={
            name: FACT_SCHEMA[name] for name in ("topic", "occurred_at", "ref", "seats", "minutes")
        },
    )

    fill = session_fill(offers)

    assert (fill["slots_offered"], fill["seats_offered"], fill["minutes_offered"]) == (
        1,
        3,
        135,
    )


async def test_the_scheduled_warm_up_fills_the_cache_every_ten_minutes(platform: Platform) -> None:
    async with platform.pool.acquire() as conn:
        await write_population(conn, SMALL, chunk_rows=1_000)
    newest = await newest_xid(platform)
    assert chain_end(platform) == 0

    # Another test's open transaction may hold the snapshot's xmin back for a moment.
    for _ in range(1200):
        end = await warm_fact_cache(platform, segment_rows=1)
        if end > newest:
            break
        await asyncio.sleep(0.1)

    assert end == chain_end(platform) > newest
    # What the dashboard then reads is the cache alone, and it is the whole stream.
    assert rows(await current_fact_frame(platform, FAR)) == rows(await stream(platform))
    source = Worker(platform).scheduler().sources[0]
    await source.startup()
    crons = {s.task_name: s.cron for s in await source.get_schedules()}
    assert crons[WARM_FACT_CACHE] == "*/10 * * * *"
