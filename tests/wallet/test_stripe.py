"""Card deposits through Stripe Checkout: the real SDK talks to the local simulator, and
signed webhooks come back, repeated, concurrent and out of order."""

from __future__ import annotations

import asyncio
import hashlib
import random
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from dracarys.clock import ManualClock
from dracarys.identity import Role
from dracarys.payments.sandbox import StripeSimulator
from dracarys.wallet.ledger import service as ledger
from dracarys.wallet.ledger.models import AccountCode, TransferKind, TransferSpec
from tests.support import AppClient, TestUser, audit_trail
from tests.wallet.conftest import outbox_events

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


async def _deliver(client: Client, stripe_sim: StripeSimulator, event: Any, now: int) -> None:
    body, headers = stripe_sim.signed(event, now)
    response = await client.post("/api/v1/webhooks/stripe", content=body, headers=headers)
    assert response.status_code == 200, response.text


async def _paid_deposit(
    client: Client, stripe_sim: StripeSimulator, user: TestUser, amount: int, now: int, key: str
) -> Any:
    deposit = await _deposit(client, user, amount, "USD", key)
    await _deliver(client, stripe_sim, stripe_sim.pay(deposit["provider_ref"], now), now)
    return deposit


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
    await _deliver(client, stripe_sim, late, now)
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
    now = int(clock.now().timestamp())
    deposit = await _paid_deposit(client, stripe_sim, user, 30_000, now, "dep-refund-01")

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
    [(actor, target, details)] = await audit_trail(pool, "card_deposit.refunded")
    assert (actor, target) == (admin.id, f"deposit:{deposit['id']}")
    assert (details["user_id"], details["amount_minor"]) == (str(user.id), 12_000)

    [stripe_refund] = [
        r
        for r in stripe_sim.refunds.values()
        if r["metadata"].get("refund_id")
        and r["amount"] == 12_000
        and r["payment_intent"] == stripe_sim.sessions[deposit["provider_ref"]]["payment_intent"]
    ]
    settled = stripe_sim.settle_refund(stripe_refund["id"], "succeeded", now)
    for _ in range(3):
        await _deliver(client, stripe_sim, settled, now)
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


async def test_a_chargeback_holds_the_disputed_amount_and_a_won_one_releases_it(
    client: Client,
    make_user: MakeUser,
    stripe_sim: StripeSimulator,
    clock: ManualClock,
    pool: asyncpg.Pool,
) -> None:
    user = await make_user()
    admin = await make_user(role=Role.ADMIN)
    now = int(clock.now().timestamp())
    deposit = await _paid_deposit(client, stripe_sim, user, 30_000, now, "dep-dispute-01")
    session = deposit["provider_ref"]

    await _deliver(
        client, stripe_sim, stripe_sim.dispute(session, "charge.dispute.created", now), now
    )
    usd = (await _balances(client, user))["USD"]
    assert (usd["available_minor"], usd["pending_out_minor"]) == (0, 30_000)
    listed = await client.get("/api/v1/admin/chargebacks", headers=admin.headers)
    assert listed.status_code == 200, listed.text
    [open_one] = listed.json()
    assert (open_one["status"], open_one["held_minor"], open_one["deposit_id"]) == (
        "open",
        30_000,
        deposit["id"],
    )
    assert (await client.get("/api/v1/admin/chargebacks", headers=user.headers)).status_code == 403

    closed = stripe_sim.dispute(session, "charge.dispute.closed", now, status="won")
    await _deliver(client, stripe_sim, closed, now)
    usd = (await _balances(client, user))["USD"]
    assert (usd["available_minor"], usd["pending_out_minor"]) == (30_000, 0)
    [won] = (await client.get("/api/v1/admin/chargebacks", headers=admin.headers)).json()
    assert (won["status"], won["unrecovered_minor"]) == ("won", 0)
    assert [e["status"] for e in await outbox_events(pool, "chargeback.closed")] == ["won"]
    assert await outbox_events(pool, "refund.issued") == []


async def test_a_lost_chargeback_takes_what_the_wallet_holds_and_records_the_rest_in_any_order(
    client: Client,
    make_user: MakeUser,
    stripe_sim: StripeSimulator,
    clock: ManualClock,
    pool: asyncpg.Pool,
) -> None:
    user = await make_user()
    now = int(clock.now().timestamp())
    deposit = await _paid_deposit(client, stripe_sim, user, 30_000, now, "dep-dispute-02")
    # The user spent most of it before the bank's dispute arrived.
    async with pool.acquire() as conn:
        spent_at = clock.now()
        await ledger.create_transfer(
            conn,
            TransferSpec(
                idempotency_key="spent-before-dispute",
                code="purchase",
                kind=TransferKind.SINGLE_PHASE,
                debit_account_id=await ledger.wallet_account(conn, user.id, "USD", spent_at),
                credit_account_id=await ledger.platform_account(
                    conn, AccountCode.PLATFORM_REVENUE, "USD", spent_at
                ),
                amount_minor=25_000,
                currency="USD",
            ),
            now=spent_at,
        )
    session = deposit["provider_ref"]
    opened = stripe_sim.dispute(session, "charge.dispute.created", now)
    lost = stripe_sim.dispute(session, "charge.dispute.closed", now, status="lost")
    # Stripe's order is not guaranteed: the closing event first, each one three times.
    for event in (lost, opened, lost, opened, opened, lost):
        await _deliver(client, stripe_sim, event, now)

    usd = (await _balances(client, user))["USD"]
    assert (usd["available_minor"], usd["pending_out_minor"]) == (0, 0)
    row = await pool.fetchrow(
        "SELECT * FROM card_chargebacks WHERE deposit_id = $1", uuid.UUID(deposit["id"])
    )
    assert row is not None
    assert (row["status"], row["held_minor"], row["unrecovered_minor"]) == ("lost", 5_000, 25_000)
    [refund] = await outbox_events(pool, "refund.issued")
    assert refund["related_id"] == deposit["id"]
    assert len(await outbox_events(pool, "chargeback.opened")) == 1
    async with pool.acquire() as conn:
        assert (await ledger.check_ledger(conn)).problems == []


async def test_a_dispute_for_a_payment_that_is_not_ours_changes_nothing(
    client: Client,
    make_user: MakeUser,
    stripe_sim: StripeSimulator,
    clock: ManualClock,
    pool: asyncpg.Pool,
) -> None:
    user = await make_user()
    now = int(clock.now().timestamp())
    deposit = await _deposit(client, user, 1_000, "USD", "dep-dispute-03")
    stripe_sim.sessions[deposit["provider_ref"]]["payment_intent"] = "pi_someone_elses"
    event = stripe_sim.dispute(deposit["provider_ref"], "charge.dispute.created", now)
    await _deliver(client, stripe_sim, event, now)
    assert await pool.fetchval("SELECT count(*) FROM card_chargebacks") == 0


async def test_a_signature_header_with_non_ascii_bytes_is_a_400_not_a_crash(
    client: Client, make_user: MakeUser, stripe_sim: StripeSimulator, clock: ManualClock
) -> None:
    """Found by the stripe_webhook fuzz target: the endpoint is open to anyone, and a
    `v1=` value with a non-ASCII byte made `hmac.compare_digest` raise (a 500)."""
    user = await make_user()
    deposit = await _deposit(client, user, 10_000, "KES", "dep-nonascii-1")
    now = int(clock.now().timestamp())
    body, _ = stripe_sim.signed(stripe_sim.pay(deposit["provider_ref"], now), now)
    header = f"t={now},v1=".encode() + "\u00e5\u00c1".encode("latin-1")
    response = await client.post(
        "/api/v1/webhooks/stripe", content=body, headers=[(b"stripe-signature", header)]
    )
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert (await _balances(client, user))["KES"]["available_minor"] == 0


async def test_an_event_object_of_another_shape_is_refused_naming_the_field(
    client: Client, make_user: MakeUser, stripe_sim: StripeSimulator, clock: ManualClock
) -> None:
    user = await make_user()
    deposit = await _deposit(client, user, 10_000, "KES", "dep-shape-01")
    now = int(clock.now().timestamp())
    event = stripe_sim.pay(deposit["provider_ref"], now)
    event["data"]["object"]["amount_total"] = "ten thousand"
    body, headers = stripe_sim.signed(event, now)
    response = await client.post("/api/v1/webhooks/stripe", content=body, headers=headers)
    assert response.status_code == 400, response.text
    assert "amount_total" in response.json()["detail"]
    assert (await _balances(client, user))["KES"]["available_minor"] == 0


async def test_a_paid_card_deposit_keeps_a_digest_of_the_cards_fingerprint_not_the_fingerprint(
    client: Client,
    make_user: MakeUser,
    stripe_sim: StripeSimulator,
    clock: ManualClock,
    pool: asyncpg.Pool,
) -> None:
    """The wallet asks Stripe for the paying card's fingerprint (the payment intent with
    its latest charge expanded) and keeps sha256("card:" + fingerprint): one card number
    gives one digest on every deposit, another card another."""
    first, second = await make_user(), await make_user()
    now = int(clock.now().timestamp())
    seen = len(stripe_sim.requests)  # the simulator serves the whole session
    deposits, events = [], []
    for user, card, key in (
        (first, "4242 4242 4242 4242", "dep-card-fp-01"),
        (second, "4242424242424242", "dep-card-fp-02"),
        (second, "5555 5555 5555 4444", "dep-card-fp-03"),
    ):
        deposit = await _deposit(client, user, 3_000, "USD", key)
        event = stripe_sim.pay(deposit["provider_ref"], now, card_number=card)
        await _deliver(client, stripe_sim, event, now)
        deposits.append(deposit)
        events.append(event)
    rows = {
        r["id"]: r
        for r in await pool.fetch(
            "SELECT id, status, card_digest FROM wallet_deposits WHERE id = ANY($1::uuid[])",
            [uuid.UUID(d["id"]) for d in deposits],
        )
    }
    digests = [rows[uuid.UUID(d["id"])]["card_digest"] for d in deposits]
    assert all(rows[uuid.UUID(d["id"])]["status"] == "completed" for d in deposits)
    assert digests[0] is not None
    assert digests[0] == digests[1] != digests[2]
    fingerprint = stripe_sim.card_fingerprint("4242424242424242")
    assert digests[0] == hashlib.sha256(f"card:{fingerprint}".encode()).hexdigest()
    lookups = [
        (m, p) for m, path, p in stripe_sim.requests[seen:] if path.startswith("payment_intents/")
    ]
    assert lookups == [("GET", {"expand": ["latest_charge"]})] * 3

    # Delivered again: no second lookup, the digest stays.
    await _deliver(client, stripe_sim, events[2], now)
    after = [p for _, p, _ in stripe_sim.requests[seen:] if p.startswith("payment_intents/")]
    assert len(after) == 3
    stored = await pool.fetchval(
        "SELECT card_digest FROM wallet_deposits WHERE id = $1", uuid.UUID(deposits[2]["id"])
    )
    assert stored == digests[2]


async def test_a_card_deposit_completes_when_stripe_cannot_say_which_card_paid(
    client: Client,
    make_user: MakeUser,
    stripe_sim: StripeSimulator,
    clock: ManualClock,
    pool: asyncpg.Pool,
) -> None:
    user = await make_user()
    now = int(clock.now().timestamp())
    deposit = await _deposit(client, user, 2_000, "USD", "dep-card-nofp-1")
    event = stripe_sim.pay(deposit["provider_ref"], now)
    # Stripe answers the lookup 404 (as for an intent it does not know).
    del stripe_sim.payment_intents[event["data"]["object"]["payment_intent"]]
    await _deliver(client, stripe_sim, event, now)
    row = await pool.fetchrow(
        "SELECT status, card_digest FROM wallet_deposits WHERE id = $1", uuid.UUID(deposit["id"])
    )
    assert (row["status"], row["card_digest"]) == ("completed", None)
    assert (await _balances(client, user))["USD"]["available_minor"] == 2_000
