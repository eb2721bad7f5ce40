"""Badges, daily learning streaks in the user's own timezone (midnight and DST), and
leaderboards in PostgreSQL and in Redis."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from redis.asyncio import Redis

from dracarys.clock import ManualClock
from dracarys.db import Database
from dracarys.platform import Platform
from dracarys.points.badges import service as badges
from dracarys.settings import Settings
from tests.points.conftest import drain, outbox_topics, send


async def test_milestone_badges_are_granted_once(platform: Platform, user_factory) -> None:
    user = await user_factory()
    await send(platform, "lesson.completed", user_id=user, lesson_id="l1")
    await send(platform, "lesson.completed", user_id=user, lesson_id="l2")
    await send(platform, "assessment.passed", user_id=user, assessment_id="a1")
    await send(platform, "paper.month_closed", user_id=user, month="2025-11", pnl_minor=-500)
    rows = await platform.pool.fetch("SELECT badge FROM points_badges WHERE user_id = $1", user)
    assert sorted(r["badge"] for r in rows) == ["first_assessment_passed", "first_lesson"]
    await send(platform, "paper.month_closed", user_id=user, month="2025-12", pnl_minor=1200)
    await send(platform, "paper.month_closed", user_id=user, month="2026-01", pnl_minor=900)
    earned = await outbox_topics(platform.pool, "badge.earned")
    assert sorted(e["badge"] for e in earned) == [
        "first_assessment_passed",
        "first_lesson",
        "first_profitable_paper_month",
    ]


async def _learn(
    platform: Platform, clock: ManualClock, user: uuid.UUID, at: datetime, tz: str | None = None
) -> Any:
    clock.set(at)
    async with platform.pool.acquire() as conn, conn.transaction():
        return await badges.record_learning_day(conn, platform, user, at, tz)


async def test_streak_counts_local_days_across_utc_midnight(
    platform: Platform, clock: ManualClock, user_factory
) -> None:
    auckland, los_angeles = await user_factory(), await user_factory()
    # 22:00 and 01:00 in Auckland (UTC+13) are two local days within one UTC day.
    await _learn(
        platform, clock, auckland, datetime(2026, 1, 5, 9, 0, tzinfo=UTC), "Pacific/Auckland"
    )
    s = await _learn(
        platform, clock, auckland, datetime(2026, 1, 5, 12, 0, tzinfo=UTC), "Pacific/Auckland"
    )
    assert (s.current_days, s.last_day) == (2, "2026-01-06")
    # 23:00 and 01:00 in Los Angeles (UTC-8) straddle local midnight on one UTC day.
    await _learn(
        platform, clock, los_angeles, datetime(2026, 1, 5, 7, 0, tzinfo=UTC), "America/Los_Angeles"
    )
    s = await _learn(
        platform, clock, los_angeles, datetime(2026, 1, 5, 9, 0, tzinfo=UTC), "America/Los_Angeles"
    )
    assert (s.current_days, s.last_day) == (2, "2026-01-05")
    # Twice on the same local day is one day, even across a UTC date change.
    s = await _learn(
        platform, clock, los_angeles, datetime(2026, 1, 6, 7, 30, tzinfo=UTC), "America/Los_Angeles"
    )
    assert s.current_days == 2


async def test_streak_is_correct_across_dst_changes(
    platform: Platform, clock: ManualClock, user_factory
) -> None:
    user = await user_factory()
    tz = "America/New_York"
    # Spring forward (8 March 2026): 23:30 EST on the 7th, then 23:30 EDT on the 8th is
    # only 23 hours later but the next local day.
    await _learn(platform, clock, user, datetime(2026, 3, 8, 4, 30, tzinfo=UTC), tz)
    s = await _learn(platform, clock, user, datetime(2026, 3, 9, 3, 30, tzinfo=UTC), tz)
    assert (s.current_days, s.last_day) == (2, "2026-03-08")
    s = await _learn(platform, clock, user, datetime(2026, 3, 9, 4, 30, tzinfo=UTC), tz)
    assert (s.current_days, s.last_day) == (3, "2026-03-09")
    # Fall back (1 November 2026): 00:30 EDT on the 1st, then 23:30 EST on the 1st is 24
    # hours later yet the same local day; 00:10 EST on the 2nd is the next day.
    other = await user_factory()
    await _learn(platform, clock, other, datetime(2026, 11, 1, 4, 30, tzinfo=UTC), tz)
    s = await _learn(platform, clock, other, datetime(2026, 11, 2, 4, 30, tzinfo=UTC), tz)
    assert (s.current_days, s.last_day) == (1, "2026-11-01")
    s = await _learn(platform, clock, other, datetime(2026, 11, 2, 5, 10, tzinfo=UTC), tz)
    assert (s.current_days, s.last_day) == (2, "2026-11-02")


async def test_a_missed_day_restarts_the_streak_and_seven_days_earn_a_badge(
    platform: Platform, clock: ManualClock, user_factory
) -> None:
    user = await user_factory()
    start = datetime(2026, 2, 1, 15, 0, tzinfo=UTC)
    await _learn(platform, clock, user, start, "Africa/Nairobi")
    s = await _learn(platform, clock, user, start + timedelta(days=2), "Africa/Nairobi")
    assert (s.current_days, s.longest_days) == (1, 1)
    for day in range(3, 9):
        s = await _learn(platform, clock, user, start + timedelta(days=day), "Africa/Nairobi")
    assert s.current_days == 7
    held = await platform.pool.fetch("SELECT badge FROM points_badges WHERE user_id = $1", user)
    assert [b["badge"] for b in held] == ["streak_7_days"]
    clock.set(start + timedelta(days=11))
    assert (await badges.streak(platform, user)).current_days == 0  # broken by now


async def test_profile_timezone_wins_over_the_one_in_the_event(
    platform: Platform, clock: ManualClock, user_factory
) -> None:
    user = await user_factory()
    await platform.pool.execute(
        "INSERT INTO user_profiles (user_id, timezone) VALUES ($1, 'Asia/Tokyo')", user
    )
    clock.set(datetime(2026, 1, 5, 16, 0, tzinfo=UTC))  # 01:00 on the 6th in Tokyo
    await send(
        platform, "lesson.completed", user_id=user, lesson_id="l1", timezone="America/Chicago"
    )
    s = await badges.streak(platform, user)
    assert (s.timezone, s.last_day) == ("Asia/Tokyo", "2026-01-06")


async def _leaderboard_scenario(
    platform: Platform, clock: ManualClock, user_factory
) -> tuple[uuid.UUID, uuid.UUID]:
    clock.set(datetime(2026, 3, 30, 12, 0, tzinfo=UTC))  # Monday of ISO week 14, Q1
    a, b = await user_factory(), await user_factory()
    await send(platform, "assessment.passed", user_id=a, assessment_id="a1")
    await send(platform, "lesson.completed", user_id=b, lesson_id="l1")
    clock.set(datetime(2026, 4, 1, 12, 0, tzinfo=UTC))  # same week, new month and season
    await send(platform, "lesson.completed", user_id=b, lesson_id="l2")
    await send(platform, "lesson.completed", user_id=a, lesson_id="l3")
    return a, b


async def _boards(platform: Platform) -> dict[str, list[tuple[uuid.UUID, int]]]:
    return {
        period: [
            (r.user_id, r.points) for r in (await badges.leaderboard(platform, period, 10)).rows
        ]
        for period in ("weekly", "monthly", "season")
    }


async def test_leaderboards_in_postgres_per_week_month_and_season(
    platform: Platform, clock: ManualClock, user_factory
) -> None:
    a, b = await _leaderboard_scenario(platform, clock, user_factory)
    assert await _boards(platform) == {
        "weekly": [(a, 210), (b, 20)],
        "monthly": [(a, 10), (b, 10)] if a < b else [(b, 10), (a, 10)],
        "season": [(a, 10), (b, 10)] if a < b else [(b, 10), (a, 10)],
    }


@pytest.fixture
async def redis_platform(redis_settings: Settings, pool, clock: ManualClock):
    redis = Redis.from_url(redis_settings.redis_url or "")
    yield Platform(
        settings=redis_settings,
        database=Database(pool=pool, dsn=redis_settings.database_url or ""),
        redis=redis,
        clock=clock,
    )
    await redis.aclose()


async def test_leaderboards_in_redis_sorted_sets_count_each_entry_once(
    redis_platform: Platform, clock: ManualClock, user_factory
) -> None:
    platform = redis_platform
    a, b = await _leaderboard_scenario(platform, clock, user_factory)
    boards = await _boards(platform)
    assert boards["weekly"] == [(a, 210), (b, 20)]
    assert dict(boards["season"]) == {a: 10, b: 10}
    assert platform.redis is not None
    pattern = f"{platform.settings.redis_prefix}:points:lb:*"
    keys = sorted([k.decode() async for k in platform.redis.scan_iter(match=pattern)])
    prefix = platform.settings.redis_prefix
    assert keys == sorted(
        f"{prefix}:points:lb:{k}"
        for k in ("w:2026-W14", "m:2026-03", "m:2026-04", "s:2026-Q1", "s:2026-Q2")
    )
    # Re-delivering the same points.awarded events (a new consumer name sees them as new)
    # moves no score: each ledger entry is counted once.
    rows = await platform.pool.fetch(
        "SELECT id, topic, payload, created_at FROM outbox WHERE topic = 'points.awarded'"
    )
    from dracarys.outbox import Event
    from dracarys.points import count_awards

    async with platform.pool.acquire() as conn:
        for r in rows:
            await count_awards(
                conn,
                platform,
                [
                    Event(
                        id=r["id"],
                        topic=r["topic"],
                        payload=r["payload"],
                        created_at=r["created_at"],
                    )
                ],
            )
    assert (await _boards(platform))["weekly"] == [(a, 210), (b, 20)]
    assert await drain(platform) == 0
