"""Topping the wallet up in Chromium, on the platform as `dracarys up` serves it with no
payment provider configured (the payments sandbox): by card through the sandbox's hosted
checkout page and back to the wallet, and by M-Pesa with the prompt approved on the
sandbox's phone page in another tab while the wallet tab updates without a reload."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from tests.wallet.sandboxed import UpServer, free_port, serve_up, up_settings
from tests.web.conftest import (
    PHONE_VIEWPORT,
    Account,
    LiveServer,
    assert_accessible,
    register,
    screenshot,
    sign_in,
)
from workers.runtime import embedded_background

pytestmark = pytest.mark.browser
TIMEOUT_MS = 20_000


@pytest.fixture
def up(database_url: str, tmp_path: Path, mail_sink: Any) -> Iterator[UpServer]:
    port = free_port()
    settings = up_settings(database_url, tmp_path, port, DRACARYS_SMTP_PORT=str(mail_sink.port))
    with serve_up(settings, port, [embedded_background]) as server:
        yield server


async def _signed_in_wallet(context: Any, up: UpServer, name: str) -> tuple[Any, Account]:
    live = LiveServer(url=up.url, database_url=str(up.settings.database_url))
    account = await register(live, name=name)
    page = await context.new_page()
    await sign_in(page, live, account, "/wallet")
    panel = page.locator("#topup")
    await panel.get_by_text("Sandbox: no real money moves").wait_for(timeout=TIMEOUT_MS)
    return page, account


async def _both_widths(page: Any, label: str) -> None:
    await assert_accessible(page, label)
    size = page.viewport_size
    await page.set_viewport_size(PHONE_VIEWPORT)
    await assert_accessible(page, f"{label} (phone)")
    await screenshot(page, f"{label.replace(' ', '-')}-phone")
    await page.set_viewport_size(size)


async def test_a_card_top_up_through_the_sandbox_checkout_shows_in_the_balance(
    context: Any, up: UpServer
) -> None:
    page, _ = await _signed_in_wallet(context, up, "Card Topper")
    await screenshot(page, "topup-panel")
    await _both_widths(page, "topup panel")

    # A typo is named beside its field, and cleared once fixed.
    await page.locator("#topup").get_by_label("Amount").fill("15.005")
    await page.get_by_role("button", name="Continue to card payment").click()
    error = page.locator("#topup-amount-error")
    await error.get_by_text("at most 2 digits after the point").wait_for()
    await page.locator("#topup").get_by_label("Amount").fill("1500")
    await page.get_by_role("button", name="Continue to card payment").click()

    await page.wait_for_url(f"{up.url}/sandbox/stripe/checkout/*", timeout=TIMEOUT_MS)
    await page.get_by_role("heading", name="Pay KES 1,500.00").wait_for()
    await page.get_by_text("Sandbox: no real money moves").wait_for()
    await screenshot(page, "topup-checkout")
    await _both_widths(page, "sandbox checkout")

    await page.get_by_label("Card number").fill("4000 0000 0000 0002")
    await page.get_by_role("button", name="Pay KES 1,500.00").click()
    await page.get_by_role("alert").get_by_text("Your card was declined.").wait_for()
    await screenshot(page, "topup-checkout-declined")
    await assert_accessible(page, "sandbox checkout with a declined card")

    await page.get_by_label("Card number").fill("4242 4242 4242 4242")
    await page.get_by_role("button", name="Pay KES 1,500.00").click()
    await page.wait_for_url(f"{up.url}/wallet", timeout=TIMEOUT_MS)
    status = page.locator("#topup-status")
    await status.get_by_text(
        "Added 1,500.00 KES to your wallet. Your KES balance is now 1,500.00 KES."
    ).wait_for(timeout=TIMEOUT_MS)
    await screenshot(page, "topup-card-credited")
    # The card that paid is remembered by a digest of the sandbox Stripe's fingerprint of
    # it (asked for just after the deposit settles), for the referral rules.
    conn = await asyncpg.connect(str(up.settings.database_url))
    try:
        for _ in range(50):
            digests = await conn.fetch(
                """SELECT card_digest FROM wallet_deposits
                   WHERE method = 'stripe' AND status = 'completed'"""
            )
            if digests and digests[0]["card_digest"] is not None:
                break
            await asyncio.sleep(0.1)
    finally:
        await conn.close()
    assert len(digests) == 1
    assert digests[0]["card_digest"] is not None


async def test_an_mpesa_top_up_approved_on_the_sandbox_phone_updates_the_wallet_live(
    context: Any, up: UpServer
) -> None:
    page, _ = await _signed_in_wallet(context, up, "Mpesa Topper")
    await page.evaluate(
        """() => {
            window.walletChanges = 0;
            document.addEventListener("wallet:changed", () => { window.walletChanges += 1; });
        }"""
    )
    await page.get_by_role("radio", name="M-Pesa").check()
    await page.locator("#topup").get_by_label("Amount").fill("500")
    await page.get_by_role("button", name="Send the M-Pesa prompt").click()
    phone_error = page.locator("#topup-phone-error")
    await phone_error.get_by_text("Enter the phone number that pays with M-Pesa.").wait_for()
    await page.locator("#topup").get_by_label("M-Pesa phone number").fill("0712 345 678")
    await page.get_by_role("button", name="Send the M-Pesa prompt").click()
    await (
        page.locator("#topup-status")
        .get_by_text("Approve the payment of 500.00 KES on your phone")
        .wait_for(timeout=TIMEOUT_MS)
    )
    assert await phone_error.text_content() == ""
    link = page.get_by_role("link", name="Open the sandbox phone to approve it")
    href = await link.get_attribute("href")
    assert href == f"{up.url}/sandbox/mpesa/phone"
    await screenshot(page, "topup-mpesa-waiting")
    await _both_widths(page, "topup panel waiting for M-Pesa")

    phone = await context.new_page()
    await phone.goto(href)
    await phone.get_by_role("heading", name="Pay KES 500.00 to 174379").wait_for()
    await screenshot(phone, "topup-sandbox-phone")
    await _both_widths(phone, "sandbox phone")
    await phone.get_by_role("button", name="Approve").click()
    await (
        phone.get_by_role("status")
        .get_by_text("Approve: the M-Pesa callback for KES 500.00 went to the merchant.")
        .wait_for()
    )

    # The wallet tab, never reloaded, shows the money.
    await (
        page.locator("#topup-status")
        .get_by_text("Added 500.00 KES to your wallet. Your KES balance is now 500.00 KES.")
        .wait_for(timeout=TIMEOUT_MS)
    )
    assert await page.evaluate("window.walletChanges") == 1
    await page.bring_to_front()
    await screenshot(page, "topup-mpesa-credited")


async def test_leaving_the_sandbox_checkout_by_cancel_says_nothing_was_charged(
    context: Any, up: UpServer
) -> None:
    page, account = await _signed_in_wallet(context, up, "Card Canceller")
    await page.locator("#topup").get_by_label("Currency").select_option("USD")
    await page.locator("#topup").get_by_label("Amount").fill("25")
    await page.get_by_role("button", name="Continue to card payment").click()
    await page.get_by_role("heading", name="Pay USD 25.00").wait_for(timeout=TIMEOUT_MS)
    await page.get_by_role("link", name="Cancel").click()
    await page.wait_for_url(f"{up.url}/wallet", timeout=TIMEOUT_MS)
    await (
        page.locator("#topup-status")
        .get_by_text("Card top-up cancelled; nothing was charged.")
        .wait_for(timeout=TIMEOUT_MS)
    )
    async with up.client() as client:
        login = await client.post(
            "/api/v1/login", json={"email": account.email, "password": account.password}
        )
        token = login.json()["access_token"]
        balances = await client.get(
            f"/api/v1/wallets/{account.id}/balances",
            headers={"Authorization": f"Bearer {token}"},
        )
    usd = [b for b in balances.json()["balances"] if b["currency"] == "USD"]
    assert [(b["available_minor"], b["pending_in_minor"]) for b in usd] in ([], [(0, 0)])
    await screenshot(page, "topup-card-cancelled")
