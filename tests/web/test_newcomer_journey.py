"""A newcomer's whole first visit, in Chromium, on the platform as `dracarys up` serves it
(no payment provider: the payments sandbox): land → sign up → verify from the mail → the
onboarding quiz → matched mentors with reasons → top up by card through the sandbox's
checkout page → book a paid session through the checkout → the booking and its invoice."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from tests.messaging.simulators import SmtpSimulator
from tests.wallet.sandboxed import UpServer, free_port, serve_up, up_settings
from tests.web.conftest import PASSWORD, LiveServer, assert_accessible, screenshot
from tests.web.test_checkout import listed_mentor, offer_session
from tests.web.test_onboarding import answer_quiz
from workers.runtime import embedded_background

pytestmark = pytest.mark.browser
TIMEOUT_MS = 20_000
VERIFY_LINK = re.compile(r"https?://\S+/verify-email\?token=[A-Za-z0-9_\-]+")


@pytest.fixture
def up(database_url: str, tmp_path: Path, mail_sink: SmtpSimulator) -> Iterator[UpServer]:
    port = free_port()
    settings = up_settings(database_url, tmp_path, port, DRACARYS_SMTP_PORT=str(mail_sink.port))
    with serve_up(settings, port, [embedded_background]) as server:
        yield server


async def test_a_newcomer_lands_signs_up_is_matched_tops_up_books_and_sees_the_invoice(
    browser: Any, up: UpServer, mail_sink: SmtpSimulator, tmp_path: Path
) -> None:
    live = LiveServer(url=up.url, database_url=str(up.settings.database_url))
    mentor, mentor_headers = await listed_mentor(live, tmp_path, "Amani Mentor")
    await offer_session(live, mentor_headers, 150_000)

    context = await browser.new_context(
        viewport={"width": 1280, "height": 900}, timezone_id="Africa/Nairobi", locale="en-KE"
    )
    try:
        page = await context.new_page()
        # Land, and sign up from the landing page.
        await page.goto(f"{up.url}/")
        await page.get_by_role("link", name="Create a free account").click()
        await page.wait_for_url(f"{up.url}/signup")
        email = "wanjiku.newcomer@example.com"
        await page.get_by_label("Name").fill("Wanjiku Newcomer")
        await page.get_by_label("E-mail").fill(email)
        await page.get_by_label("Password", exact=True).fill(PASSWORD)
        await page.get_by_role("button", name="Create account").click()
        await page.wait_for_url(f"{up.url}/onboarding", timeout=TIMEOUT_MS)
        await screenshot(page, "journey-1-onboarding")

        # Verify the address from the mail the sign-up sent.
        [message] = await mail_sink.wait_for(email)
        body = message.get_body(preferencelist=("plain",))
        assert body is not None
        [link] = VERIFY_LINK.findall(body.get_content())
        verify = await context.new_page()
        await verify.goto(link)
        await expect(verify.get_by_role("main")).to_contain_text("verified", timeout=TIMEOUT_MS)
        await screenshot(verify, "journey-2-verified")
        await verify.close()

        # The quiz, then the matched mentors with the reasons they match.
        await answer_quiz(page, check_each_step=False)
        amani = page.locator(f"#matches li[data-mentor-id='{mentor.id}']")
        await expect(amani).to_contain_text("Amani Mentor", timeout=TIMEOUT_MS)
        await expect(amani).to_contain_text("trades forex")
        await assert_accessible(page, "journey: matched mentors")
        await screenshot(page, "journey-3-matches")

        # Top up by card through the sandbox's hosted checkout page.
        await page.goto(f"{up.url}/wallet")
        await page.locator("#topup").get_by_label("Amount").fill("2000")
        await page.get_by_role("button", name="Continue to card payment").click()
        await page.wait_for_url(f"{up.url}/sandbox/stripe/checkout/*", timeout=TIMEOUT_MS)
        await page.get_by_label("Card number").fill("4242 4242 4242 4242")
        await page.get_by_role("button", name="Pay KES 2,000.00").click()
        await page.wait_for_url(f"{up.url}/wallet*", timeout=TIMEOUT_MS)
        await (
            page.locator("#topup-status")
            .get_by_text("Your KES balance is now 2,000.00 KES.")
            .wait_for(timeout=TIMEOUT_MS)
        )
        await screenshot(page, "journey-4-topped-up")

        # Book through the checkout: the quote first, the charge only on confirmation.
        await page.goto(f"{up.url}/mentors")
        card = page.locator(f"#results li[data-mentor-id='{mentor.id}']")
        await card.get_by_role("button", name="Book Amani Mentor").click()
        await page.locator("#slots button").first.click()
        dialog = page.get_by_role("dialog", name="Confirm and pay")
        await expect(dialog.locator("[data-line='balance']")).to_contain_text("2,000.00 KES")
        await screenshot(page, "journey-5-checkout")
        await dialog.get_by_role("button", name="Confirm and pay 1,500.00 KES").click()
        await expect(dialog).to_have_count(0)
        await expect(page.locator("#bookings li")).to_have_count(1, timeout=TIMEOUT_MS)
        await expect(page.locator("#bookings li")).to_contain_text("Forex review")

        # The wallet shows what is left and the booking's invoice, with its PDF.
        await page.goto(f"{up.url}/wallet")
        invoice = page.locator("#invoice-rows tr").first
        await expect(invoice).to_contain_text("1,500.00", timeout=TIMEOUT_MS)
        pdf = invoice.get_by_role("button", name=re.compile("as PDF"))
        async with page.expect_download() as download_info:
            await pdf.click()
        download = await download_info.value
        saved = tmp_path / "invoice.pdf"
        await download.save_as(saved)
        assert saved.read_bytes().startswith(b"%PDF")
        await assert_accessible(page, "journey: wallet after booking")
        await screenshot(page, "journey-6-invoice")
    finally:
        await context.close()
