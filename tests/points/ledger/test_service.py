"""What follows a credit: the tier moves as rolling-window earnings cross a threshold
(announced with `tier.changed`), and the thresholds come from settings."""

from __future__ import annotations

import msgspec

from dracarys.db import Database
from dracarys.platform import Platform
from dracarys.points.ledger import service as ledger
from dracarys.settings import Settings
from tests.points.conftest import outbox_topics, send


async def test_reaching_a_threshold_changes_tier_and_emits_tier_changed(
    platform: Platform, user_factory
) -> None:
    user = await user_factory()
    for i in range(4):
        await send(platform, "assessment.passed", user_id=user, assessment_id=f"a{i}")
    assert (await ledger.balance(platform, user)).tier == "bronze"
    await send(platform, "assessment.passed", user_id=user, assessment_id="a4")
    balance = await ledger.balance(platform, user)
    assert (balance.tier, balance.next_tier, balance.points_to_next_tier) == (
        "silver",
        "gold",
        4000,
    )
    assert await outbox_topics(platform.pool, "tier.changed") == [
        {"user_id": str(user), "previous": "bronze", "tier": "silver"}
    ]


async def test_thresholds_are_configurable(settings: Settings, pool, clock, user_factory) -> None:
    tuned = Platform(
        settings=msgspec.structs.replace(settings, points_tier_silver=100, points_tier_gold=250),
        database=Database(pool=pool, dsn=settings.database_url or ""),
        clock=clock,
    )
    user = await user_factory()
    await send(tuned, "assessment.passed", user_id=user, assessment_id="a1")
    assert (await ledger.balance(tuned, user)).tier == "silver"
    await send(tuned, "user.email_verified", user_id=user)
    assert (await ledger.balance(tuned, user)).tier == "gold"
