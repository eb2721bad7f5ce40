"""Redemption through `POST /api/v1/wallet/convert-points`: discounts are immediate,
cash-equivalent targets need KYC level 2 and a 30-day hold, every redemption is a ledger
entry, idempotency keys replay, and nothing half-applies."""

from __future__ import annotations

import uuid
from datetime import timedelta

from dracarys.clock import ManualClock
from dracarys.identity import Role
from dracarys.platform import Platform
from dracarys.points.ledger import service as ledger
from dracarys.points.redemption import service as redemption
from tests.points.conftest import balance_of, deliver, entries, event, ledger_sum, outbox_topics

URL = "/api/v1/wallet/convert-points"


async def _give(platform: Platform, user: uuid.UUID, points: int) -> None:
    async with platform.pool.acquire() as conn, conn.transaction():
        await ledger.adjust(
            conn,
            platform,
            user_id=user,
            change=points,
            reason_code="adjustment",
            related_entity=None,
            key=f"seed:{uuid.uuid4()}",
            source_ip=None,
        )


async def test_discount_is_immediate_and_a_ledger_entry(
    client, platform: Platform, make_user
) -> None:
    user = await make_user(role=Role.MENTEE, kyc_level=0)
    await _give(platform, user.id, 1000)
    response = await client.post(
        URL,
        json={"points": 300, "target": "discount", "idempotency_key": "redeem-0001"},
        headers=user.headers,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["status"], body["balance"], body["value_minor"], body["currency"]) == (
        "fulfilled",
        700,
        300,
        "KES",
    )
    assert body["discount_code"].startswith("PTS-")
    last = (await entries(platform.pool, user.id))[-1]
    assert (last["delta"], last["reason_code"], last["related_entity"]) == (
        -300,
        "redemption",
        body["id"],
    )
    assert await ledger_sum(platform.pool, user.id) == 700


async def test_same_key_replays_and_a_different_body_is_422(
    client, platform: Platform, make_user
) -> None:
    user = await make_user(kyc_level=0)
    await _give(platform, user.id, 1000)
    first = await client.post(
        URL,
        json={"points": 100, "target": "discount", "idempotency_key": "redeem-0002"},
        headers=user.headers,
    )
    again = await client.post(
        URL,
        json={"points": 100, "target": "discount", "idempotency_key": "redeem-0002"},
        headers=user.headers,
    )
    assert again.json()["id"] == first.json()["id"]
    other = await client.post(
        URL,
        json={"points": 200, "target": "discount", "idempotency_key": "redeem-0002"},
        headers=user.headers,
    )
    assert other.status_code == 422
    assert other.json()["errors"][0]["field"] == "idempotency_key"
    assert await balance_of(platform.pool, user.id) == 900


async def test_cash_equivalent_targets_need_kyc_level_2(
    client, platform: Platform, make_user
) -> None:
    user = await make_user(kyc_level=1)
    await _give(platform, user.id, 1000)
    for target in ("credit", "mentor_credit"):
        response = await client.post(
            URL,
            json={"points": 100, "target": target, "idempotency_key": f"redeem-{target}"},
            headers=user.headers,
        )
        assert response.status_code == 403
        assert response.json()["errors"][0]["field"] == "target"
    assert await balance_of(platform.pool, user.id) == 1000
    assert await platform.pool.fetchval("SELECT count(*) FROM points_redemptions") == 0


async def test_credit_is_held_30_days_then_released_to_the_wallet_as_a_pending_credit(
    client, platform: Platform, clock: ManualClock, make_user
) -> None:
    user = await make_user(kyc_level=2)
    await _give(platform, user.id, 1000)
    response = await client.post(
        URL,
        json={"points": 400, "target": "credit", "idempotency_key": "redeem-cred"},
        headers=user.headers,
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["status"], body["balance"]) == ("held", 600)
    clock.advance(timedelta(days=29))
    assert await redemption.release_held_redemptions(platform) == 0
    clock.advance(timedelta(days=1, seconds=1))
    assert await redemption.release_held_redemptions(platform) == 1
    assert await redemption.release_held_redemptions(platform) == 0
    credit = await platform.pool.fetchrow("SELECT * FROM points_wallet_credits")
    assert (credit["amount_minor"], credit["currency"], credit["status"], credit["purpose"]) == (
        400,
        "KES",
        "pending",
        "wallet",
    )
    assert await outbox_topics(platform.pool, "points.redeemed_for_credit") == [
        {
            "user_id": str(user.id),
            "redemption_id": body["id"],
            "amount_minor": 400,
            "currency": "KES",
            "purpose": "wallet",
        }
    ]
    # The wallet reports the credit landed.
    await deliver(platform, [event("points.credit_landed", {"redemption_id": body["id"]})])
    assert await platform.pool.fetchval("SELECT status FROM points_wallet_credits") == "landed"


async def test_not_enough_points_is_409_and_leaves_nothing_behind(
    client, platform: Platform, make_user
) -> None:
    user = await make_user()
    await _give(platform, user.id, 50)
    response = await client.post(
        URL,
        json={"points": 51, "target": "discount", "idempotency_key": "redeem-0003"},
        headers=user.headers,
    )
    assert response.status_code == 409
    assert await platform.pool.fetchval("SELECT count(*) FROM points_redemptions") == 0
    assert await balance_of(platform.pool, user.id) == 50
    # The same key can be used once the user has enough.
    await _give(platform, user.id, 10)
    response = await client.post(
        URL,
        json={"points": 51, "target": "discount", "idempotency_key": "redeem-0003"},
        headers=user.headers,
    )
    assert response.status_code == 201


async def test_course_unlock_and_merch_need_a_target_ref(
    client, platform: Platform, make_user
) -> None:
    # Merch's own rules (catalogue, price, stock, address) are in tests/points/merch.
    user = await make_user()
    await _give(platform, user.id, 500)
    for target in ("course_unlock", "merch"):
        missing = await client.post(
            URL,
            json={"points": 100, "target": target, "idempotency_key": f"redeem-no-{target}"},
            headers=user.headers,
        )
        assert missing.status_code == 422
        assert missing.json()["errors"][0]["field"] == "target_ref"
    # A course is named by its id (the unlock itself is tested in tests/checkout).
    not_an_id = await client.post(
        URL,
        json={
            "points": 100,
            "target": "course_unlock",
            "target_ref": "course-42",
            "idempotency_key": "redeem-course_unlock",
        },
        headers=user.headers,
    )
    assert not_an_id.status_code == 422
    assert not_an_id.json()["errors"][0] == {
        "field": "target_ref",
        "message": "`target_ref` is the id of the course to unlock",
    }
    assert await outbox_topics(platform.pool, "points.redeemed") == []


async def test_unknown_fields_and_bad_targets_are_422(client, make_user) -> None:
    user = await make_user()
    for body in (
        {"points": 1, "target": "cash", "idempotency_key": "redeem-0005"},
        {"points": 0, "target": "discount", "idempotency_key": "redeem-0005"},
        {
            "points": 1,
            "target": "discount",
            "idempotency_key": "redeem-0005",
            "user_id": str(uuid.uuid4()),
        },
    ):
        assert (await client.post(URL, json=body, headers=user.headers)).status_code == 422
    assert (
        await client.post(
            URL, json={"points": 1, "target": "discount", "idempotency_key": "redeem-0006"}
        )
    ).status_code == 401
