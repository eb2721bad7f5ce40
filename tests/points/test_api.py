"""Transparency and admin endpoints: balance with tier progress, paginated history with
reason codes, the public rules page, and `POST /api/v1/points/award` with idempotency."""

from __future__ import annotations

import uuid

from dracarys.identity import Role
from dracarys.platform import Platform
from tests.points.conftest import balance_of, drain, send
from tests.support import audit_trail

AWARD = "/api/v1/points/award"


async def test_rules_page_is_public_and_lists_rules_caps_and_tiers(client) -> None:
    r = await client.get("/api/v1/points/rules")
    assert r.status_code == 200
    body = r.json()
    assert {x["code"]: x["points"] for x in body["rules"]}["referral_completed"] == 1000
    assert body["social_email_daily_cap"] == 500
    assert body["tier_thresholds"] == {"bronze": 0, "silver": 1000, "gold": 5000, "legend": 20000}
    assert (body["expiry_months"], body["expiry_login_grace_days"]) == (12, 90)


async def test_balance_shows_pending_tier_and_progress(
    client, platform: Platform, make_user
) -> None:
    user = await make_user()
    await send(platform, "user.email_verified", user_id=user.id)
    await send(platform, "profile.completed", user_id=user.id)
    await send(platform, "deposit.completed", user_id=user.id, deposit_id="d1", first_deposit=True)
    body = (await client.get("/api/v1/points/balance", headers=user.headers)).json()
    assert body == {
        "user_id": str(user.id),
        "balance": 150,
        "pending": 500,
        "tier": "bronze",
        "earned_in_window": 150,
        "next_tier": "silver",
        "points_to_next_tier": 850,
        "progress_pct": 15,
        "earning_frozen": False,
    }


async def test_balance_of_another_user_is_staff_only(client, make_user) -> None:
    user, other, reviewer = (
        await make_user(),
        await make_user(),
        await make_user(role=Role.REVIEWER),
    )
    url = f"/api/v1/points/balance?user_id={other.id}"
    assert (await client.get(url, headers=user.headers)).status_code == 403
    assert (await client.get(url, headers=reviewer.headers)).status_code == 200
    assert (await client.get("/api/v1/points/balance")).status_code == 401


async def test_history_is_paginated_newest_first_with_reasons(
    client, platform: Platform, make_user
) -> None:
    user = await make_user()
    for i in range(5):
        await send(platform, "lesson.completed", user_id=user.id, lesson_id=f"l{i}")
    page1 = (await client.get("/api/v1/points/history?limit=2", headers=user.headers)).json()
    assert [e["related_entity"] for e in page1["items"]] == ["l4", "l3"]
    assert page1["items"][0]["reason"] == "lesson completed"
    assert page1["items"][0]["balance_after"] == 50
    page2 = (
        await client.get(
            f"/api/v1/points/history?limit=2&cursor={page1['next_cursor']}", headers=user.headers
        )
    ).json()
    page3 = (
        await client.get(
            f"/api/v1/points/history?limit=2&cursor={page2['next_cursor']}", headers=user.headers
        )
    ).json()
    assert [e["related_entity"] for e in page2["items"] + page3["items"]] == ["l2", "l1", "l0"]
    assert page3["next_cursor"] is None
    bad = await client.get("/api/v1/points/history?cursor=%%%", headers=user.headers)
    assert bad.status_code == 422


async def test_award_endpoint_is_admin_only_and_idempotent(
    client, platform: Platform, make_user
) -> None:
    admin, user = await make_user(role=Role.ADMIN), await make_user()
    body = {
        "user_id": str(user.id),
        "rule_code": "assessment_passed",
        "related_entity_id": "a-9",
        "idempotency_key": "award-000001",
    }
    assert (await client.post(AWARD, json=body, headers=user.headers)).status_code == 403
    first = await client.post(AWARD, json=body, headers=admin.headers)
    assert first.status_code == 200, first.text
    assert (first.json()["status"], first.json()["points"], first.json()["balance"]) == (
        "posted",
        200,
        200,
    )
    again = await client.post(AWARD, json=body, headers=admin.headers)
    assert again.json() == first.json()
    changed = await client.post(
        AWARD, json={**body, "related_entity_id": "a-10"}, headers=admin.headers
    )
    assert changed.status_code == 422
    # A new key for the same (rule, user, entity) is recognised as already awarded.
    dup = await client.post(
        AWARD, json={**body, "idempotency_key": "award-000002"}, headers=admin.headers
    )
    assert (dup.json()["status"], dup.json()["entry_id"]) == ("duplicate", first.json()["entry_id"])
    assert await balance_of(platform.pool, user.id) == 200


async def test_award_endpoint_manual_adjustments_and_validation(
    client, platform: Platform, make_user
) -> None:
    admin, user = await make_user(role=Role.ADMIN), await make_user()
    ok = await client.post(
        AWARD,
        json={
            "user_id": str(user.id),
            "change": 75,
            "reason_code": "goodwill",
            "idempotency_key": "award-000003",
        },
        headers=admin.headers,
    )
    assert (ok.json()["status"], ok.json()["balance"]) == ("posted", 75)
    too_much = await client.post(
        AWARD,
        json={
            "user_id": str(user.id),
            "change": -100,
            "reason_code": "correction",
            "idempotency_key": "award-000004",
        },
        headers=admin.headers,
    )
    assert too_much.status_code == 409
    cases = [
        ({"user_id": str(user.id), "idempotency_key": "award-000005"}, "rule_code"),
        (
            {
                "user_id": str(user.id),
                "rule_code": "nope",
                "related_entity_id": "x",
                "idempotency_key": "award-000006",
            },
            "rule_code",
        ),
        (
            {
                "user_id": str(user.id),
                "rule_code": "lesson_completed",
                "idempotency_key": "award-000007",
            },
            "related_entity_id",
        ),
        ({"user_id": str(user.id), "change": 5, "idempotency_key": "award-000008"}, "reason_code"),
    ]
    for body, field in cases:
        r = await client.post(AWARD, json=body, headers=admin.headers)
        assert r.status_code == 422, body
        assert r.json()["errors"][0]["field"] == field
    missing = await client.post(
        AWARD,
        json={
            "user_id": str(uuid.uuid4()),
            "change": 5,
            "reason_code": "x_y",
            "idempotency_key": "award-000009",
        },
        headers=admin.headers,
    )
    assert missing.status_code == 404
    assert await balance_of(platform.pool, user.id) == 75


async def test_leaderboard_badges_and_streak_endpoints(
    client, platform: Platform, make_user
) -> None:
    user = await make_user()
    await send(platform, "lesson.completed", user_id=user.id, lesson_id="l1")
    await drain(platform)
    board = (await client.get("/api/v1/points/leaderboards/weekly")).json()
    assert board["rows"] == [{"rank": 1, "user_id": str(user.id), "points": 10}]
    assert (await client.get("/api/v1/points/leaderboards/yearly")).status_code == 404
    badges = (await client.get("/api/v1/points/badges", headers=user.headers)).json()
    assert [b["badge"] for b in badges] == ["first_lesson"]
    streak = (await client.get("/api/v1/points/streak", headers=user.headers)).json()
    assert streak["current_days"] == 1


async def test_rule_versions_and_events_are_admin_only(
    client, platform: Platform, make_user
) -> None:
    admin, user = await make_user(role=Role.ADMIN), await make_user()
    url = "/api/v1/points/rules/email_click/versions"
    assert (await client.post(url, json={"points": 3}, headers=user.headers)).status_code == 403
    r = await client.post(url, json={"points": 3, "daily_limit": 30}, headers=admin.headers)
    assert (r.status_code, r.json()["version"], r.json()["points"], r.json()["daily_limit"]) == (
        201,
        2,
        3,
        30,
    )
    assert (
        await client.post(
            "/api/v1/points/rules/nope/versions", json={"points": 3}, headers=admin.headers
        )
    ).status_code == 404
    event = {
        "name": "Share week",
        "rule_codes": ["social_share"],
        "multiplier_pct": 150,
        "starts_at": "2026-01-05T00:00:00Z",
        "ends_at": "2026-01-12T00:00:00Z",
    }
    created = await client.post("/api/v1/points/events", json=event, headers=admin.headers)
    assert created.status_code == 201
    rules = (await client.get("/api/v1/points/rules")).json()
    assert [e["name"] for e in rules["events"]] == ["Share week"]
    backwards = {**event, "ends_at": "2026-01-01T00:00:00Z"}
    assert (
        await client.post("/api/v1/points/events", json=backwards, headers=admin.headers)
    ).status_code == 422
    # Each change is in the audit log with the admin who made it; refusals are not.
    [(actor, target, details)] = await audit_trail(platform.pool, "points.rule_changed")
    assert (actor, target) == (admin.id, "points_rule:email_click")
    assert details == {"version": 2, "changes": {"points": 3, "daily_limit": 30}}
    [(actor, target, details)] = await audit_trail(platform.pool, "points.event_created")
    assert (actor, target) == (admin.id, f"points_event:{created.json()['id']}")
    assert (details["name"], details["multiplier_pct"]) == ("Share week", 150)
