"""Concurrency, proven against one real database: caps hold under 1,000 concurrent
awards, and the full event path (outbox → relay → Redis Streams → worker → award)
survives a worker cancelled mid-batch: after a restart every award exists exactly once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from dracarys.clock import ManualClock
from dracarys.db import Database, transaction
from dracarys.outbox import emit_many
from dracarys.platform import Platform
from dracarys.points.awarding import service as awarding
from dracarys.points.models import Award
from dracarys.settings import Settings
from tests.points.conftest import balance_of, ledger_sum
from workers.runtime import Worker


async def test_1000_concurrent_awards_over_the_daily_cap_total_exactly_the_cap(
    platform: Platform, user_factory
) -> None:
    users = [await user_factory(), await user_factory()]

    async def follow(user: uuid.UUID, i: int) -> str:
        async with transaction(platform.pool) as conn:
            outcome = await awarding.award(
                conn,
                platform,
                Award(user_id=user, rule_code="social_follow", related_entity=f"net-{i}"),
            )
            return outcome.status

    statuses = await asyncio.gather(*(follow(users[i % 2], i) for i in range(1000)))
    # 500 requests × 150 points per user, against a 500-a-day social+email cap.
    for user in users:
        assert await balance_of(platform.pool, user) == 500
        assert await ledger_sum(platform.pool, user) == 500
        used = await platform.pool.fetchval(
            """SELECT points FROM points_usage
               WHERE user_id = $1 AND period_key LIKE '%social_email'""",
            user,
        )
        assert used == 500
    # 3 full awards and one clipped to 50 per user; every other request was decided "capped".
    assert statuses.count("posted") == 8
    assert statuses.count("capped") == 992
    clipped = await platform.pool.fetch("SELECT delta FROM points_ledger WHERE delta <> 150")
    assert [r["delta"] for r in clipped] == [50, 50]


@pytest.fixture
async def redis_platform(
    redis_settings: Settings, pool, clock: ManualClock
) -> AsyncIterator[Platform]:
    import msgspec

    settings = msgspec.structs.replace(
        redis_settings, outbox_batch_size=40, outbox_poll_interval_s=0.05
    )
    redis = Redis.from_url(settings.redis_url or "")
    yield Platform(
        settings=settings,
        database=Database(pool=pool, dsn=settings.database_url or ""),
        redis=redis,
        clock=clock,
    )
    await redis.aclose()


async def _awarded(platform: Platform) -> int:
    return int(await platform.pool.fetchval("SELECT count(*) FROM points_ledger"))


async def _wait_for(predicate, timeout_s: float = 60.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not await predicate():
            await asyncio.sleep(0.01)


async def test_worker_cancelled_mid_batch_and_restarted_leaves_each_award_once(
    redis_platform: Platform, user_factory
) -> None:
    platform = redis_platform
    users = [await user_factory() for _ in range(40)]
    lessons = 15
    async with transaction(platform.pool) as conn:
        await emit_many(
            conn,
            [
                ("lesson.completed", {"user_id": str(u), "lesson_id": f"l{i}", "lesson_title": "T"})
                for i in range(lessons)
                for u in users
            ],
        )
    total = len(users) * lessons

    first = Worker(platform)
    await first.start()
    await _wait_for(lambda: _count_at_least(platform, 40))
    # No grace: the running batches are cancelled wherever they are, as a crash would leave
    # them (with the default grace they may all finish on a slow machine, and nothing would
    # be left for the restarted worker to prove).
    await first.stop(grace_s=0)
    done_before_restart = await _awarded(platform)
    assert done_before_restart < total, "the worker finished before it could be stopped"

    second = Worker(platform)
    # Messages the stopped worker read but never acknowledged are claimed after this idle time.
    second.broker.idle_timeout = 500  # type: ignore[attr-defined]
    await second.start()
    try:
        await _wait_for(lambda: _count_at_least(platform, total))
        await asyncio.sleep(1.0)  # let any redelivery land, so a duplicate would show
    finally:
        await second.stop()
    assert await _awarded(platform) == total
    for user in users:
        assert await balance_of(platform.pool, user) == 10 * lessons
    keys = await platform.pool.fetchval("SELECT count(DISTINCT idempotency_key) FROM points_ledger")
    assert keys == total


async def _count_at_least(platform: Platform, n: int) -> bool:
    return await _awarded(platform) >= n


async def test_mixed_events_through_outbox_relay_redis_streams_and_worker(
    redis_platform: Platform, user_factory
) -> None:
    from streams import channels

    platform = redis_platform
    user = await user_factory()
    async with transaction(platform.pool) as conn:
        await emit_many(
            conn,
            [
                ("user.email_verified", {"user_id": str(user)}),
                ("social.follow_verified", {"user_id": str(user), "platform": "x"}),
                (
                    "lesson.completed",
                    {"user_id": str(user), "lesson_id": "l1", "lesson_title": "Risk"},
                ),
                (
                    "deposit.completed",
                    {"user_id": str(user), "deposit_id": "d1", "first_deposit": True},
                ),
                ("user.email_verified", {"user_id": str(user)}),  # a repeat: no second award
            ],
        )
    worker = Worker(platform)
    await worker.start()
    try:

        async def followed() -> bool:
            # The three awards' e-mails and the badge's, which comes one event later.
            n = await platform.pool.fetchval(
                "SELECT count(*) FROM outbound_messages WHERE user_id = $1", user
            )
            return int(n) >= 4

        await _wait_for(followed)
    finally:
        await worker.stop()
    assert await balance_of(platform.pool, user) == 260
    assert (
        await platform.pool.fetchval("SELECT pending FROM points_balances WHERE user_id = $1", user)
        == 500
    )
    mails = await platform.pool.fetch(
        "SELECT template FROM outbound_messages WHERE user_id = $1", user
    )
    # Three awards, and the first-lesson badge the lesson earned (its own workflow).
    assert sorted(m["template"] for m in mails) == [
        "notify.badge_earned",
        "points.lesson_completed",
        "points.signup_verified",
        "points.social_follow",
    ]
    live = await platform.streams.catch_up(channels.notifications(user), 0)
    assert len(live.frames) == 4
    assert platform.redis is not None
    weekly = await platform.redis.zscore(
        f"{platform.settings.redis_prefix}:points:lb:w:2026-W02", str(user)
    )
    assert weekly == 260
