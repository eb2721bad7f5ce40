"""Joining a premium community group through the checkout in Chromium: the group shows
its monthly price to a member who has not paid, "Join" opens the checkout's quote (price,
VAT, the refund policy), "Confirm and pay" pays the first 30 days from the wallet, and
the group opens: its topics load and the page says until when and that it renews; the
member stops renewing there (and resumes). axe-core on the checkout and the opened group;
screenshots."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from tests.support import fund_wallet
from tests.web.conftest import (
    LiveServer,
    assert_accessible,
    platform_of,
    register,
    screenshot,
    sign_in,
)

pytestmark = pytest.mark.browser


async def test_a_member_joins_a_premium_group_through_the_checkout(
    context: Any, live_server: LiveServer, tmp_path: Path
) -> None:
    mentor = await register(live_server, name="Mara Mentor", role="mentor")
    buyer = await register(live_server, name="Bo Buyer")
    async with live_server.api() as client:
        login = await client.post(
            "/api/v1/login", json={"email": mentor.email, "password": mentor.password}
        )
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        group = await client.post(
            "/api/v1/community/groups",
            json={"slug": "vip-desk", "title": "VIP desk", "visibility": "public"},
            headers=headers,
        )
        assert group.status_code == 201, group.text
        priced = await client.put(
            f"/api/v1/community/groups/{group.json()['id']}/premium",
            json={"monthly_price_minor": 2_000, "currency": "USD"},
            headers=headers,
        )
        assert priced.status_code == 200, priced.text
    async with platform_of(live_server, tmp_path) as platform:
        await fund_wallet(platform.pool, buyer.id, "USD", 10_000, datetime.now(UTC))

    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    await sign_in(page, live_server, buyer, "/community/vip-desk")
    await expect(page.locator("body[data-ready=true]")).to_be_attached()
    await expect(page.locator("#premium-note")).to_contain_text("Premium group")
    await expect(page.locator("#topics")).to_contain_text("Join to read")
    join = page.get_by_role("button", name="Join for 20.00 USD a month")
    await join.click()
    dialog = page.get_by_role("dialog", name="Confirm and pay")
    await expect(dialog).to_contain_text("VIP desk (premium group)")
    await expect(dialog.locator("[data-line='total']")).to_contain_text("20.00 USD")
    await expect(dialog).to_contain_text("You pay for 30 days at a time")
    await assert_accessible(page, "premium group checkout")
    await screenshot(page, "community-premium-checkout")
    await dialog.get_by_role("button", name="Confirm and pay 20.00 USD").click()
    await expect(page.locator("#premium-note")).to_contain_text("your access runs until")
    await expect(page.locator("body[data-ready=true]")).to_be_attached()
    await expect(page.locator("#topics")).to_contain_text("No topics yet")
    await expect(page.locator("#new-topic")).to_be_visible()
    await expect(page.locator("#premium-note")).to_contain_text("renews for 30 days")
    await assert_accessible(page, "premium group, joined")
    await screenshot(page, "community-premium-joined")

    # The member stops the monthly charge from the same page, and it stays stopped.
    await page.get_by_role("button", name="Stop renewing").click()
    await expect(page.locator("#premium-note")).to_contain_text("does not renew")
    await page.reload()
    await expect(page.locator("body[data-ready=true]")).to_be_attached()
    await expect(page.locator("#premium-note")).to_contain_text("does not renew")
    await page.get_by_role("button", name="Renew each month").click()
    await expect(page.locator("#premium-note")).to_contain_text("renews for 30 days")
    await expect(page.get_by_role("button", name="Stop renewing")).to_be_visible()
    assert errors == []
