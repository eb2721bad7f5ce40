"""What the wallet page shows before a member converts points: the conversion policy (what
a point is worth, the KYC level and hold of cash-like targets) read from settings, and the
member's own redemptions with their discount codes and hold dates."""

from __future__ import annotations

from datetime import datetime, timedelta

import msgspec

from dracarys.clock import ManualClock
from dracarys.identity import Role
from dracarys.platform import Platform
from dracarys.points.redemption.models import Target
from dracarys.points.redemption.policy import conversion_policy, value_minor
from dracarys.settings import Settings
from tests.points.redemption.test_service import URL, _give

POLICY_URL = "/api/v1/wallet/convert-points/policy"


async def test_the_policy_states_the_blueprint_rules_as_configured(client, make_user) -> None:
    user = await make_user(role=Role.MENTEE)
    response = await client.get(POLICY_URL, headers=user.headers)
    assert response.status_code == 200
    policy = response.json()
    assert (
        policy["currency"],
        policy["minor_units_per_point"],
        policy["cash_kyc_level"],
        policy["hold_days"],
    ) == ("KES", 1, 2, 30)
    rules = {r["target"]: r for r in policy["targets"]}
    assert set(rules) == {t.value for t in Target}
    assert rules["discount"] == {
        "target": "discount",
        "cash_equivalent": False,
        "needs_kyc_level": 0,
        "hold_days": 0,
        "needs_target_ref": False,
    }
    assert rules["credit"] == {
        "target": "credit",
        "cash_equivalent": True,
        "needs_kyc_level": 2,
        "hold_days": 30,
        "needs_target_ref": False,
    }
    assert rules["course_unlock"]["needs_target_ref"] is True
    assert (await client.get(POLICY_URL)).status_code == 401


def test_the_policy_follows_the_settings(settings: Settings) -> None:
    changed = msgspec.structs.replace(
        settings, points_minor_units_per_point=5, points_redemption_hold_days=14
    )
    policy = conversion_policy(changed)
    credit = next(r for r in policy.targets if r.target is Target.CREDIT)
    assert (policy.minor_units_per_point, policy.hold_days, credit.hold_days) == (5, 14, 14)
    assert value_minor(changed, 300) == 1_500


async def test_a_members_redemptions_list_codes_and_hold_dates_newest_first(
    client, platform: Platform, make_user, clock: ManualClock
) -> None:
    user = await make_user(kyc_level=2)
    stranger = await make_user()
    await _give(platform, user.id, 1_000)
    discount = await client.post(
        URL,
        json={"points": 200, "target": "discount", "idempotency_key": "list-redeem-1"},
        headers=user.headers,
    )
    clock.advance(timedelta(seconds=1))
    credit = await client.post(
        URL,
        json={"points": 300, "target": "credit", "idempotency_key": "list-redeem-2"},
        headers=user.headers,
    )
    assert (discount.status_code, credit.status_code) == (201, 201)
    listed = await client.get("/api/v1/points/redemptions", headers=user.headers)
    assert listed.status_code == 200
    [newest, oldest] = listed.json()
    assert (newest["id"], newest["target"], newest["status"], newest["value_minor"]) == (
        credit.json()["id"],
        "credit",
        "held",
        300,
    )
    held_for = datetime.fromisoformat(newest["release_at"]) - datetime.fromisoformat(
        newest["created_at"]
    )
    assert held_for == timedelta(days=30)
    assert (oldest["status"], oldest["discount_code"]) == (
        "fulfilled",
        discount.json()["discount_code"],
    )
    assert oldest["release_at"] is None
    mine = await client.get("/api/v1/points/redemptions", headers=stranger.headers)
    assert mine.json() == []
    assert (await client.get("/api/v1/points/redemptions")).status_code == 401
