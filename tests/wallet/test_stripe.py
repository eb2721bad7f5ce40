"""Card deposits through Stripe Checkout: the real SDK talks to the local simulator, and
signed webhooks come back, repeated, concurrent and out of order."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from dracarys.clock import ManualClock
from dracarys.identity.access import Role
from dracarys.wallet import ledger
from tests.support import AppClient, TestUser
from tests.wallet.conftest import outbox_events
from tests.wallet.simulators import StripeSimulator

Client = AppClient
MakeUser = Callable[..., Awaitable[TestUser]]


async def _deposit(client: Client, user: TestUser, amount: int, currency: str, key: str) -> Any:
    response = await client.post(
        f"/api/v1/wallets/{user.id}/deposits",
        json={
            "method": "stripe",
            "amount_minor": amount,
            "currency": currency,
            "idempotency_key": key,
        },
        headers=user.headers,
    )
    assert response.status_code == 201, response.text
    return response.json()


async def _balances(client: Client, user: TestUser) -> dict[str, dict[str, int]]:
    response = await client.get(f"/api/v1/wallets/{user.id}/balances", headers=user.headers)
    assert response.status_code == 200, response.text
    return {b["currency"]: b for b in response.json()["balances"]}


async def test_each_webhook_delivered_five_times_concurrently_and_out_of_order_has_one_effect(
    client: Client,
    make_user: MakeUser,
    stripe_sim: StripeSimulator,
    clock: ManualClock,
    pool: asyncpg.Pool,
) -> None:
    user = await make_user(role=Role.MENTEE)
    paid_kes = await _deposit(client, user, 500_000, "KES", "dep-kes-00001")
    expired_usd = await _deposit(client, user, 2_500, "USD", "dep-usd-00001")
    paid_usd = await _deposit(client, user, 4_000, "USD", "dep-usd-00002")
    assert paid_kes["checkout_url"].startswith("https://checkout.stripe.com/")
    balances = await _balances(client, user)
    assert balances["KES"]["pending_in_minor"] == 500_000
    assert balances["KES"]["available_minor"] == 0

    now = int(clock.now().timestamp())
    events = [
        stripe_sim.pay(paid_kes["provider_ref"], now),
        stripe_sim.expire(expired_usd["provider_ref"], now),
        stripe_sim.pay(paid_usd["provider_ref"], now),
    ]
    deliveries = [stripe_sim.signed(e, now) for e in events for _ in range(5)]
    random.Random(5).shuffle(deliveries)
    responses = await asyncio.gather(
        *(
            client.post("/api/v1/webhooks/stripe", content=body, headers=headers)
            for body, headers in deliveries
        )
    )
    assert [r.status_code for r in responses] == [200] * 15
    assert sum(not r.json()["duplicate"] for r in responses) == 3

    balances = await _balances(client, user)
    assert (balances["KES"]["available_minor"], balances["KES"]["pending_in_minor"]) == (500_000, 0)
    assert (balances["USD"]["available_minor"], balances["USD"]["pending_in_minor"]) == (4_000, 0)
    completed = await outbox_events(pool, "deposit.completed")
    assert sorted(e["amount_minor"] for e in completed) == [4_000, 500_000]
    assert sorted(e["first_deposit"] for e in completed) == [False, True]
    status = await client.get(f"/api/v1/deposits/{expired_usd['id']}", headers=user.headers)
    assert status.json()["status"] == "failed"
    # A late, stale "expired" for a paid session changes nothing.
    late = stripe_sim.expire(paid_kes["provider_ref"], now)
    body, headers = stripe_sim.signed(late, now)
    assert (
        await client.post("/api/v1/webhooks/stripe", content=body, headers=headers)
    ).status_code == 200
    assert (await _balances(client, user))["KES"]["available_minor"] == 500_000
    async with pool.acquire() as conn:
        assert (await ledger.check_ledger(conn)).problems == []


async def test_tampered_body_or_301_second_old_signature_is_rejected_with_400(
    client: Client,
    make_user: MakeUser,
    stripe_sim: StripeSimulator,
    clock: ManualClock,
) -> None:
    user = await make_user()
    deposit = await _deposit(client, user, 10_000, "KES", "dep-tamper-01")
    now = int(clock.now().timestamp())
    event = stripe_sim.pay(deposit["provider_ref"], now)
    body, headers = stripe_sim.signed(event, now)
    tampered = body.replace(b'"amount_total":10000', b'"amount_total":99999')
    assert tampered != body
    rejected = await client.post("/api/v1/webhooks/stripe", content=tampered, headers=headers)
    assert rejected.status_code == 400
    assert rejected.headers["content-type"].startswith("application/problem+json")
    stale_body, stale_headers = stripe_sim.signed(event, now - 301)
    stale = await client.post("/api/v1/webhooks/stripe", content=stale_body, headers=stale_headers)
    assert stale.status_code == 400
    unsigned = await client.post("/api/v1/webhooks/stripe", content=body)
    assert unsigned.status_code == 400
    assert (await _balances(client, user))["KES"]["available_minor"] == 0

    # 299 seconds old, signed with the outgoing and a wrong secret beside the right one
    # (as during a rotation): accepted once.
    rotated_body, rotated_headers = stripe_sim.signed(
        event, now - 299, secrets_=["whsec_not_ours", stripe_sim.webhook_secrets[0]]
    )
    ok = await client.post("/api/v1/webhooks/stripe", content=rotated_body, headers=rotated_headers)
    assert ok.status_code == 200, ok.text
    assert (await _balances(client, user))["KES"]["available_minor"] == 10_000


async def test_card_refund_reserves_at_once_and_settles_on_the_refund_webhook(
    client: Client,
    make_user: MakeUser,
    stripe_sim: StripeSimulator,
    clock: ManualClock,
    pool: asyncpg.Pool,
) -> None:
    user = await make_user()
    admin = await make_user(role=Role.ADMIN)
    deposit = await _deposit(client, user, 30_000, "USD", "dep-refund-01")
    now = int(clock.now().timestamp())
    body, headers = stripe_sim.signed(stripe_sim.pay(deposit["provider_ref"], now), now)
    assert (
        await client.post("/api/v1/webhooks/stripe", content=body, headers=headers)
    ).status_code == 200

    refund = await client.post(
        f"/api/v1/admin/deposits/{deposit['id']}/refund",
        json={"amount_minor": 12_000, "idempotency_key": "refund-key-01"},
        headers=admin.headers,
    )
    assert refund.status_code == 200, refund.text
    assert refund.json()["status"] == "pending"
    usd = (await _balances(client, user))["USD"]
    assert (usd["available_minor"], usd["pending_out_minor"]) == (18_000, 12_000)
    too_much = await client.post(
        f"/api/v1/admin/deposits/{deposit['id']}/refund",
        json={"amount_minor": 18_001, "idempotency_key": "refund-key-02"},
        headers=admin.headers,
    )
    assert too_much.status_code == 422

    [stripe_refund] = [
        r
        for r in stripe_sim.refunds.values()
        if r["metadata"].get("refund_id")
        and r["amount"] == 12_000
        and r["payment_intent"] == stripe_sim.sessions[deposit["provider_ref"]]["payment_intent"]
    ]
    settled = stripe_sim.settle_refund(stripe_refund["id"], "succeeded", now)
    for _ in range(3):
        body, headers = stripe_sim.signed(settled, now)
        assert (
            await client.post("/api/v1/webhooks/stripe", content=body, headers=headers)
        ).status_code == 200
    usd = (await _balances(client, user))["USD"]
    assert (usd["available_minor"], usd["posted_minor"], usd["pending_out_minor"]) == (
        18_000,
        18_000,
        0,
    )
    refunds = await outbox_events(pool, "refund.issued")
    assert [(r["related_id"], r["amount_minor"]) for r in refunds] == [(deposit["id"], 12_000)]


async def test_an_event_for_a_deposit_not_recorded_yet_is_refused_so_stripe_retries_it(
    client: Client,
    stripe_sim: StripeSimulator,
    clock: ManualClock,
    pool: asyncpg.Pool,
) -> None:
    now = int(clock.now().timestamp())
    orphan = stripe_sim.event(
        "checkout.session.completed",
        {
            "id": "cs_test_orphan",
            "object": "checkout.session",
            "payment_status": "paid",
            "amount_total": 100,
            "currency": "kes",
            "metadata": {"deposit_id": str(uuid.uuid4())},
        },
        now,
    )
    body, headers = stripe_sim.signed(orphan, now)
    response = await client.post("/api/v1/webhooks/stripe", content=body, headers=headers)
    assert response.status_code == 503
    assert await pool.fetchval("SELECT count(*) FROM stripe_events") == 0
