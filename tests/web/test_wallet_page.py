"""The wallet page in Chromium: balances per currency and the history with its running
balance; a withdrawal to M-Pesa behind the two-factor step-up (codes from pyotp, as an
authenticator app makes them) that turns to "paid out" live when M-Pesa's callback
lands; an invoice downloaded as a PDF; points converted to a discount code and to wallet
credit after the rules are shown; and what a member without KYC is told. The app talks
to the local Daraja and Stripe simulators, as in the wallet's own tests."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pyotp
import pytest
from playwright.async_api import expect

from dracarys.app import create_app
from dracarys.clock import SystemClock
from dracarys.db import Database
from dracarys.db.pool import create_pool
from dracarys.platform import Platform
from tests.conftest import make_settings
from tests.messaging.simulators import SmtpSimulator
from tests.points.redemption.test_service import _give
from tests.support import fund_wallet, served_in_thread
from tests.wallet.simulators import DarajaSimulator, StripeSimulator, provider_env, serve
from tests.web.conftest import (
    PHONE_VIEWPORT,
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


@pytest.fixture(scope="module")
def providers() -> Iterator[tuple[DarajaSimulator, dict[str, str]]]:
    stripe, daraja = StripeSimulator(), DarajaSimulator()
    with serve(stripe.app()) as stripe_url, serve(daraja.app()) as daraja_url:
        yield daraja, provider_env(stripe, stripe_url, daraja, daraja_url)


@pytest.fixture
def wallet_server(
    database_url: str,
    tmp_path: Path,
    mail_sink: SmtpSimulator,
    providers: tuple[DarajaSimulator, dict[str, str]],
) -> Iterator[LiveServer]:
    """The platform as `live_server` runs it (app, streams, in-process worker), with the
    payment adapters pointed at the simulators."""
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
        **providers[1],
    )
    app = create_app(settings, lifespan_hooks=[embedded_background], run_migrations=False)
    with served_in_thread(app, port, "wallet-live-server"):
        yield LiveServer(url=origin, database_url=database_url)


@pytest.fixture
async def pool(wallet_server: LiveServer) -> AsyncIterator[asyncpg.Pool]:
    database = await create_pool(wallet_server.database_url, min_size=1, max_size=4)
    yield database
    await database.close()


async def _login(server: LiveServer, account: Account) -> dict[str, str]:
    async with server.api() as client:
        login = await client.post(
            "/api/v1/login", json={"email": account.email, "password": account.password}
        )
        assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


async def _enrol_totp(server: LiveServer, headers: dict[str, str]) -> pyotp.TOTP:
    """Two-factor turned on through the API as the account page does it: the secret, then
    a code the authenticator app shows (the previous step's, so the browser's next code
    is still fresh)."""
    async with server.api() as client:
        begun = await client.post("/api/v1/me/totp", headers=headers)
        assert begun.status_code == 200, begun.text
        totp = pyotp.TOTP(begun.json()["secret"])
        confirmed = await client.post(
            "/api/v1/me/totp/confirm",
            json={"code": totp.at(time.time() - 30)},
            headers=headers,
        )
        assert confirmed.status_code == 200, confirmed.text
    return totp


async def _check_layout(page: Any, name: str) -> None:
    """axe-core and no sideways scroll at desktop width and at phone width, with a
    screenshot of each."""
    await assert_accessible(page, f"{name} (desktop)")
    await screenshot(page, f"{name}-desktop")
    await page.set_viewport_size(PHONE_VIEWPORT)
    await assert_accessible(page, f"{name} (phone)")
    await screenshot(page, f"{name}-phone")
    await page.set_viewport_size({"width": 1280, "height": 900})


async def _give_points(
    server: LiveServer, pool: asyncpg.Pool, member: Account, points: int, tmp: Path
) -> None:
    """Points through the points service, as the points tests give them."""
    platform = Platform(
        settings=make_settings(server.database_url, tmp),
        database=Database(pool=pool, dsn=server.database_url),
        clock=SystemClock(),
    )
    await _give(platform, member.id, points)


def _balance(page: Any, currency: str, stat: str) -> Any:
    return page.locator(f'.wallet-balance[data-currency="{currency}"] [data-stat="{stat}"] dd')


async def test_balances_history_and_a_withdrawal_with_step_up_that_completes_live(
    context: Any,
    wallet_server: LiveServer,
    pool: asyncpg.Pool,
    providers: tuple[DarajaSimulator, dict[str, str]],
) -> None:
    daraja = providers[0]
    member = await register(wallet_server, name="Wanjiru Wallet", kyc_level=2)
    now = datetime.now(UTC)
    await fund_wallet(pool, member.id, "KES", 10_000_000, now)
    await fund_wallet(pool, member.id, "USD", 5_000, now)
    page = await context.new_page()
    await sign_in(page, wallet_server, member, "/wallet")
    await page.wait_for_selector("body[data-ready='true']")

    await expect(_balance(page, "KES", "available")).to_have_text("100,000.00 KES")
    await expect(_balance(page, "USD", "available")).to_have_text("50.00 USD")
    rows = page.locator("#history-rows tr")
    await expect(rows).to_have_count(2)
    await expect(rows.nth(0)).to_contain_text("50.00 USD")
    await expect(page.locator("#withdraw-rules")).to_contain_text("KYC level 2")
    await expect(page.locator("#withdraw-rules")).to_contain_text("From 50,000.00 KES up")
    await expect(page.locator("#withdraw-rules")).to_contain_text("300,000.00 KES left today")
    await expect(page.locator("#connection")).to_have_attribute("data-state", "live")

    # Without two-factor, a large withdrawal says where to turn it on.
    await page.locator("#withdraw").get_by_label("Amount (KES)").fill("60000")
    notice = page.locator("#wd-two-factor")
    await expect(notice).to_be_visible()
    await expect(notice.get_by_role("link")).to_have_attribute("href", "/account#two-factor")
    await _check_layout(page, "wallet")

    totp = await _enrol_totp(wallet_server, await _login(wallet_server, member))
    await page.reload()
    await page.wait_for_selector("body[data-ready='true']")
    await page.locator("#withdraw").get_by_label("Amount (KES)").fill("60000")
    await page.locator("#withdraw").get_by_label("M-Pesa phone number").fill("0722 000 555")
    code = page.get_by_label("Code from your authenticator app")
    await expect(code).to_be_visible()

    # A wrong code is refused in words, next to the code.
    await code.fill("000000" if totp.now() != "000000" else "111111")
    await page.get_by_role("button", name="Withdraw").click()
    await expect(page.locator("#wd-totp_code-error")).to_contain_text("That code is wrong")
    await expect(code).to_have_attribute("aria-invalid", "true")

    await code.fill(totp.now())
    await page.get_by_role("button", name="Withdraw").click()
    await expect(page.locator("#wd-status")).to_contain_text("60,000.00 KES")
    await expect(page.locator("#wd-totp_code-error")).to_have_text("")
    payout_row = page.locator("#payout-rows tr").first
    await expect(payout_row).to_contain_text("Sent; waiting for M-Pesa")
    await expect(_balance(page, "KES", "available")).to_have_text("40,000.00 KES")
    await expect(_balance(page, "KES", "withdrawing")).to_have_text("60,000.00 KES")
    await expect(rows.first).to_contain_text("Withdrawal")
    await expect(rows.first).to_contain_text("40,000.00 KES")
    await screenshot(page, "wallet-withdrawal-sent")

    # Within its five minutes the step-up is not asked again (a code is good once); the
    # refusal that follows is in words, next to the amount.
    await page.locator("#withdraw").get_by_label("Amount (KES)").fill("50000")
    await page.locator("#withdraw").get_by_label("M-Pesa phone number").fill("0722 000 555")
    await page.get_by_role("button", name="Withdraw").click()
    await expect(page.locator("#wd-amount-error")).to_have_text(
        "Your available balance is not enough for this withdrawal."
    )
    await expect(page.locator("#payout-rows tr")).to_have_count(1)

    # M-Pesa pays and calls back: the open page hears it without a reload.
    payout_id = await payout_row.get_attribute("data-payout")
    assert payout_id is not None
    originator = await pool.fetchval(
        "SELECT originator_conversation_id FROM payouts WHERE id = $1", uuid.UUID(payout_id)
    )
    path, result = daraja.b2c_result(str(originator))
    async with wallet_server.api() as client:
        assert (await client.post(path, json=result)).status_code == 200
    await expect(page.locator("#wallet-live")).to_have_text(
        "Your withdrawal of KES 60,000.00 was paid out."
    )
    await expect(payout_row).to_contain_text("Paid out")
    await expect(_balance(page, "KES", "withdrawing")).to_have_text("0.00 KES")
    await expect(rows.first).to_contain_text("Payout sent")
    # The running balance per currency, newest first, on one history.
    balances_after = await page.locator("#history-rows tr td:nth-child(4)").all_inner_texts()
    assert balances_after == ["40,000.00 KES", "40,000.00 KES", "50.00 USD", "100,000.00 KES"]
    await page.get_by_role("region", name="History").get_by_label("Currency").select_option("USD")
    await expect(rows).to_have_count(1)
    await _check_layout(page, "wallet-after-withdrawal")


async def test_an_invoice_downloads_as_pdf_and_points_convert_after_the_rules_are_shown(
    context: Any, wallet_server: LiveServer, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    member = await register(wallet_server, name="Otieno Points", kyc_level=2)
    await fund_wallet(pool, member.id, "KES", 2_000_000, datetime.now(UTC))
    async with wallet_server.api() as client:
        bought = await client.post(
            "/api/v1/payments/charge",
            json={
                "purpose": "course",
                "reference": "course-risk-101",
                "amount_minor": 1_160_000,
                "currency": "KES",
                "idempotency_key": f"web-buy-{uuid.uuid4()}",
            },
            headers=await _login(wallet_server, member),
        )
        assert bought.status_code == 201, bought.text
    number = bought.json()["invoice_number"]
    await _give_points(wallet_server, pool, member, 1_000, tmp_path)

    page = await context.new_page()
    await sign_in(page, wallet_server, member, "/wallet")
    await page.wait_for_selector("body[data-ready='true']")

    invoice = page.locator(f'#invoice-rows tr[data-invoice="{number}"]')
    await expect(invoice).to_contain_text("11,600.00 KES")
    async with page.expect_download() as downloading:
        await invoice.get_by_role("button", name=f"Download {number} as PDF").click()
    download = await downloading.value
    assert download.suggested_filename == f"{number}.pdf"
    pdf = await asyncio.to_thread(Path(await download.path()).read_bytes)
    assert pdf.startswith(b"%PDF-")
    assert number.encode() in pdf

    # The rules come from the conversion policy, shown before anything is confirmed.
    await expect(page.locator("#points-balance")).to_have_text(
        "You have 1,000 points, worth 10.00 KES."
    )
    await expect(page.locator("#cv-rule-credit")).to_contain_text("KYC level 2")
    await expect(page.locator("#cv-rule-credit")).to_contain_text("30 days after you confirm")
    await expect(page.locator("#cv-rule-discount")).to_contain_text("Immediate")

    points_input = page.get_by_label("Points to convert")
    await points_input.fill("5000")
    await page.get_by_role("button", name="Review").click()
    await expect(page.locator("#cv-points-error")).to_have_text("You have 1,000 points to convert.")

    await points_input.fill("300")
    await expect(page.locator("#cv-preview")).to_have_text("Worth 3.00 KES as a discount code.")
    await page.get_by_role("button", name="Review").click()
    confirm = page.locator("#cv-confirm")
    await expect(confirm).to_be_visible()
    await expect(page.locator("#cv-points-error")).to_have_text("")
    await expect(confirm).to_contain_text("Convert 300 points into a discount code worth 3.00 KES?")
    await page.get_by_role("button", name="Confirm").click()
    await expect(page.locator("#cv-result")).to_contain_text("your discount code is PTS-")
    code = await page.locator("#cv-result").inner_text()
    await expect(page.locator("#redemption-rows tr").first).to_contain_text(
        code.split("code is ")[1].split(",")[0]
    )

    await page.get_by_label("Wallet credit").check()
    await points_input.fill("200")
    await page.get_by_role("button", name="Review").click()
    await expect(confirm).to_contain_text("Convert 200 points into wallet credit worth 2.00 KES?")
    await expect(confirm).to_contain_text("the credit lands around")
    await _check_layout(page, "wallet-convert-confirm")
    await page.get_by_role("button", name="Confirm").click()
    await expect(page.locator("#cv-result")).to_contain_text(
        "2.00 KES of wallet credit, held until"
    )
    await expect(page.locator("#redemption-rows tr").first).to_contain_text("Held until")
    await expect(page.locator("#points-balance")).to_have_text(
        "You have 500 points, worth 5.00 KES."
    )

    # Mentor credit: held like wallet credit, then a code that pays for sessions only.
    await expect(page.locator("#cv-rule-mentor_credit")).to_contain_text("KYC level 2")
    await page.get_by_label("Mentor credit (pays for sessions only)").check()
    await points_input.fill("100")
    await page.get_by_role("button", name="Review").click()
    await expect(confirm).to_contain_text(
        "Convert 100 points into mentor credit (sessions only) worth 1.00 KES?"
    )
    await page.get_by_role("button", name="Confirm").click()
    await expect(page.locator("#cv-result")).to_contain_text(
        "1.00 KES of mentor credit, held until"
    )
    await expect(page.locator("#cv-result")).to_contain_text(
        "the checkout offers when you book a session"
    )
    await expect(page.locator("#points-balance")).to_have_text(
        "You have 400 points, worth 4.00 KES."
    )
    await screenshot(page, "wallet-points-converted")


async def test_a_member_without_kyc_is_told_to_verify_before_withdrawing_or_taking_credit(
    context: Any, wallet_server: LiveServer, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    member = await register(wallet_server, name="Kamau Unverified")
    await fund_wallet(pool, member.id, "KES", 500_000, datetime.now(UTC))
    await _give_points(wallet_server, pool, member, 100, tmp_path)
    page = await context.new_page()
    await sign_in(page, wallet_server, member, "/wallet")
    await page.wait_for_selector("body[data-ready='true']")
    notice = page.locator("#withdraw-kyc")
    await expect(notice).to_be_visible()
    await expect(notice.get_by_role("link", name="Verify your identity")).to_have_attribute(
        "href", "/kyc"
    )
    await expect(page.get_by_role("button", name="Withdraw")).to_be_disabled()
    await expect(page.locator("#withdraw-rules")).to_contain_text("yours is level 0")
    await page.get_by_label("Wallet credit").check()
    await page.get_by_label("Points to convert").fill("50")
    await page.get_by_role("button", name="Review").click()
    confirm = page.locator("#cv-confirm")
    await expect(confirm).to_contain_text("verify it to level 2 first")
    await expect(confirm.get_by_role("link", name="Verify your identity")).to_be_visible()
    await expect(confirm.get_by_role("button", name="Confirm")).to_be_disabled()
    await assert_accessible(page, "wallet without KYC")
    await screenshot(page, "wallet-without-kyc")
