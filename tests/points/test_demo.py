"""The points demo seeder gives the demo mentee a believable first week and is safe to
run again."""

from __future__ import annotations

from dracarys.identity.demo import DEMO_MENTEE, seed_identity_demo
from dracarys.platform import Platform
from dracarys.points import seed_points_demo
from tests.points.conftest import balance_of, ledger_sum


async def test_demo_seeder_is_idempotent(platform: Platform) -> None:
    await seed_identity_demo(platform)
    await seed_points_demo(platform)
    first = await balance_of(platform.pool, DEMO_MENTEE.id)
    await seed_points_demo(platform)
    # 100 + 50 + 2×150 + 3×10 + 200 − 100 redeemed.
    assert first == await balance_of(platform.pool, DEMO_MENTEE.id) == 580
    assert await ledger_sum(platform.pool, DEMO_MENTEE.id) == 580
