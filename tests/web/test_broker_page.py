"""A verified mentee links an Alpaca account on the broker page (wrong keys refused beside
the key field), opts in, sees a signal on an instrument Alpaca has no symbol for refused
with the reason, then watches a mirrored signal go to the local Alpaca simulator under
Alpaca's symbol and its fill come back, with the position Alpaca holds."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from playwright.async_api import expect

from dracarys.app import create_app
from dracarys.payments.sandbox import serve
from dracarys.trading.instruments import store as instrument_store
from tests.conftest import make_settings
from tests.messaging.simulators import SmtpSimulator
from tests.support import served_in_thread
from tests.trading.alpaca_simulator import AlpacaSimulator
from tests.web.conftest import (
    Account,
    LiveServer,
    _free_port,
    assert_accessible,
    register,
    screenshot,
    sign_in,
)
from workers.runtime import embedded_background

pytestmark = pytest.mark.browser


@pytest.fixture
def alpaca() -> Iterator[AlpacaSimulator]:
    simulator = AlpacaSimulator()
    with serve(simulator.app()) as url:
        simulator.base_url = url
        yield simulator


@pytest.fixture
def broker_server(
    database_url: str, tmp_path: Path, mail_sink: SmtpSimulator, alpaca: AlpacaSimulator
) -> Iterator[LiveServer]:
    """The platform as `dracarys up` runs it, with external brokers enabled and Alpaca
    at the local simulator."""
    port = _free_port()
    origin = f"http://127.0.0.1:{port}"
    settings = make_settings(
        database_url,
        tmp_path,
        DRACARYS_PUBLIC_URL=origin,
        DRACARYS_ALLOWED_ORIGINS=origin,
        DRACARYS_OUTBOX_POLL_INTERVAL_S="0.1",
        DRACARYS_LOG_LEVEL="ERROR",
        DRACARYS_SMTP_PORT=str(mail_sink.port),
        DRACARYS_EXTERNAL_BROKERS_ENABLED="true",
        DRACARYS_ALPACA_BASE_URL=alpaca.base_url,
        DRACARYS_ALPACA_STREAM_URL=alpaca.stream_url,
        DRACARYS_BROKER_FILL_POLL_S="0.5",
    )
    app = create_app(settings, lifespan_hooks=[embedded_background], run_migrations=False)
    with served_in_thread(app, port, "broker-server"):
        yield LiveServer(url=origin, database_url=database_url)


async def headers_of(server: LiveServer, account: Account) -> dict[str, str]:
    async with server.api() as client:
        login = await client.post(
            "/api/v1/login", json={"email": account.email, "password": account.password}
        )
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


async def mirror_mentor(server: LiveServer, mentee: Account, mentor: Account) -> None:
    """The mentee accepts the disclaimer and mirrors the mentor into a new portfolio."""
    headers = await headers_of(server, mentee)
    async with server.api() as client:
        version = (await client.get("/api/v1/trading/disclaimer/")).json()["version"]
        ack = await client.post(
            "/api/v1/trading/disclaimer/acknowledgements",
            json={"version": version},
            headers=headers,
        )
        assert ack.status_code == 201, ack.text
        book = await client.post(
            "/api/v1/trading/portfolios", json={"name": "Copies"}, headers=headers
        )
        assert book.status_code == 201, book.text
        sub = await client.post(
            f"/api/v1/trading/mentors/{mentor.id}/subscriptions",
            json={"mirror": {"portfolio_id": book.json()["id"]}},
            headers={**headers, "Idempotency-Key": "web-broker-mirror-1"},
        )
        assert sub.status_code == 201, sub.text


@dataclass
class Mirroring:
    """A mentor, and a mentee verified to KYC level 2 who mirrors them."""

    mentor: Account
    mentee: Account


@pytest.fixture
async def mirroring(broker_server: LiveServer) -> Mirroring:
    mentor = await register(broker_server, name="Mira Mentor", role="mentor")
    mentee = await register(broker_server, name="Bo Broker", kyc_level=2)
    await mirror_mentor(broker_server, mentee, mentor)
    return Mirroring(mentor=mentor, mentee=mentee)


@pytest.fixture
async def registry(broker_server: LiveServer) -> AsyncIterator[asyncpg.Connection]:
    """The server's database, to map symbols in the instruments registry as an admin."""
    conn = await asyncpg.connect(broker_server.database_url)
    try:
        yield conn
    finally:
        await conn.close()


async def broadcast(server: LiveServer, mentor: Account) -> None:
    """A buy signal on DEMO, once the replay feed has priced it."""
    headers = await headers_of(server, mentor)
    body = {"symbol": "DEMO", "side": "buy", "rationale": "Breakout.", "size_hint_pct": 5}
    async with server.api() as client:
        for _ in range(100):
            sent = await client.post("/api/v1/trading/signals", json=body, headers=headers)
            if sent.status_code != 409:  # no price yet: the feed is starting
                break
            await asyncio.sleep(0.1)
    assert sent.status_code == 201, sent.text


async def test_a_mentee_links_alpaca_opts_in_and_sees_a_mirrored_order_fill(
    context: Any,
    broker_server: LiveServer,
    alpaca: AlpacaSimulator,
    mirroring: Mirroring,
    registry: asyncpg.Connection,
) -> None:
    account = alpaca.open_account()

    page = await context.new_page()
    await sign_in(page, broker_server, mirroring.mentee, "/broker")
    await page.wait_for_selector("body[data-ready]")
    await expect(page.locator("#broker-state")).to_contain_text("No account linked")

    await page.get_by_label("API key ID").fill("PKNOTAREALKEY")
    await page.get_by_label("API secret").fill("not-the-secret")
    await page.get_by_role("button", name="Link account").click()
    await expect(page.locator("#api-key-id-error")).to_contain_text(
        "Alpaca did not accept these API keys"
    )
    await expect(page.get_by_label("API key ID")).to_have_attribute("aria-invalid", "true")

    await page.get_by_label("API key ID").fill(account.key_id)
    await page.get_by_label("API secret").fill(account.secret)
    await page.get_by_role("button", name="Link account").click()
    await expect(page.locator("#broker-status")).to_contain_text(
        f"Alpaca account {account.account_number} linked"
    )
    await expect(page.locator("#broker-state")).to_contain_text("stay on paper until you opt in")
    await page.get_by_label("Send my mirrored signals to this account").check()
    await expect(page.locator("#broker-status")).to_contain_text("Opted in")
    await expect(page.locator("#broker-state")).to_contain_text("go to this account")
    await assert_accessible(page, "broker page, linked and opted in")

    # DEMO is synthetic: the registry gives it no Alpaca symbol, so its copy is refused
    # before anything is sent, and the page says why.
    await broadcast(broker_server, mirroring.mentor)
    refused = page.locator("#routed-rows tr[data-status='rejected']")
    await expect(refused).to_have_count(1, timeout=15_000)
    await expect(refused).to_contain_text("DEMO has no Alpaca symbol in the instruments registry")
    assert alpaca.order_posts == []

    await instrument_store.set_broker_symbol(registry, "DEMO", "alpaca", "DEMOQ")
    await broadcast(broker_server, mirroring.mentor)
    # The page reads the routed orders again by itself while opted in.
    row = page.locator("#routed-rows tr[data-order-id]:not([data-status='rejected'])")
    await expect(row).to_have_count(1, timeout=15_000)
    await expect(row).to_have_attribute("data-status", "sent", timeout=15_000)
    [placed] = alpaca.orders_of(account)
    assert placed.symbol == "DEMOQ"
    await expect(row.locator("td").nth(1)).to_contain_text("buy")
    await expect(row.locator("td").nth(1)).to_contain_text("DEMO (DEMOQ at the broker)")

    alpaca.fill(placed.id, float(placed.qty), 101.25)
    await expect(row).to_have_attribute("data-status", "filled", timeout=15_000)
    await expect(row).to_contain_text("101.25")
    await page.get_by_role("button", name="Refresh positions").click()
    await expect(page.locator("#position-rows")).to_contain_text("DEMOQ")
    await screenshot(page, "broker-order-filled")
    assert len(alpaca.order_posts) == 1
