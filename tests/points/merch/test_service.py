"""Merch bought with points: the catalogue admins keep; a merch redemption places an order
in its own transaction (the item in stock, at its price, to the member's profile address,
or nothing is spent); admins move the order one step at a time, audited, and cancelling
before it ships gives the points and the item back, once."""

from __future__ import annotations

import uuid
from typing import Any

from dracarys.identity import Role
from dracarys.platform import Platform
from tests.points.conftest import balance_of
from tests.support import audit_trail, give_points

URL = "/api/v1/wallet/convert-points"
ADMIN = "/api/v1/admin/points/merch"
ADDRESS = {"line1": "Kenyatta Avenue 12", "city": "Nairobi", "postal_code": "00100"}


async def _member_with_address(client: Any, platform: Platform, make_user: Any) -> Any:
    member = await make_user()
    # The profile row sign-up makes (the test's account is the row alone).
    await platform.pool.execute(
        "INSERT INTO user_profiles (user_id, updated_at) VALUES ($1, now())", member.id
    )
    saved = await client.patch(
        f"/api/v1/users/{member.id}/profile",
        json={"address": ADDRESS, "country": "KE"},
        headers=member.headers,
    )
    assert saved.status_code == 200, saved.text
    return member


async def _stock(client: Any, admin: Any, code: str, **item: Any) -> dict[str, Any]:
    response = await client.put(f"{ADMIN}/items/{code}", json=item, headers=admin.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _redeem(client: Any, member: Any, points: int, code: str) -> Any:
    return await client.post(
        URL,
        json={"points": points, "target": "merch", "target_ref": code},
        headers={**member.headers, "Idempotency-Key": str(uuid.uuid4())},
    )


async def test_an_order_is_placed_at_the_price_from_stock_to_the_profile_address(
    client, platform: Platform, make_user
) -> None:
    admin = await make_user(role=Role.ADMIN, two_factor=True)
    await _stock(client, admin, "mug", name="Mug", points=2_500, stock=1)
    await _stock(client, admin, "old-cap", name="Old cap", points=100, active=False)
    member = await _member_with_address(client, platform, make_user)
    await give_points(platform, member.id, 10_000)

    catalogue = (await client.get("/api/v1/points/merch", headers=member.headers)).json()
    assert [(i["code"], i["points"], i["stock"]) for i in catalogue] == [("mug", 2_500, 1)]

    wrong_price = await _redeem(client, member, 2_000, "mug")
    assert wrong_price.status_code == 422
    assert wrong_price.json()["errors"][0] == {
        "field": "points",
        "message": "“Mug” costs 2,500 points",
    }
    unknown = await _redeem(client, member, 100, "old-cap")
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "target_ref"
    assert await balance_of(platform.pool, member.id) == 10_000  # nothing spent

    placed = await _redeem(client, member, 2_500, "mug")
    assert placed.status_code == 201, placed.text
    assert await balance_of(platform.pool, member.id) == 7_500
    sold_out = await _redeem(client, member, 2_500, "mug")
    assert sold_out.status_code == 422
    assert "“Mug” is sold out" in sold_out.text
    assert await balance_of(platform.pool, member.id) == 7_500

    [mine] = (await client.get("/api/v1/points/merch/orders", headers=member.headers)).json()
    assert (mine["item_name"], mine["status"], mine["ship_to"]) == ("Mug", "ordered", None)
    [queued] = (await client.get(f"{ADMIN}/orders", headers=admin.headers)).json()
    assert queued["redemption_id"] == placed.json()["id"]
    assert queued["ship_to"]["lines"] == ["Kenyatta Avenue 12", "00100 Nairobi"]
    assert queued["ship_to"]["country"] == "KE"
    # Members see their own orders only; the queue is for admins.
    assert (await client.get(f"{ADMIN}/orders", headers=member.headers)).status_code == 403


async def test_without_an_address_nothing_is_ordered_or_spent(
    client, platform: Platform, make_user
) -> None:
    admin = await make_user(role=Role.ADMIN, two_factor=True)
    await _stock(client, admin, "journal", name="Journal", points=400, stock=5)
    member = await make_user()
    await give_points(platform, member.id, 1_000)
    refused = await _redeem(client, member, 400, "journal")
    assert refused.status_code == 409
    assert "add one on your Account page" in refused.json()["detail"]
    assert await balance_of(platform.pool, member.id) == 1_000
    items = (await client.get(f"{ADMIN}/items", headers=admin.headers)).json()
    assert [i["stock"] for i in items] == [5]


async def test_admins_move_orders_a_step_at_a_time_and_a_cancel_refunds_once(
    client, platform: Platform, make_user
) -> None:
    admin = await make_user(role=Role.ADMIN, two_factor=True)
    await _stock(client, admin, "tee", name="T-shirt", points=600, stock=3)
    member = await _member_with_address(client, platform, make_user)
    await give_points(platform, member.id, 2_000)
    first = (await _redeem(client, member, 600, "tee")).json()["id"]
    second = (await _redeem(client, member, 600, "tee")).json()["id"]
    assert await balance_of(platform.pool, member.id) == 800
    assert await audit_trail(platform.pool, "points.merch_item_saved") == [
        (admin.id, "merch:tee", {"points": 600, "active": True})
    ]

    async def move(order: str, **body: Any) -> Any:
        return await client.post(f"{ADMIN}/orders/{order}/status", json=body, headers=admin.headers)

    skipped = await move(first, status="shipped")
    assert skipped.status_code == 409
    assert skipped.json()["errors"][0] == {
        "field": "status",
        "message": "an order that is ordered can move to cancelled, packed",
    }
    assert (await move(first, status="packed")).json()["status"] == "packed"
    shipped = (await move(first, status="shipped", tracking="DHL 123456")).json()
    assert (shipped["status"], shipped["tracking"]) == ("shipped", "DHL 123456")
    assert (await move(first, status="cancelled")).status_code == 409  # too late
    assert (await move(first, status="delivered")).json()["status"] == "delivered"

    assert (await move(second, status="cancelled")).json()["status"] == "cancelled"
    again = await move(second, status="cancelled")
    assert again.status_code == 409
    assert await balance_of(platform.pool, member.id) == 1_400  # 600 back, once
    items = (await client.get(f"{ADMIN}/items", headers=admin.headers)).json()
    assert [i["stock"] for i in items] == [2]  # one back on the shelf
    member_sees = (await client.get("/api/v1/points/merch/orders", headers=member.headers)).json()
    assert sorted(o["status"] for o in member_sees) == ["cancelled", "delivered"]
    audited = await platform.pool.fetch(
        "SELECT action, target FROM audit_log WHERE actor_id = $1 ORDER BY position", admin.id
    )
    assert [a["action"] for a in audited].count("points.merch_order_moved") == 4
    assert (await move(str(uuid.uuid4()), status="packed")).status_code == 404
    # Only admins move orders.
    member_try = await client.post(
        f"{ADMIN}/orders/{first}/status", json={"status": "packed"}, headers=member.headers
    )
    assert member_try.status_code == 403
