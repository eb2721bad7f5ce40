"""Points redeemed for credit reach the wallet through the real event path: the held
redemption is released, the outbox relays `points.redeemed_for_credit` to the wallet's
consumer, which credits the wallet once and answers `points.credit_landed`."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from dracarys.clock import ManualClock
from dracarys.platform import Platform
from dracarys.points.redemption import service as redemption
from tests.points.redemption.test_service import URL, _give
from tests.support import balance
from workers.runtime import Worker


async def test_redeemed_credit_lands_in_the_wallet_once_through_the_worker(
    client, platform: Platform, clock: ManualClock, make_user
) -> None:
    user = await make_user(kyc_level=2)
    await _give(platform, user.id, 1000)
    redeemed = await client.post(
        URL,
        json={"points": 400, "target": "credit", "idempotency_key": "e2e-credit"},
        headers=user.headers,
    )
    assert redeemed.status_code == 201, redeemed.text
    clock.advance(timedelta(days=30, seconds=1))
    assert await redemption.release_held_redemptions(platform) == 1

    worker = Worker(platform)
    await worker.start()
    try:
        async with asyncio.timeout(20):
            while (
                await platform.pool.fetchval("SELECT status FROM points_wallet_credits") != "landed"
            ):
                await asyncio.sleep(0.05)
    finally:
        await worker.stop()
    available, _ = await balance(platform.pool, user.id, "KES")
    assert available == 400
    # One event, consumed once by the wallet (its de-duplication record).
    assert (
        await platform.pool.fetchval(
            "SELECT count(*) FROM processed_events WHERE consumer = 'wallet.points_credit'"
        )
        == 1
    )
