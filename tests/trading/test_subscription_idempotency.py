"""Subscribing to a paid signal feed moves money (the first period into escrow), so it
carries an idempotency key like every money-moving call: header or body, applied once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from dracarys.identity import Role
from tests.idempotency import check_idempotent_route
from tests.support import TestUser, fund_wallet
from tests.trading.conftest import API, Desk

MakeUser = Callable[..., Awaitable[TestUser]]


async def test_concurrent_subscribes_with_one_key_pay_one_period_and_a_new_body_is_422(
    desk: Desk, make_user: MakeUser
) -> None:
    mentor = await make_user(role=Role.MENTOR)
    mentee = await make_user()
    plan = await desk.client.put(
        f"{API}/feed-plan",
        json={"monthly_price_minor": 250_000, "currency": "KES"},
        headers=mentor.headers,
    )
    assert plan.status_code == 200, plan.text
    await desk.acknowledge(mentee)
    await fund_wallet(desk.platform.pool, mentee.id, "KES", 1_000_000, desk.clock.now())
    portfolio = await desk.portfolio(mentee)

    async def escrows() -> int:
        count: int = await desk.platform.pool.fetchval(
            "SELECT count(*) FROM escrows WHERE payer_id = $1", mentee.id
        )
        return count

    first = await check_idempotent_route(
        desk.client,
        f"{API}/mentors/{mentor.id}/subscriptions",
        body={},
        changed_body={"mirror": {"portfolio_id": portfolio["id"]}},
        headers=mentee.headers,
        effects=escrows,
    )
    assert first.json()["billing_status"] == "paid"
    rows = await desk.fetch("SELECT id FROM signal_subscriptions")
    assert [str(r["id"]) for r in rows] == [first.json()["id"]]
