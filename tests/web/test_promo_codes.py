"""Promo codes in the browser: an admin (signed in with two-factor) creates a code on the
promo code page, sees its uses and the uses remaining move as a purchase uses it, and
deactivates it; a buyer types an admin's promo code at the checkout, sees the discounted
quote before paying, and pays the discounted price."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from dracarys.db import transaction
from dracarys.wallet import PurchaseKind, redeem_discount_code
from tests.support import fund_wallet
from tests.web.conftest import (
    PHONE_VIEWPORT,
    LiveServer,
    admin_with_two_factor,
    assert_accessible,
    platform_of,
    register,
    screenshot,
    sign_in,
    sign_in_with_code,
)
from tests.web.test_checkout import bookings_of, listed_mentor, offer_session

pytestmark = pytest.mark.browser

PROMO = "/api/v1/admin/promo-codes"


async def test_an_admin_creates_a_promo_code_watches_its_uses_and_deactivates_it(
    context: Any, live_server: LiveServer, tmp_path: Path
) -> None:
    admin, secret, _ = await admin_with_two_factor(live_server)
    buyer = await register(live_server, name="Wanjiku Buyer")
    page = await context.new_page()
    await sign_in_with_code(page, live_server, admin, secret, "/staff/promo-codes")
    await expect(page.locator("#code-rows")).to_contain_text("No promo code yet.")

    # A fixed amount typed past the cent is refused beside its field, before any request.
    await page.get_by_label("Code", exact=True).fill("launch20")
    await page.get_by_label("Takes off").select_option("fixed")
    await page.get_by_label("Amount off").fill("12.345")
    await page.get_by_role("button", name="Create promo code").click()
    await expect(page.locator("#promo-value_minor-error")).to_contain_text(
        "at most 2 digits after the point"
    )
    # A percent code: 20% off sessions, 10 uses, one per member.
    await page.get_by_label("Takes off").select_option("percent")
    await page.get_by_label("Percent off").fill("20")
    await page.get_by_label("Uses in all").fill("10")
    await page.get_by_label("Uses per member").fill("1")
    await page.get_by_label("Mentor sessions").check()
    await page.get_by_label("Note for staff (optional)").fill("Launch week flyer")
    await page.get_by_role("button", name="Create promo code").click()
    await expect(page.locator("#promo-status")).to_have_text("Created LAUNCH20: 20% off.")
    row = page.locator("#code-rows tr[data-code='LAUNCH20']")
    await expect(row).to_contain_text("20%")
    await expect(row).to_contain_text("sessions")
    await expect(row).to_contain_text("Active")
    await expect(row.locator("[data-cell='uses']")).to_have_text("0 (up to 1 each)")
    await expect(row.locator("[data-cell='remaining']")).to_have_text("10")
    # The same name again is refused beside the code field.
    await page.get_by_label("Code", exact=True).fill("LAUNCH20")
    await page.get_by_label("Percent off").fill("30")
    await page.get_by_role("button", name="Create promo code").click()
    await expect(page.locator("#promo-code-error")).to_contain_text(
        "There is a code LAUNCH20 already"
    )
    await assert_accessible(page, "promo code page")
    await screenshot(page, "promo-codes-created")

    # A purchase uses it (as a booking does, in its own transaction).
    async with (
        platform_of(live_server, tmp_path) as platform,
        transaction(platform.pool) as conn,
    ):
        await redeem_discount_code(
            conn,
            code="launch20",
            user_id=buyer.id,
            price_minor=150_000,
            currency="KES",
            purchase=PurchaseKind.SESSION,
            used_for=f"booking:{uuid.uuid4()}",
            now=platform.clock.now(),
        )
    await page.reload()
    await expect(row.locator("[data-cell='uses']")).to_have_text("1 (up to 1 each)")
    await expect(row.locator("[data-cell='remaining']")).to_have_text("9")

    await row.get_by_role("button", name="Deactivate LAUNCH20").click()
    await row.get_by_role("button", name="Yes, deactivate LAUNCH20").click()
    await expect(row).to_contain_text("Deactivated")
    await expect(page.locator("#codes-status")).to_have_text("LAUNCH20 is deactivated.")
    await expect(row.get_by_role("button")).to_have_count(0)
    await page.set_viewport_size(PHONE_VIEWPORT)
    await assert_accessible(page, "promo code page, phone")
    await screenshot(page, "promo-codes-deactivated-phone")


async def test_a_buyer_applies_a_promo_code_at_checkout_and_pays_the_discounted_price(
    context: Any, live_server: LiveServer, tmp_path: Path
) -> None:
    _, _, admin_headers = await admin_with_two_factor(live_server)
    async with live_server.api() as client:
        for body in (
            {"code": "WELCOME20", "kind": "percent", "percent_bps": 2_000, "max_uses": 100},
            {
                "code": "COURSES-ONLY",
                "kind": "percent",
                "percent_bps": 5_000,
                "purchase_kinds": ["cohort"],
            },
        ):
            created = await client.post(PROMO, json=body, headers=admin_headers)
            assert created.status_code == 201, created.text
    mentor, mentor_headers = await listed_mentor(live_server, tmp_path, "Amani Promo")
    await offer_session(live_server, mentor_headers, 150_000)
    buyer = await register(live_server, name="Neema Promo")
    async with platform_of(live_server, tmp_path) as platform:
        await fund_wallet(platform.pool, buyer.id, "KES", 500_000, datetime.now(UTC))

    page = await context.new_page()
    await sign_in(page, live_server, buyer, "/mentors")
    card = page.locator(f"#results li[data-mentor-id='{mentor.id}']")
    await card.get_by_role("button", name="Book Amani Promo").click()
    await page.locator("#slots button").first.click()
    dialog = page.get_by_role("dialog", name="Confirm and pay")
    await expect(dialog.locator("[data-line='total']")).to_contain_text("1,500.00 KES")

    code_box = dialog.get_by_label("Promo or discount code")
    await code_box.fill("courses-only")
    await dialog.get_by_role("button", name="Apply code").click()
    await expect(dialog.locator("#checkout-code-error")).to_contain_text(
        "Promo code COURSES-ONLY pays for cohorts only"
    )
    await code_box.fill("welcome20")
    await dialog.get_by_role("button", name="Apply code").click()
    await expect(dialog.locator("#checkout-code-error")).to_have_text("")
    discount = dialog.locator("[data-line='discount']")
    await expect(discount).to_contain_text("Promo WELCOME20 (20% off)")
    await expect(discount).to_contain_text("300.00 KES")
    await expect(dialog.locator("[data-line='total']")).to_contain_text("1,200.00 KES")
    await expect(dialog.locator("[data-line='vat']")).to_contain_text("165.52 KES")
    await assert_accessible(page, "checkout with a promo code")
    await screenshot(page, "checkout-promo-code")
    assert await bookings_of(live_server, buyer) == []  # a quote takes nothing

    await dialog.get_by_role("button", name="Confirm and pay 1,200.00 KES").click()
    await expect(dialog).to_have_count(0)
    await expect(page.locator("#booking-status")).to_contain_text("Booked: Forex review")
    [booking] = await bookings_of(live_server, buyer)
    assert booking["amount_minor"] == 120_000
    async with live_server.api() as client:
        [listed] = [
            c
            for c in (await client.get(PROMO, headers=admin_headers)).json()
            if c["code"] == "WELCOME20"
        ]
    assert (listed["uses"], listed["remaining"]) == (1, 99)
