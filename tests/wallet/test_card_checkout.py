"""Card top-ups against the Stripe simulator where Stripe refuses, cannot be reached, or
answers after the deposit gave up waiting: nothing is ever left pending for good, and no
checkout stays payable for a deposit that failed."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from dracarys.app import create_app
from dracarys.clock import ManualClock
from dracarys.payments.sandbox import StripeSimulator
from dracarys.platform import Platform
from dracarys.wallet.deposits import service as deposits
from dracarys.wallet.ledger import service as ledger
from tests.conftest import make_settings
from tests.messaging.simulators import free_port
from tests.support import AppClient, TestUser
from tests.wallet.simulators import provider_env

MakeUser = Callable[..., Awaitable[TestUser]]
CARD = {"method": "stripe", "amount_minor": 250_000, "currency": "KES"}


async def _start(client: httpx.AsyncClient, user: TestUser, key: str) -> httpx.Response:
    return await client.post(
        f"/api/v1/wallets/{user.id}/deposits",
        json=CARD,
        headers={**user.headers, "Idempotency-Key": key},
    )


async def _kes(client: httpx.AsyncClient, user: TestUser) -> tuple[int, int]:
    response = await client.get(f"/api/v1/wallets/{user.id}/balances", headers=user.headers)
    kes = next((b for b in response.json()["balances"] if b["currency"] == "KES"), None)
    return (0, 0) if kes is None else (kes["available_minor"], kes["pending_in_minor"])


async def test_a_checkout_stripe_refuses_fails_the_top_up_at_once(
    database_url: str,
    tmp_path: Path,
    clock: ManualClock,
    make_user: MakeUser,
    stripe_server: tuple[StripeSimulator, str],
    daraja_server: Any,
    pool: asyncpg.Pool,
) -> None:
    env = provider_env(*stripe_server, *daraja_server)
    env["DRACARYS_STRIPE_API_KEY"] = "sk_test_revoked_key"
    app = create_app(make_settings(database_url, tmp_path, **env), clock=clock)
    user = await make_user()
    async with AppClient(app) as client:
        refused = await _start(client, user, "card-refused-01")
        assert refused.status_code == 201, refused.text
        deposit = refused.json()
        assert (deposit["status"], deposit["checkout_url"]) == ("failed", None)
        assert deposit["failure_reason"].startswith("Stripe refused the checkout")
        assert await _kes(client, user) == (0, 0)
        again = await _start(client, user, "card-refused-01")
        assert again.json() == deposit
    async with pool.acquire() as conn:
        assert (await ledger.check_ledger(conn)).problems == []


async def test_stripe_out_of_reach_is_a_503_and_the_deposit_fails_after_the_deadline(
    database_url: str,
    tmp_path: Path,
    clock: ManualClock,
    make_user: MakeUser,
    platform: Platform,
    stripe_server: tuple[StripeSimulator, str],
    daraja_server: Any,
) -> None:
    env = provider_env(*stripe_server, *daraja_server)
    env["DRACARYS_STRIPE_API_BASE"] = f"http://127.0.0.1:{free_port()}"  # nobody listens
    app = create_app(make_settings(database_url, tmp_path, **env), clock=clock)
    user = await make_user()
    async with AppClient(app) as client:
        unreachable = await _start(client, user, "card-unreachable-01")
        assert unreachable.status_code == 503, unreachable.text
        assert await _kes(client, user) == (0, 250_000)
        clock.advance(deposits.CARD_CHECKOUT_LOST_AFTER - timedelta(seconds=1))
        assert await deposits.fail_unopened_card_deposits(platform) == 0
        clock.advance(timedelta(seconds=2))
        assert await deposits.fail_unopened_card_deposits(platform) == 1
        assert await deposits.fail_unopened_card_deposits(platform) == 0
        assert await _kes(client, user) == (0, 0)
        # A retry with the key now answers the failed deposit and asks Stripe nothing.
        retry = await _start(client, user, "card-unreachable-01")
        assert retry.status_code == 201, retry.text
        assert retry.json()["status"] == "failed"
        assert "no card checkout was opened" in retry.json()["failure_reason"]


async def test_a_checkout_stripe_makes_after_the_deposit_gave_up_is_closed_unpaid(
    client: AppClient,
    make_user: MakeUser,
    clock: ManualClock,
    platform: Platform,
    stripe_sim: StripeSimulator,
) -> None:
    user = await make_user()
    held = stripe_sim.hold("checkout/sessions", act="accept")
    started = asyncio.create_task(_start(client, user, "card-late-answer"))
    while not held.arrived.is_set():
        await asyncio.sleep(0.01)
    clock.advance(deposits.CARD_CHECKOUT_LOST_AFTER + timedelta(seconds=1))
    assert await deposits.fail_unopened_card_deposits(platform) == 1
    held.released.set()
    answer = await started
    assert answer.status_code == 201, answer.text
    deposit = answer.json()
    assert (deposit["status"], deposit["checkout_url"], deposit["provider_ref"]) == (
        "failed",
        None,
        None,
    )
    [session] = [
        s for s in stripe_sim.sessions.values() if s["client_reference_id"] == deposit["id"]
    ]
    assert session["status"] == "expired"
    assert await _kes(client, user) == (0, 0)
