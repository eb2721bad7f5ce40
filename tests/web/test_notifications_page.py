"""The inbox in Chromium: the Inbox count in the header of a signed-in page rises live as
notifications land (the embedded worker takes the events from the outbox through the
notification workflows), the inbox lists them, a new one appears without a reload, and
reading, archiving and reading all bring the count down; the settings page saves
channels and quiet hours, with account and payment-problem messages locked on and push
opt-in (the push device flow is in test_push_page.py)."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from dracarys.db import transaction
from dracarys.outbox import emit_event
from dracarys.platform import Platform
from dracarys.wallet import PaymentCaptured, PayoutCompleted
from tests.web.conftest import (
    PHONE_VIEWPORT,
    LiveServer,
    assert_accessible,
    platform_of,
    register,
    screenshot,
    sign_in,
)

pytestmark = pytest.mark.browser


async def _settled(platform: Platform) -> None:
    """Until every event so far was taken by all its consumers."""
    for _ in range(150):
        if not await platform.pool.fetchval(
            "SELECT count(*) FROM outbox WHERE completed_at IS NULL"
        ):
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the worker did not take the events")


async def _receipt(platform: Platform, user_id: uuid.UUID, reference: str) -> None:
    async with transaction(platform.pool) as conn:
        await emit_event(
            conn,
            PaymentCaptured(
                user_id=user_id,
                charge_id=uuid.uuid4(),
                purpose="course",
                reference=reference,
                amount_minor=150_000,
                currency="KES",
                escrow_id=None,
            ),
        )


async def test_the_inbox_badge_rises_live_and_reading_brings_it_down(
    context: Any, live_server: LiveServer, tmp_path: Path
) -> None:
    member = await register(live_server, name="Ines Inbox")
    page = await context.new_page()
    await sign_in(page, live_server, member, "/notifications")
    inbox = page.get_by_role("navigation", name="Main").locator('a[href="/notifications"]')
    count = page.locator("#inbox-count")

    async with platform_of(live_server, tmp_path) as platform:
        # Signing in earns the day's login points, itself a notification: start from a
        # read inbox once the worker has taken every event so far.
        await _settled(platform)
        await page.reload()
        await expect(page.locator("body[data-ready=true]")).to_have_count(1)
        await page.get_by_role("button", name="Mark all read").click()
        await expect(page.locator("#inbox-note")).to_have_text("You have read everything.")
        await page.goto(f"{live_server.url}/courses")
        await expect(page.locator("body[data-inbox-unread='0']")).to_have_count(1)
        await expect(inbox).to_have_accessible_name("Inbox")
        await expect(count).to_be_hidden()

        await _receipt(platform, member.id, "C-1")
        await expect(count).to_have_text("1", timeout=15_000)
        await expect(inbox).to_have_accessible_name("Inbox, 1 unread")
        await _receipt(platform, member.id, "C-2")
        await expect(count).to_have_text("2", timeout=15_000)
        await screenshot(page, "inbox-badge-rose-live")

        await inbox.click()
        await page.wait_for_url(f"{live_server.url}/notifications")
        items = page.locator("#inbox-items li.inbox-item")
        await expect(items).to_have_count(2)
        await expect(items.first).to_contain_text("Payment received: KES 1,500.00")
        await expect(items.first).to_contain_text("(C-2)")

        # A new one lands while the inbox is open: listed at the top, counted.
        async with transaction(platform.pool) as conn:
            await emit_event(
                conn,
                PayoutCompleted(
                    user_id=member.id,
                    payout_id=uuid.uuid4(),
                    amount_minor=90_000,
                    currency="KES",
                    method="mpesa",
                ),
            )
        await expect(items).to_have_count(3, timeout=15_000)
        await expect(items.first).to_contain_text("Withdrawal sent: KES 900.00")
        await expect(count).to_have_text("3")

    await page.get_by_role("button", name="Mark read: Payment received: KES 1,500.00").first.click()
    await expect(count).to_have_text("2")
    await page.get_by_role("button", name="Archive: Withdrawal sent: KES 900.00").click()
    await expect(items).to_have_count(2)
    await expect(count).to_have_text("1")
    await assert_accessible(page, "inbox")
    await screenshot(page, "inbox-page")
    await page.get_by_role("button", name="Mark all read").click()
    await expect(count).to_be_hidden()
    await expect(page.locator("#inbox-note")).to_have_text("You have read everything.")

    await page.get_by_label("Which").select_option("true")
    await expect(items).to_have_count(1)
    await expect(items.first).to_contain_text("Withdrawal sent")

    await page.set_viewport_size(PHONE_VIEWPORT)
    await page.reload()
    await expect(page.locator("body[data-ready=true]")).to_have_count(1)
    await assert_accessible(page, "inbox on a phone")


async def test_notification_settings_save_channels_and_quiet_hours_with_locked_ones_on(
    context: Any, live_server: LiveServer
) -> None:
    member = await register(live_server, name="Sam Settings")
    page = await context.new_page()
    await sign_in(page, live_server, member, "/notifications/preferences")
    locked = page.get_by_label("SMS for Payment problems")
    await expect(locked).to_be_checked()
    await expect(locked).to_be_disabled()
    # Push is opt-in (off until ticked), even for the locked categories.
    await expect(page.get_by_label("Push for Sessions")).to_be_enabled()
    await expect(page.get_by_label("Push for Sessions")).not_to_be_checked()
    await expect(page.get_by_label("Push for Payment problems")).to_be_enabled()
    await expect(page.get_by_label("SMS for Sessions")).to_be_disabled()  # none is sent

    await page.get_by_label("E-mail for Sessions").uncheck()
    await page.get_by_label("Hold non-critical messages during quiet hours").check()
    await page.get_by_label("Quiet from").fill("21:30")
    await page.get_by_label("Quiet until").fill("06:45")
    await page.get_by_role("button", name="Save").click()
    await expect(page.locator("#prefs-note")).to_have_text("Saved.")

    await page.reload()
    await expect(page.locator("body[data-ready=true]")).to_have_count(1)
    await expect(page.get_by_label("E-mail for Sessions")).not_to_be_checked()
    await expect(page.get_by_label("In the app for Sessions")).to_be_checked()
    await expect(page.get_by_label("Quiet from")).to_have_value("21:30")
    await expect(page.get_by_label("Quiet until")).to_have_value("06:45")
    await assert_accessible(page, "notification settings")
    await screenshot(page, "notification-settings")
