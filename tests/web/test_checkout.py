"""The checkout in the browser: booking a paid session shows the server's quote (price,
VAT the invoice will charge, the refund policy, the wallet's balance), a short wallet
shows the shortfall and a "Top up" link and cannot pay, a funded one pays on "Confirm and
pay"; a discount code bought with points pays part of the next booking; a paid signal
feed is subscribed through the same dialog. Money is typed in major units on the pages
that take it (the mentors page's rate filter, the mentor console's feed plan)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from tests.support import fund_wallet, give_points, vet
from tests.web.conftest import (
    PHONE_VIEWPORT,
    Account,
    LiveServer,
    assert_accessible,
    platform_of,
    register,
    screenshot,
    sign_in,
)

pytestmark = pytest.mark.browser

EVERY_DAY = [{"weekday": d, "start": "00:00", "end": "23:00"} for d in range(7)]


async def headers_of(server: LiveServer, account: Account) -> dict[str, str]:
    async with server.api() as client:
        login = await client.post(
            "/api/v1/login", json={"email": account.email, "password": account.password}
        )
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


async def listed_mentor(
    server: LiveServer, tmp_path: Path, name: str, *, rate_minor: int = 150_000
) -> tuple[Account, dict[str, str]]:
    """A vetted mentor with a KES hourly rate, free every day (UTC)."""
    mentor = await register(server, name=name, role="mentor", kyc_level=2)
    headers = await headers_of(server, mentor)
    async with server.api() as client:
        profile = await client.patch(
            f"/api/v1/users/{mentor.id}/mentor-profile",
            json={"specialties": ["forex"], "hourly_rate_minor": rate_minor, "currency": "KES"},
            headers=headers,
        )
        assert profile.status_code == 200, profile.text
        schedule = await client.post(
            "/api/v1/schedules",
            json={"name": "Always", "timezone": "UTC", "weekly_hours": EVERY_DAY},
            headers=headers,
        )
        assert schedule.status_code == 201, schedule.text
    async with platform_of(server, tmp_path) as platform:
        await vet(platform, mentor.id)
    return mentor, headers


async def offer_session(server: LiveServer, headers: dict[str, str], price_minor: int) -> None:
    async with server.api() as client:
        session_type = await client.post(
            "/api/v1/session-types",
            json={
                "title": "Forex review",
                "kind": "one_on_one",
                "duration_minutes": 60,
                "price_minor": price_minor,
                "currency": "KES",
                "capacity": 1,
                "min_notice_minutes": 60,
            },
            headers=headers,
        )
        assert session_type.status_code == 201, session_type.text


async def bookings_of(server: LiveServer, account: Account) -> list[dict[str, Any]]:
    async with server.api() as client:
        response = await client.get("/api/v1/bookings", headers=await headers_of(server, account))
    result: list[dict[str, Any]] = response.json()
    return result


async def test_a_paid_booking_shows_the_quote_asks_for_a_top_up_then_pays_and_a_code_pays_less(
    context: Any, live_server: LiveServer, tmp_path: Path
) -> None:
    mentor, mentor_headers = await listed_mentor(live_server, tmp_path, "Amani Mentor")
    await offer_session(live_server, mentor_headers, 150_000)
    mentee = await register(live_server, name="Neema Buyer")

    page = await context.new_page()
    await sign_in(page, live_server, mentee, "/mentors")
    card = page.locator(f"#results li[data-mentor-id='{mentor.id}']")
    await card.get_by_role("button", name="Book Amani Mentor").click()
    await page.locator("#slots button").first.click()

    # The quote, as the server computed it: VAT at Kenya's 16%, included in the price.
    dialog = page.get_by_role("dialog", name="Confirm and pay")
    await expect(dialog.locator("[data-line='price']")).to_contain_text("1,500.00 KES")
    await expect(dialog.locator("[data-line='vat']")).to_contain_text("16%, KE")
    await expect(dialog.locator("[data-line='vat']")).to_contain_text("206.90 KES")
    await expect(dialog.locator("[data-line='balance']")).to_contain_text("0.00 KES")
    await expect(dialog).to_contain_text(
        "Free cancellation until 24 h before the start; 50% back after."
    )
    await expect(dialog).to_contain_text("released to the mentor 48 hours after the session ends")
    # An empty wallet: the shortfall, a way to top up, and no way to pay.
    await expect(dialog.locator("[data-line='shortfall']")).to_contain_text("1,500.00 KES")
    top_up = dialog.get_by_role("link", name="Top up your wallet")
    await expect(top_up).to_have_attribute("href", "/wallet")
    confirm = dialog.get_by_role("button", name="Confirm and pay 1,500.00 KES")
    await expect(confirm).to_be_disabled()
    await assert_accessible(page, "checkout with a shortfall")
    await screenshot(page, "checkout-shortfall")
    assert await bookings_of(live_server, mentee) == []

    # Money arrives (as a top-up would land it); checking again lets the buyer pay.
    async with platform_of(live_server, tmp_path) as platform:
        await fund_wallet(platform.pool, mentee.id, "KES", 500_000, datetime.now(UTC))
    await dialog.get_by_role("button", name="check again").click()
    await expect(dialog.locator("[data-line='balance']")).to_contain_text("5,000.00 KES")
    await expect(dialog.locator("[data-line='shortfall']")).to_have_count(0)
    await expect(confirm).to_be_enabled()
    await confirm.click()
    await expect(dialog).to_have_count(0)
    await expect(page.locator("#booking-status")).to_contain_text("Booked: Forex review")
    await expect(page.locator("#bookings li")).to_have_count(1)
    [first] = await bookings_of(live_server, mentee)
    assert first["amount_minor"] == 150_000

    # Points converted to a discount code (through the points API) pay part of the next one.
    async with platform_of(live_server, tmp_path) as platform:
        await give_points(platform, mentee.id, 20_000)
    async with live_server.api() as client:
        redeemed = await client.post(
            "/api/v1/wallet/convert-points",
            json={"points": 20_000, "target": "discount", "idempotency_key": f"web-{uuid.uuid4()}"},
            headers=await headers_of(live_server, mentee),
        )
        assert redeemed.status_code == 201, redeemed.text
        code = redeemed.json()["discount_code"]
    await page.locator("#slots button").first.click()
    await page.set_viewport_size(PHONE_VIEWPORT)
    dialog = page.get_by_role("dialog", name="Confirm and pay")
    await dialog.get_by_label("Discount code").fill("PTS-WRONGCODE")
    await dialog.get_by_role("button", name="Apply code").click()
    await expect(dialog.locator("#checkout-code-error")).to_contain_text(
        "not one of your discount codes"
    )
    await dialog.get_by_label("Discount code").fill(code.lower())
    await dialog.get_by_role("button", name="Apply code").click()
    await expect(dialog.locator("#checkout-code-error")).to_have_text("")
    await expect(dialog.locator("[data-line='discount']")).to_contain_text("200.00 KES")
    await expect(dialog.locator("[data-line='total']")).to_contain_text("1,300.00 KES")
    await expect(dialog.locator("[data-line='vat']")).to_contain_text("179.31 KES")
    await assert_accessible(page, "checkout with a discount code, phone")
    await screenshot(page, "checkout-discount-phone")
    await dialog.get_by_role("button", name="Confirm and pay 1,300.00 KES").click()
    await expect(dialog).to_have_count(0)
    await expect(page.locator("#bookings li")).to_have_count(2)
    amounts = sorted(b["amount_minor"] for b in await bookings_of(live_server, mentee))
    assert amounts == [130_000, 150_000]
    await assert_accessible(page, "mentors page after booking, phone")


async def test_closing_the_checkout_books_nothing(
    context: Any, live_server: LiveServer, tmp_path: Path
) -> None:
    mentor, mentor_headers = await listed_mentor(live_server, tmp_path, "Baraka Mentor")
    await offer_session(live_server, mentor_headers, 150_000)
    mentee = await register(live_server, name="Zawadi Browser")
    async with platform_of(live_server, tmp_path) as platform:
        await fund_wallet(platform.pool, mentee.id, "KES", 500_000, datetime.now(UTC))

    page = await context.new_page()
    await sign_in(page, live_server, mentee, "/mentors")
    card = page.locator(f"#results li[data-mentor-id='{mentor.id}']")
    await card.get_by_role("button", name="Book Baraka Mentor").click()
    await page.locator("#slots button").first.click()
    dialog = page.get_by_role("dialog", name="Confirm and pay")
    await expect(dialog.locator("[data-line='total']")).to_contain_text("1,500.00 KES")
    await dialog.get_by_role("button", name="Cancel").click()
    await expect(dialog).to_have_count(0)
    await page.locator("#slots button").first.click()
    # Escape once the dialog is open (it opens when the server's quote arrives).
    await expect(dialog.locator("[data-line='total']")).to_contain_text("1,500.00 KES")
    await page.keyboard.press("Escape")
    await expect(dialog).to_have_count(0)

    assert await bookings_of(live_server, mentee) == []
    async with live_server.api() as client:
        wallet = await client.get(
            f"/api/v1/wallets/{mentee.id}/balances", headers=await headers_of(live_server, mentee)
        )
    kes = next(b for b in wallet.json()["balances"] if b["currency"] == "KES")
    assert kes["available_minor"] == 500_000


async def test_a_paid_signal_feed_is_subscribed_through_the_checkout(
    context: Any, live_server: LiveServer, tmp_path: Path
) -> None:
    mentor, mentor_headers = await listed_mentor(live_server, tmp_path, "Chiku Signals")
    mentee = await register(live_server, name="Dalia Follower")
    async with platform_of(live_server, tmp_path) as platform:
        await fund_wallet(platform.pool, mentee.id, "KES", 100_000, datetime.now(UTC))

    # The mentor prices the feed in the console, in shillings (major units).
    console = await context.new_page()
    await sign_in(console, live_server, mentor, "/mentor")
    await console.wait_for_selector("#plan-form[data-loaded='true']")
    await expect(console.get_by_label("Monthly price (0 = free)")).to_have_value("0.00")
    await console.get_by_label("Currency").select_option("KES")
    await console.get_by_label("Monthly price (0 = free)").fill("250.505")
    await console.get_by_role("button", name="Save plan").click()
    await expect(console.locator("#plan-price-error")).to_contain_text("at most 2 digits")
    await console.get_by_label("Monthly price (0 = free)").fill("250.50")
    await console.get_by_role("button", name="Save plan").click()
    await expect(console.locator("#flash")).to_contain_text("Feed plan saved: 250.50 KES a month")
    async with live_server.api() as client:
        plan = (
            await client.get(
                f"/api/v1/trading/mentors/{mentor.id}/feed-plan", headers=mentor_headers
            )
        ).json()
    assert (plan["monthly_price_minor"], plan["currency"].strip()) == (25_050, "KES")
    await console.reload()
    await console.wait_for_selector("#plan-form[data-loaded='true']")
    await expect(console.get_by_label("Monthly price (0 = free)")).to_have_value("250.50")
    await expect(console.get_by_label("Currency")).to_have_value("KES")
    await assert_accessible(console, "mentor console")
    await console.set_viewport_size(PHONE_VIEWPORT)
    await assert_accessible(console, "mentor console, phone")
    await screenshot(console, "mentor-console-feed-plan-phone")
    await console.close()

    page = await context.new_page()
    await sign_in(page, live_server, mentee, "/signals")
    await page.wait_for_selector("body[data-feed-ready='0']")
    await page.get_by_label("Follow another mentor").select_option(str(mentor.id))
    await page.get_by_role("button", name="Subscribe").click()
    # First subscription: the risk disclaimer comes first, and nothing was charged.
    await page.get_by_role("button", name="I have read and accept this disclaimer").click()
    await expect(page.locator("#flash")).to_contain_text("Disclaimer accepted")
    await page.get_by_role("button", name="Subscribe").click()
    dialog = page.get_by_role("dialog", name="Confirm and pay")
    await expect(dialog).to_contain_text("Chiku Signals's signal feed")
    await expect(dialog.locator("[data-line='total']")).to_contain_text("250.50 KES")
    await expect(dialog.locator("[data-line='vat']")).to_contain_text("34.55 KES")
    await expect(dialog).to_contain_text("Cancel any time; the feed stays open until the 30 days")
    await assert_accessible(page, "signal feed checkout")
    await page.set_viewport_size(PHONE_VIEWPORT)
    await assert_accessible(page, "signal feed checkout, phone")
    await screenshot(page, "checkout-signal-feed-phone")
    await dialog.get_by_role("button", name="Confirm and pay 250.50 KES").click()
    await expect(dialog).to_have_count(0)
    following = page.locator(f"#subscriptions li[data-mentor-id='{mentor.id}']")
    await expect(following).to_contain_text("paid plan (paid)")
    async with live_server.api() as client:
        subs = (
            await client.get(
                "/api/v1/trading/subscriptions", headers=await headers_of(live_server, mentee)
            )
        ).json()
    assert [(s["mentor_id"], s["billing_status"]) for s in subs] == [(str(mentor.id), "paid")]
    await assert_accessible(page, "signal feed, phone")


async def test_the_mentor_search_takes_a_rate_in_major_units_of_a_currency(
    context: Any, live_server: LiveServer, tmp_path: Path
) -> None:
    cheap, _ = await listed_mentor(live_server, tmp_path, "Eshe Cheap", rate_minor=150_000)
    dear, _ = await listed_mentor(live_server, tmp_path, "Faraji Dear", rate_minor=900_000)
    mentee = await register(live_server, name="Gathoni Searcher")

    page = await context.new_page()
    await sign_in(page, live_server, mentee, "/mentors")
    await expect(page.locator(f"#results li[data-mentor-id='{dear.id}']")).to_have_count(1)
    await page.get_by_label("Max hourly rate").fill("2,000.5x")
    await page.get_by_role("button", name="Search").click()
    await expect(page.locator("#max_rate-error")).to_contain_text("Type an amount in KES")
    await page.get_by_label("Max hourly rate").fill("2,000")
    await page.get_by_label("Rate currency").select_option("KES")
    await page.get_by_role("button", name="Search").click()
    await expect(page.locator("#max_rate-error")).to_have_text("")
    await expect(page.locator(f"#results li[data-mentor-id='{dear.id}']")).to_have_count(0)
    await expect(page.locator(f"#results li[data-mentor-id='{cheap.id}']")).to_have_count(1)
    await expect(page.locator(f"#results li[data-mentor-id='{cheap.id}']")).to_contain_text(
        "1,500.00 KES"
    )
    await assert_accessible(page, "mentors page")
    await page.set_viewport_size(PHONE_VIEWPORT)
    await assert_accessible(page, "mentors page, phone")
    await screenshot(page, "mentors-rate-filter-phone")


async def test_points_are_turned_into_a_discount_from_the_checkout(
    context: Any, live_server: LiveServer, tmp_path: Path
) -> None:
    mentor, mentor_headers = await listed_mentor(live_server, tmp_path, "Hawa Mentor")
    await offer_session(live_server, mentor_headers, 150_000)
    mentee = await register(live_server, name="Imani Saver")
    async with platform_of(live_server, tmp_path) as platform:
        await fund_wallet(platform.pool, mentee.id, "KES", 500_000, datetime.now(UTC))
        await give_points(platform, mentee.id, 30_000)

    page = await context.new_page()
    await sign_in(page, live_server, mentee, "/mentors")
    card = page.locator(f"#results li[data-mentor-id='{mentor.id}']")
    await card.get_by_role("button", name="Book Hawa Mentor").click()
    await page.locator("#slots button").first.click()
    dialog = page.get_by_role("dialog", name="Confirm and pay")
    await expect(dialog).to_contain_text("You have 30,000 points, worth 300.00 KES.")
    await dialog.get_by_role("button", name="Use 30,000 points for 300.00 KES off").click()
    await expect(dialog.locator("[data-line='discount']")).to_contain_text("300.00 KES")
    await expect(dialog.locator("[data-line='total']")).to_contain_text("1,200.00 KES")
    await expect(dialog.locator("#checkout-points")).to_be_hidden()
    await assert_accessible(page, "checkout after using points")
    await dialog.get_by_role("button", name="Confirm and pay 1,200.00 KES").click()
    await expect(dialog).to_have_count(0)

    [booking] = await bookings_of(live_server, mentee)
    assert booking["amount_minor"] == 120_000
    async with live_server.api() as client:
        points = await client.get(
            "/api/v1/points/balance", headers=await headers_of(live_server, mentee)
        )
    assert points.json()["balance"] == 0
