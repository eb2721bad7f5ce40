"""Expiry: points earned more than 12 months ago expire oldest first, unless the user
logged in within 90 days; the job is safe to run twice at once. Tiers fall as earnings
leave the rolling window."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from dracarys.clock import ManualClock
from dracarys.platform import Platform
from dracarys.points.expiry import service as expiry
from dracarys.points.ledger import service as ledger
from tests.points.conftest import balance_of, entries, ledger_sum, send


async def _adjust(platform: Platform, user: uuid.UUID, change: int) -> None:
    async with platform.pool.acquire() as conn, conn.transaction():
        await ledger.adjust(
            conn,
            platform,
            user_id=user,
            change=change,
            reason_code="adjustment",
            related_entity=None,
            key=f"k:{uuid.uuid4()}",
            source_ip=None,
        )


async def test_points_expire_oldest_first_after_12_months(
    platform: Platform, clock: ManualClock, user_factory
) -> None:
    user = await user_factory()
    await _adjust(platform, user, 300)  # month 0
    clock.advance(timedelta(days=120))
    await _adjust(platform, user, 200)  # month 4
    await _adjust(platform, user, -350)  # spends all of the 300 and 50 of the 200
    clock.advance(timedelta(days=250))  # month ~12.2: only the 300 is older than 12 months
    assert await expiry.expire_points(platform) == 0  # it was spent already
    clock.advance(timedelta(days=120))  # month ~16: the 200 lot is old too
    assert await expiry.expire_points(platform) == 150
    assert await balance_of(platform.pool, user) == 0
    assert await ledger_sum(platform.pool, user) == 0
    assert (await entries(platform.pool, user))[-1]["reason_code"] == "expired"


async def test_newer_points_survive_and_a_recent_login_prevents_expiry(
    platform: Platform, clock: ManualClock, user_factory
) -> None:
    stale, active = await user_factory(), await user_factory()
    for user in (stale, active):
        await _adjust(platform, user, 100)
    clock.advance(timedelta(days=300))
    for user in (stale, active):
        await _adjust(platform, user, 40)
    clock.advance(timedelta(days=70))  # the 100s are > 12 months old, the 40s are not
    await send(platform, "user.logged_in", user_id=active, source_ip="198.51.100.7")
    clock.advance(timedelta(days=10))
    assert await expiry.expire_points(platform) == 100
    assert await balance_of(platform.pool, stale) == 40
    assert await balance_of(platform.pool, active) == 140
    clock.advance(timedelta(days=85))  # the login is now more than 90 days old
    assert await expiry.expire_points(platform) == 100
    assert await balance_of(platform.pool, active) == 40


async def test_expiry_job_run_twice_at_once_expires_once(
    platform: Platform, clock: ManualClock, user_factory
) -> None:
    users = [await user_factory() for _ in range(20)]
    for user in users:
        await _adjust(platform, user, 75)
    clock.advance(timedelta(days=400))
    results = await asyncio.gather(expiry.expire_points(platform), expiry.expire_points(platform))
    assert sum(results) == 75 * 20
    for user in users:
        assert await balance_of(platform.pool, user) == 0
        assert [e["delta"] for e in await entries(platform.pool, user)] == [75, -75]
    assert await expiry.expire_points(platform) == 0


async def test_tier_falls_when_earnings_leave_the_rolling_window(
    platform: Platform, clock: ManualClock, user_factory
) -> None:
    user = await user_factory()
    for i in range(5):
        await send(platform, "assessment.passed", user_id=user, assessment_id=f"a{i}")
    assert await expiry.refresh_tiers(platform) == 0
    clock.advance(timedelta(days=366))
    assert await expiry.refresh_tiers(platform) == 1
    balance = await ledger.balance(platform, user)
    assert (balance.tier, balance.balance, balance.earned_in_window) == ("bronze", 1000, 0)
