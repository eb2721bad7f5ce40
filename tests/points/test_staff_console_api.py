"""What the staff console reads of points: the economy's health over the last days
(issued against redeemed, what members hold) and every version of every rule."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from dracarys.clock import ManualClock
from dracarys.identity import Role
from dracarys.platform import Platform
from tests.support import give_points
from tests.wallet.conftest import refreshed

MERCH = "/api/v1/admin/points/merch"
ADDRESS = {"line1": "Kenyatta Avenue 12", "city": "Nairobi", "postal_code": "00100"}


async def test_economy_health_counts_the_last_days_issued_redeemed_net_of_returns_and_held(
    client: Any, platform: Platform, make_user: Any, clock: ManualClock
) -> None:
    member = await make_user()
    await platform.pool.execute(
        "INSERT INTO user_profiles (user_id, updated_at) VALUES ($1, now())", member.id
    )
    await give_points(platform, member.id, 5_000)  # 31 days before the window ends
    clock.advance(timedelta(days=31))
    member = refreshed(member, platform.settings, clock)
    admin = await make_user(role=Role.ADMIN)
    reviewer = await make_user(role=Role.REVIEWER)
    await client.patch(
        f"/api/v1/users/{member.id}/profile",
        json={"address": ADDRESS, "country": "KE"},
        headers=member.headers,
    )
    await give_points(platform, member.id, 10_000)
    for code, price in (("mug", 2_500), ("tee", 600)):
        stocked = await client.put(
            f"{MERCH}/items/{code}",
            json={"name": code, "points": price, "stock": 5},
            headers=admin.headers,
        )
        assert stocked.status_code == 200, stocked.text
    orders = {}
    for code, price in (("mug", 2_500), ("tee", 600)):
        redeemed = await client.post(
            "/api/v1/wallet/convert-points",
            json={"points": price, "target": "merch", "target_ref": code},
            headers={**member.headers, "Idempotency-Key": str(uuid.uuid4())},
        )
        assert redeemed.status_code in (200, 201), redeemed.text
        orders[code] = redeemed.json()["id"]
    cancelled = await client.post(
        f"{MERCH}/orders/{orders['tee']}/status",
        json={"status": "cancelled"},
        headers=admin.headers,
    )
    assert cancelled.status_code == 200, cancelled.text

    economy = await client.get("/api/v1/points/economy", headers=reviewer.headers)
    assert economy.status_code == 200, economy.text
    assert economy.json() == {
        "days": 30,
        "issued": 10_000,  # the 5,000 of 31 days ago is outside the window
        "redeemed": 2_500,  # the tee's 600 came back with its cancelled order
        "expired": 0,
        "clawed_back": 0,
        "outstanding": 12_500,
        "pending": 0,
        "holders": 1,
    }
    wider = await client.get("/api/v1/points/economy?days=40", headers=admin.headers)
    assert wider.json()["issued"] == 15_000
    refused = await client.get("/api/v1/points/economy", headers=member.headers)
    assert refused.status_code == 403


async def test_staff_read_every_version_of_every_rule_newest_first(
    client: Any, make_user: Any
) -> None:
    admin = await make_user(role=Role.ADMIN)
    reviewer = await make_user(role=Role.REVIEWER)
    changed = await client.post(
        "/api/v1/points/rules/lesson_completed/versions",
        json={"points": 15, "active": False},
        headers=admin.headers,
    )
    assert changed.status_code == 201, changed.text
    versions = await client.get("/api/v1/points/rule-versions", headers=reviewer.headers)
    assert versions.status_code == 200, versions.text
    lesson = [
        (r["version"], r["points"], r["active"])
        for r in versions.json()
        if r["code"] == "lesson_completed"
    ]
    assert lesson[0] == (2, 15, False)
    assert lesson[1][0] == 1
    assert lesson[1][2] is True
    # The inactive rule is gone from the public page but not from the staff's list.
    public = (await client.get("/api/v1/points/rules")).json()
    assert "lesson_completed" not in {r["code"] for r in public["rules"]}
    member = await make_user()
    refused = await client.get("/api/v1/points/rule-versions", headers=member.headers)
    assert refused.status_code == 403
