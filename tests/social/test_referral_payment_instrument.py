"""Self-referral by payment instrument: a referee who tops up from the M-Pesa number or
with the card the referrer pays with is the referrer; the wallet compares digests of the
numbers (from deposits made through the local Daraja simulator, as in the wallet's own
tests) and of Stripe's fingerprints of the cards (deposits paid on the local Stripe), and
the instruments never leave it."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import pytest

from dracarys.outbox import emit
from dracarys.payments.sandbox import DarajaSimulator, StripeSimulator
from dracarys.platform import Platform
from dracarys.settings import Settings
from dracarys.wallet import payment_instrument_digests
from tests.conftest import make_settings
from tests.social.conftest import drain, from_ip, sign_up
from tests.support import AppClient, TestUser, events_of
from tests.wallet.conftest import (  # noqa: F401
    daraja_server,
    daraja_sim,
    stripe_server,
    stripe_sim,
)
from tests.wallet.simulators import provider_env


@pytest.fixture
def settings(
    database_url: str,
    tmp_path: Any,
    stripe_server: tuple[StripeSimulator, str],  # noqa: F811
    daraja_server: tuple[DarajaSimulator, str],  # noqa: F811
) -> Settings:
    return make_settings(
        database_url,
        tmp_path,
        DRACARYS_TRUSTED_PROXIES="127.0.0.1",
        **provider_env(*stripe_server, *daraja_server),
    )


async def _mpesa_top_up(
    client: AppClient, sim: DarajaSimulator, user_id: uuid.UUID, headers: dict[str, str], phone: str
) -> None:
    response = await client.post(
        f"/api/v1/wallets/{user_id}/deposits",
        json={
            "method": "mpesa",
            "amount_minor": 500_000,
            "currency": "KES",
            "idempotency_key": f"top-up-{uuid.uuid4()}",
            "phone": phone,
        },
        headers=headers,
    )
    assert response.status_code == 201, response.text
    path, payload = sim.stk_callback(response.json()["provider_ref"])
    assert (await client.post(path, json=payload)).status_code == 200


async def _card_top_up(
    client: AppClient,
    platform: Platform,
    sim: StripeSimulator,
    user_id: uuid.UUID,
    headers: dict[str, str],
    card_number: str,
) -> None:
    """A top-up paid on Stripe's checkout with `card_number`, its webhook delivered."""
    response = await client.post(
        f"/api/v1/wallets/{user_id}/deposits",
        json={
            "method": "stripe",
            "amount_minor": 500_000,
            "currency": "KES",
            "idempotency_key": f"top-up-{uuid.uuid4()}",
        },
        headers=headers,
    )
    assert response.status_code == 201, response.text
    now = int(platform.clock.now().timestamp())
    event = sim.pay(response.json()["provider_ref"], now, card_number=card_number)
    body, signature = sim.signed(event, now)
    delivered = await client.post("/api/v1/webhooks/stripe", content=body, headers=signature)
    assert delivered.status_code == 200, delivered.text


async def _pay_session(platform: Platform, referee_id: uuid.UUID) -> None:
    async with platform.pool.acquire() as conn, conn.transaction():
        await emit(
            conn,
            "session.paid",
            {
                "session_id": str(uuid.uuid4()),
                "mentee_id": str(referee_id),
                "mentor_id": str(uuid.uuid4()),
                "amount_minor": 200_000,
                "currency": "KES",
            },
        )
    await drain(platform)


@pytest.mark.parametrize(
    ("referee_phone", "refused"),
    [("+254 712 345 678", True), ("0712 999 000", False)],
)
async def test_a_referee_paying_from_the_referrers_mpesa_number_is_refused(
    client: AppClient,
    platform: Platform,
    pool: asyncpg.Pool,
    daraja_sim: DarajaSimulator,  # noqa: F811
    make_user,
    referee_phone: str,
    refused: bool,
) -> None:
    referrer: TestUser = await make_user()
    await _mpesa_top_up(client, daraja_sim, referrer.id, referrer.headers, "0712 345 678")
    page = await client.get(
        "/api/v1/referrals/me", headers={**referrer.headers, **from_ip("198.51.100.90")}
    )
    code = page.json()["code"]
    client.cookies.clear()
    await client.get(f"/r/{code}", headers=from_ip("203.0.113.90"))
    referee_id, referee = await sign_up(client, "pays.twice@example.com", ip="203.0.113.90")
    await _mpesa_top_up(client, daraja_sim, referee_id, referee, referee_phone)

    await _pay_session(platform, referee_id)

    row = await pool.fetchrow(
        "SELECT status, refusal_rule, refusal_detail FROM referrals WHERE referee_id = $1",
        referee_id,
    )
    if refused:
        assert (row["status"], row["refusal_rule"]) == ("refused", "same_payment_instrument")
        assert row["refusal_detail"] == "same M-Pesa number"  # never the number
        assert await events_of(pool, "referral.completed") == []
    else:
        assert (row["status"], row["refusal_rule"]) == ("completed", None)
    async with pool.acquire() as conn:
        digests = await payment_instrument_digests(
            conn, platform.settings, [referrer.id, referee_id]
        )
    assert (digests[referrer.id] == digests[referee_id]) is refused


@pytest.mark.parametrize(
    ("referee_card", "refused"),
    [("4242 4242 4242 4242", True), ("5555 5555 5555 4444", False)],
)
async def test_a_referee_paying_with_the_referrers_card_is_refused(
    client: AppClient,
    platform: Platform,
    pool: asyncpg.Pool,
    stripe_sim: StripeSimulator,  # noqa: F811
    make_user,
    referee_card: str,
    refused: bool,
) -> None:
    referrer: TestUser = await make_user()
    await _card_top_up(
        client, platform, stripe_sim, referrer.id, referrer.headers, "4242424242424242"
    )
    page = await client.get(
        "/api/v1/referrals/me", headers={**referrer.headers, **from_ip("198.51.100.91")}
    )
    code = page.json()["code"]
    client.cookies.clear()
    await client.get(f"/r/{code}", headers=from_ip("203.0.113.91"))
    referee_id, referee = await sign_up(client, "pays.by.card@example.com", ip="203.0.113.91")
    await _card_top_up(client, platform, stripe_sim, referee_id, referee, referee_card)

    await _pay_session(platform, referee_id)

    row = await pool.fetchrow(
        "SELECT status, refusal_rule, refusal_detail FROM referrals WHERE referee_id = $1",
        referee_id,
    )
    if refused:
        assert (row["status"], row["refusal_rule"]) == ("refused", "same_payment_instrument")
        fingerprint = stripe_sim.card_fingerprint(referee_card)
        assert row["refusal_detail"] == "same card"  # never the card nor its fingerprint
        assert fingerprint not in row["refusal_detail"]
        assert await events_of(pool, "referral.completed") == []
    else:
        assert (row["status"], row["refusal_rule"]) == ("completed", None)
    async with pool.acquire() as conn:
        digests = await payment_instrument_digests(
            conn, platform.settings, [referrer.id, referee_id]
        )
    assert {d.kind for d in digests[referrer.id] | digests[referee_id]} == {"card"}
    assert (digests[referrer.id] == digests[referee_id]) is refused
