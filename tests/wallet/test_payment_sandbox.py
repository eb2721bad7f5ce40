"""`dracarys up` with no payment provider configured runs the payments sandbox and says
so; with any provider setting, or turned off, or in production, it does not. Top-ups go
end to end through it over HTTP, as a person would: a card paid (or declined) on the
hosted checkout page with the webhook it sends, an M-Pesa prompt approved (or declined) on
the sandbox's phone page with the callback it sends."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from litestar import Litestar

from dracarys.clock import SystemClock
from dracarys.payments import payment_mode
from dracarys.payments.sandbox import SandboxedApp, sandbox_for
from dracarys.settings import SettingsError
from dracarys.wallet.ledger import service as ledger
from tests.conftest import make_settings
from tests.support import TestUser, create_user
from tests.wallet.conftest import outbox_events
from tests.wallet.sandboxed import (
    UpServer,
    free_port,
    kes_balance,
    serve_up,
    settled,
    up_settings,
)
from workers.cli import up_app
from workers.runtime import embedded_background

AMOUNT = 150_000  # KES 1,500.00
REAL_PROVIDERS = {
    "DRACARYS_STRIPE_API_KEY": "sk_live_configured",
    "DRACARYS_STRIPE_WEBHOOK_SECRETS": "whsec_configured",
    "DRACARYS_DARAJA_CONSUMER_KEY": "consumer-key",
    "DRACARYS_DARAJA_CONSUMER_SECRET": "consumer-secret",
    "DRACARYS_DARAJA_PASSKEY": "passkey",
    "DRACARYS_DARAJA_CALLBACK_TOKEN": "callback-token",
}


@pytest.fixture
def up(database_url: str, tmp_path: Path) -> Iterator[UpServer]:
    port = free_port()
    with serve_up(up_settings(database_url, tmp_path, port), port) as server:
        yield server


async def _user(pool: asyncpg.Pool, server: UpServer) -> TestUser:
    return await create_user(pool, server.settings, SystemClock())


async def _top_up(server: UpServer, user: TestUser, body: dict[str, Any]) -> dict[str, Any]:
    async with server.client() as client:
        response = await client.post(
            f"/api/v1/wallets/{user.id}/deposits",
            json={"amount_minor": AMOUNT, "currency": "KES", **body},
            headers={**user.headers, "Idempotency-Key": uuid.uuid4().hex},
        )
    assert response.status_code == 201, response.text
    deposit: dict[str, Any] = response.json()
    return deposit


async def _ledger_problems(pool: asyncpg.Pool) -> list[Any]:
    async with pool.acquire() as conn:
        return list((await ledger.check_ledger(conn)).problems)


# ---- which mode `dracarys up` runs in ---------------------------------------------------


async def test_up_without_provider_settings_serves_the_sandbox_and_the_api_says_sandbox(
    database_url: str, tmp_path: Path
) -> None:
    port = free_port()
    settings = up_settings(database_url, tmp_path, port)
    with serve_up(settings, port, [embedded_background]) as server:
        assert isinstance(server.app, SandboxedApp)
        async with server.client() as client:
            mode = await client.get("/api/v1/payments/mode")
            phone = await client.get("/sandbox/mpesa/phone")
            stripe_without_key = await client.post("/sandbox/stripe/v1/checkout/sessions")
            platform_page = await client.get("/signin")
    assert mode.status_code == 200, mode.text
    assert mode.json() == {
        "mode": "sandbox",
        "card_available": True,
        "mpesa_available": True,
        "sandbox_phone_url": f"{server.url}/sandbox/mpesa/phone",
    }
    assert phone.status_code == 200
    assert "Sandbox: no real money moves" in phone.text
    assert stripe_without_key.status_code == 401
    assert stripe_without_key.json()["error"]["message"] == "Invalid API Key"
    assert platform_page.status_code == 200


async def test_up_with_provider_settings_runs_no_sandbox_and_the_api_says_providers(
    database_url: str, tmp_path: Path
) -> None:
    port = free_port()
    settings = up_settings(database_url, tmp_path, port, **REAL_PROVIDERS)
    with serve_up(settings, port) as server:
        assert isinstance(server.app, Litestar)
        async with server.client() as client:
            mode = await client.get("/api/v1/payments/mode")
            phone = await client.get("/sandbox/mpesa/phone")
    assert mode.json() == {
        "mode": "providers",
        "card_available": True,
        "mpesa_available": True,
        "sandbox_phone_url": None,
    }
    assert phone.status_code == 404


@pytest.mark.parametrize(
    "extra",
    [
        {"DRACARYS_STRIPE_API_BASE": "https://stripe-proxy.example.com"},
        {"DRACARYS_DARAJA_BASE_URL": "https://api.safaricom.co.ke"},
        {"DRACARYS_DARAJA_CALLBACK_TOKEN": "only-this-one"},
        {"DRACARYS_PAYMENTS_SANDBOX": "off"},
        {"DRACARYS_ENV": "production"},
    ],
    ids=["stripe-url", "daraja-url", "one-daraja-setting", "turned-off", "production"],
)
def test_any_provider_setting_turning_it_off_or_production_keeps_the_sandbox_off(
    database_url: str, tmp_path: Path, extra: dict[str, str]
) -> None:
    settings = up_settings(database_url, tmp_path, free_port(), **extra)
    assert sandbox_for(settings) is None
    assert isinstance(up_app(settings, ()), Litestar)
    assert payment_mode(settings).mode == "unavailable"


async def test_with_the_sandbox_off_and_no_provider_a_top_up_is_a_503_and_records_nothing(
    database_url: str, tmp_path: Path, pool: asyncpg.Pool
) -> None:
    port = free_port()
    settings = up_settings(database_url, tmp_path, port, DRACARYS_PAYMENTS_SANDBOX="off")
    with serve_up(settings, port) as server:
        user = await create_user(pool, settings, SystemClock())
        async with server.client() as client:
            mode = await client.get("/api/v1/payments/mode")
            card = await client.post(
                f"/api/v1/wallets/{user.id}/deposits",
                json={"method": "stripe", "amount_minor": AMOUNT, "currency": "KES"},
                headers={**user.headers, "Idempotency-Key": "sandbox-off-card"},
            )
    assert mode.json()["mode"] == "unavailable"
    assert card.status_code == 503, card.text
    assert await pool.fetchval("SELECT count(*) FROM wallet_deposits") == 0


async def test_the_dracarys_up_command_takes_a_card_top_up_through_its_sandbox(
    database_url: str, tmp_path: Path, pool: asyncpg.Pool
) -> None:
    """The command itself, as `python3 dev.py up` runs it (on the test's database)."""
    port = free_port()
    settings = up_settings(database_url, tmp_path, port)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRACARYS_")}
    env.update(
        DATABASE_URL=database_url,
        DRACARYS_DATA_DIR=str(tmp_path),
        DRACARYS_SECRET_KEY=settings.secret_key,
        DRACARYS_SEED_DEMO="false",
        DRACARYS_TRADING_FEED="off",
        DRACARYS_LOG_LEVEL="WARNING",
    )
    env.pop("REDIS_URL", None)
    process = subprocess.Popen(  # noqa: ASYNC220
        [sys.executable, "-m", "workers.main", "up", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            deadline = time.monotonic() + 120
            while True:
                try:
                    if (await client.get("/health")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert process.poll() is None, process.stdout.read() if process.stdout else ""
                assert time.monotonic() < deadline, "dracarys up did not start in time"
                await asyncio.sleep(0.3)
            mode = (await client.get("/api/v1/payments/mode")).json()
            assert (mode["mode"], mode["sandbox_phone_url"]) == (
                "sandbox",
                f"{base}/sandbox/mpesa/phone",
            )
            user = await create_user(pool, settings, SystemClock())
            started = await client.post(
                f"/api/v1/wallets/{user.id}/deposits",
                json={"method": "stripe", "amount_minor": AMOUNT, "currency": "KES"},
                headers={**user.headers, "Idempotency-Key": "up-command-card"},
            )
            assert started.status_code == 201, started.text
            deposit = started.json()
            paid = await client.post(
                deposit["checkout_url"], data={"card_number": "4242424242424242"}
            )
            assert paid.status_code == 303
            assert (await settled(client, user.headers, deposit["id"]))["status"] == "completed"
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    assert "Payments run in the sandbox: no real money moves." in output
    assert f"M-Pesa prompts wait at {base}/sandbox/mpesa/phone" in output


def test_the_environment_cannot_claim_the_sandbox_is_on(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="DRACARYS_PAYMENTS_SANDBOX=on"):
        make_settings("postgresql://127.0.0.1/x", tmp_path, DRACARYS_PAYMENTS_SANDBOX="on")


# ---- a card top-up through the hosted checkout page --------------------------------------


async def test_a_card_paid_on_the_checkout_page_returns_to_the_wallet_and_its_webhook_credits(
    up: UpServer, pool: asyncpg.Pool
) -> None:
    user = await _user(pool, up)
    deposit = await _top_up(up, user, {"method": "stripe"})
    page_url = deposit["checkout_url"]
    assert page_url == f"{up.url}/sandbox/stripe/checkout/{deposit['provider_ref']}"
    async with up.client() as client:
        page = await client.get(page_url)
        assert page.status_code == 200
        assert "KES 1,500.00" in page.text
        assert "Sandbox: no real money moves" in page.text
        assert await kes_balance(client, user.headers, user.id) == (0, AMOUNT)
        paid = await client.post(page_url, data={"card_number": "4242 4242 4242 4242"})
        assert paid.status_code == 303
        assert paid.headers["location"] == f"{up.url}/wallet?topup={deposit['id']}"
        done = await settled(client, user.headers, deposit["id"])
        assert done["status"] == "completed"
        assert await kes_balance(client, user.headers, user.id) == (AMOUNT, 0)
        again = await client.post(page_url, data={"card_number": "4242 4242 4242 4242"})
        assert again.status_code == 409
        assert "This checkout is paid." in again.text
    [event] = await pool.fetch("SELECT id, type FROM stripe_events")
    assert event["type"] == "checkout.session.completed"
    assert [a.status for a in up.sandbox.stripe.deliveries.made_to(event["id"])] == [200]
    assert await _ledger_problems(pool) == []


async def test_a_webhook_whose_answer_was_lost_comes_again_and_credits_once(
    up: UpServer, pool: asyncpg.Pool
) -> None:
    user = await _user(pool, up)
    deposit = await _top_up(up, user, {"method": "stripe"})
    up.sandbox.stripe.deliveries.answers_to_lose = 1
    async with up.client() as client:
        paid = await client.post(deposit["checkout_url"], data={"card_number": "4242424242424242"})
        assert paid.status_code == 303
        assert (await settled(client, user.headers, deposit["id"]))["status"] == "completed"
        event_id = await pool.fetchval("SELECT id FROM stripe_events")
        deadline = time.monotonic() + 15
        while len(up.sandbox.stripe.deliveries.made_to(event_id)) < 2:
            assert time.monotonic() < deadline, "the webhook was not sent again"
            await asyncio.sleep(0.1)
        attempts = up.sandbox.stripe.deliveries.made_to(event_id)
        assert [a.status for a in attempts] == [None, 200]
        assert await kes_balance(client, user.headers, user.id) == (AMOUNT, 0)
    assert len(await outbox_events(pool, "deposit.completed")) == 1
    assert await pool.fetchval("SELECT count(*) FROM stripe_events") == 1
    assert await _ledger_problems(pool) == []


async def test_a_declined_card_pays_nothing_and_cancelling_the_checkout_fails_the_top_up(
    up: UpServer, pool: asyncpg.Pool
) -> None:
    user = await _user(pool, up)
    deposit = await _top_up(up, user, {"method": "stripe"})
    page_url = deposit["checkout_url"]
    async with up.client() as client:
        declined = await client.post(page_url, data={"card_number": "4000 0000 0000 0002"})
        assert declined.status_code == 402
        assert "Your card was declined." in declined.text
        incomplete = await client.post(page_url, data={"card_number": "4242 4242"})
        assert incomplete.status_code == 422
        assert "Your card number is incomplete." in incomplete.text
        real_card = await client.post(page_url, data={"card_number": "4111 1111 1111 1111"})
        assert real_card.status_code == 402
        assert "non test card" in real_card.text
        assert await kes_balance(client, user.headers, user.id) == (0, AMOUNT)
        assert (await client.get(f"/api/v1/deposits/{deposit['id']}", headers=user.headers)).json()[
            "status"
        ] == "pending"

        cancelled = await client.post(
            f"/api/v1/deposits/{deposit['id']}/cancel", headers=user.headers
        )
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["status"] == "failed"
        assert "cancelled at the card checkout" in cancelled.json()["failure_reason"]
        assert await kes_balance(client, user.headers, user.id) == (0, 0)
        # The session is closed: the page says so and takes no card.
        closed = await client.post(page_url, data={"card_number": "4242 4242 4242 4242"})
        assert closed.status_code == 409
        assert "expired" in closed.text
        twice = await client.post(f"/api/v1/deposits/{deposit['id']}/cancel", headers=user.headers)
        assert twice.json()["status"] == "failed"
        # Stripe's `checkout.session.expired` lands too, and changes nothing more.
        deadline = time.monotonic() + 15
        while await pool.fetchval("SELECT count(*) FROM stripe_events") == 0:
            assert time.monotonic() < deadline, "no checkout.session.expired came"
            await asyncio.sleep(0.1)
        assert await kes_balance(client, user.headers, user.id) == (0, 0)
    assert await outbox_events(pool, "deposit.completed") == []
    assert await _ledger_problems(pool) == []


async def test_only_the_owner_may_cancel_and_an_mpesa_prompt_cannot_be_cancelled(
    up: UpServer, pool: asyncpg.Pool
) -> None:
    owner = await _user(pool, up)
    stranger = await _user(pool, up)
    card = await _top_up(up, owner, {"method": "stripe"})
    mpesa = await _top_up(up, owner, {"method": "mpesa", "phone": "0712345678"})
    async with up.client() as client:
        foreign = await client.post(
            f"/api/v1/deposits/{card['id']}/cancel", headers=stranger.headers
        )
        refused = await client.post(f"/api/v1/deposits/{mpesa['id']}/cancel", headers=owner.headers)
        assert await kes_balance(client, owner.headers, owner.id) == (0, 2 * AMOUNT)
    assert foreign.status_code == 404
    assert foreign.json()["errors"][0]["field"] == "deposit_id"
    assert refused.status_code == 409
    assert refused.json()["errors"][0]["field"] == "deposit_id"
    assert "decline it on the phone" in refused.json()["detail"]


# ---- an M-Pesa top-up answered on the sandbox's phone page -------------------------------


async def test_an_mpesa_prompt_approved_on_the_phone_page_credits_the_wallet(
    up: UpServer, pool: asyncpg.Pool
) -> None:
    user = await _user(pool, up)
    deposit = await _top_up(up, user, {"method": "mpesa", "phone": "0712 345 678"})
    assert deposit["status"] == "pending"
    async with up.client() as client:
        phone = await client.get("/sandbox/mpesa/phone")
        assert "Pay KES 1,500.00 to 174379" in phone.text
        assert "254712345678" in phone.text
        answer = await client.post(
            f"/sandbox/mpesa/phone/{deposit['provider_ref']}", data={"result_code": "0"}
        )
        assert answer.status_code == 303
        shown = await client.get(answer.headers["location"])
        assert "Approve: the M-Pesa callback for KES 1,500.00 went to the merchant." in shown.text
        assert "No prompt is waiting" in shown.text
        done = await settled(client, user.headers, deposit["id"])
        assert done["status"] == "completed"
        assert await kes_balance(client, user.headers, user.id) == (AMOUNT, 0)
        twice = await client.post(
            f"/sandbox/mpesa/phone/{deposit['provider_ref']}", data={"result_code": "0"}
        )
        assert twice.status_code == 409
    assert len(await outbox_events(pool, "deposit.completed")) == 1
    assert await _ledger_problems(pool) == []


async def test_an_mpesa_prompt_declined_on_the_phone_page_fails_with_darajas_reason(
    up: UpServer, pool: asyncpg.Pool
) -> None:
    user = await _user(pool, up)
    deposit = await _top_up(up, user, {"method": "mpesa", "phone": "0712345678"})
    async with up.client() as client:
        nonsense = await client.post(
            f"/sandbox/mpesa/phone/{deposit['provider_ref']}", data={"result_code": "7"}
        )
        assert nonsense.status_code == 422
        answer = await client.post(
            f"/sandbox/mpesa/phone/{deposit['provider_ref']}", data={"result_code": "1032"}
        )
        assert answer.status_code == 303
        done = await settled(client, user.headers, deposit["id"])
        assert (done["status"], done["failure_reason"]) == ("failed", "Request cancelled by user")
        assert await kes_balance(client, user.headers, user.id) == (0, 0)
    assert await _ledger_problems(pool) == []
