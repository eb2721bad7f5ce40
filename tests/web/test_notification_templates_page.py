"""Notification texts in the browser: a member chooses Kiswahili on the account page; an
admin (signed in with two-factor) opens the Swahili withdrawal e-mail, sees a live
preview with sample values, is told in sentences what is wrong with a text before it is
saved, saves a version, and the member's next withdrawal e-mail (through SMTP) says it;
the admin then goes back to the built-in text from the version history."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from dracarys.wallet import PayoutCompleted
from tests.messaging.simulators import SmtpSimulator
from tests.notifications.conftest import deliver, event_of
from tests.web.conftest import (
    LiveServer,
    admin_with_two_factor,
    assert_accessible,
    platform_of,
    register,
    screenshot,
    sign_in,
    sign_in_with_code,
)

pytestmark = pytest.mark.browser

ROW = "#text-rows tr[data-text='payout_sent/email/sw']"


async def test_an_admin_edits_a_swahili_text_with_a_live_preview_and_the_next_email_says_it(
    browser: Any, live_server: LiveServer, mail_sink: SmtpSimulator, tmp_path: Path
) -> None:
    member = await register(live_server, name="Wanjiru Mwangi")
    member_context = await browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = await member_context.new_page()
        await sign_in(page, live_server, member, "/account")
        await expect(page.get_by_label("Language of your notifications")).to_be_enabled()
        await expect(page.get_by_label("Language of your notifications")).to_have_value("en")
        await page.get_by_label("Language of your notifications").select_option("sw")
        await page.get_by_role("button", name="Save profile").click()
        await expect(page.locator("#profile-saved")).to_have_text("Saved.")
        await page.reload()
        await expect(page.get_by_label("Language of your notifications")).to_have_value("sw")
    finally:
        await member_context.close()

    admin, secret, _ = await admin_with_two_factor(live_server)
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = await context.new_page()
        await sign_in_with_code(page, live_server, admin, secret, "/staff/templates")
        await page.get_by_label("Language").select_option("sw")
        row = page.locator(ROW)
        await expect(row.locator("[data-cell='version']")).to_have_text("Built in (0)")
        await row.get_by_role("button").click()
        await expect(page.locator("#editor-heading")).to_have_text(
            "Edit: Payout sent · E-mail · Swahili"
        )
        await expect(page.get_by_label("Subject")).to_have_value("Pesa zimetumwa: $amount")
        await expect(page.locator("#preview-subject")).to_have_text("Pesa zimetumwa: KES 12,000.00")

        # A misspelt value: the preview says so as it is typed, and saving is refused
        # with the sentence beside the field.
        await page.get_by_label("Subject").fill("Pesa zako ziko njiani: $kiasi")
        await expect(page.locator("#preview-problems")).to_contain_text(
            "\u201c$kiasi\u201d is not a value this notification has"
        )
        await expect(page.locator("#preview-subject")).to_have_text("Pesa zako ziko njiani: $kiasi")
        await page.get_by_role("button", name="Save as a new version").click()
        await expect(page.locator("#template-subject-error")).to_contain_text("$amount")
        await expect(page.locator("#template-subject-error")).to_contain_text("$kiasi")

        await page.get_by_label("Subject").fill("Pesa zako ziko njiani: $amount")
        await expect(page.locator("#preview-problems")).to_be_empty()
        await expect(page.locator("#preview-subject")).to_have_text(
            "Pesa zako ziko njiani: KES 12,000.00"
        )
        await page.get_by_role("button", name="Save as a new version").click()
        await expect(page.locator("#template-status")).to_have_text(
            "Saved as version 1: sent from the next notification on."
        )
        await expect(row.locator("[data-cell='version']")).to_have_text("Version 1")
        await expect(page.locator("#history-rows tr[data-version='1']")).to_contain_text(
            "Ada Admin"
        )
        await assert_accessible(page, "notification texts page")
        await screenshot(page, "notification-templates-saved")

        # The member's next withdrawal e-mail, through SMTP, says the saved version.
        async with platform_of(live_server, tmp_path) as platform:
            payout = PayoutCompleted(
                user_id=member.id,
                payout_id=uuid.uuid4(),
                amount_minor=250_000,
                currency="KES",
                method="mpesa",
            )
            await deliver(platform, [event_of(platform, payout)])
        subjects: list[str] = []
        for _ in range(100):
            subjects = [str(m["Subject"]) for m in mail_sink.to(member.email)]
            if "Pesa zako ziko njiani: KES 2,500.00" in subjects:
                break
            await page.wait_for_timeout(100)
        assert "Pesa zako ziko njiani: KES 2,500.00" in subjects

        # Back to the built-in text, as a new version.
        await page.get_by_role("button", name="Go back to built in (0)").click()
        await expect(page.locator("#template-status")).to_have_text(
            "Back to built in (0), saved as version 2."
        )
        await expect(page.get_by_label("Subject")).to_have_value("Pesa zimetumwa: $amount")
        await expect(row.locator("[data-cell='version']")).to_have_text("Version 2")
        await assert_accessible(page, "notification texts page after a revert")
    finally:
        await context.close()
