"""A mentor's public profile in Chromium: a visitor reads who the mentor is, their session
types with the next open slot, reviews and courses, and is asked to sign up to book; a
member also sees the verified track record with the signal book's equity chart, and books
a slot from the profile through the checkout. An unknown mentor says so."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from dracarys.curriculum import seed_curriculum_demo
from dracarys.identity import DEMO_MENTORS, seed_identity_demo
from dracarys.mentorship import seed_mentorship_demo
from tests.support import fund_wallet
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

BARAKA = DEMO_MENTORS[0]
EQUITY_LABEL = re.compile(r"^Equity of the signal book: .* at the start, .* now, \d+ marks$")
CONFIRM = re.compile(r"^Confirm and pay ")


@pytest.fixture
async def demo(live_server: LiveServer, tmp_path: Path) -> LiveServer:
    """The live server with the demo's mentors, their session types and programs."""
    async with platform_of(live_server, tmp_path) as platform:
        await seed_identity_demo(platform)
        await seed_mentorship_demo(platform)
        await seed_curriculum_demo(platform)
    return live_server


async def publish_signal(server: LiveServer) -> None:
    """Baraka publishes a market buy of DEMO: the signal book trades it on the next bar."""
    async with server.api() as client:
        login = await client.post(
            "/api/v1/login", json={"email": BARAKA.email, "password": BARAKA.password}
        )
        assert login.status_code == 200, login.text
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        # The replay feed gives DEMO its first price a moment after the server starts.
        for _ in range(100):
            signal = await client.post(
                "/api/v1/trading/signals",
                json={"symbol": "DEMO", "side": "buy", "rationale": "Breakout above the range."},
                headers=headers,
            )
            if signal.status_code != 409:
                break
            await asyncio.sleep(0.2)
        assert signal.status_code == 201, signal.text
        for _ in range(150):
            curve = await client.get(
                f"/api/v1/trading/mentors/{BARAKA.id}/track-record/curve", headers=headers
            )
            if len(curve.json()["points"]) >= 2:
                return
            await asyncio.sleep(0.2)
    pytest.fail("the signal book marked no equity within 30 s")


async def test_a_visitor_reads_the_profile_and_is_asked_to_sign_up_to_book(
    context: Any, demo: LiveServer
) -> None:
    page = await context.new_page()
    await page.goto(f"{demo.url}/mentors/{BARAKA.id}")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Baraka Otieno")
    await expect(page.locator("#bio")).to_have_text(
        "Former bank FX desk trader; teaches risk first."
    )
    await expect(page.locator("#headline")).to_contain_text("Forex scalper")
    types = page.locator("#session-types li")
    await expect(types.first).to_contain_text("Sign up to book")
    await expect(page.locator("#courses")).to_contain_text("Forex, risk first")
    await expect(page.locator("#reviews")).to_contain_text("No reviews yet.")
    await expect(page.locator("#track-record")).to_contain_text(
        "Sign in to see the verified track record."
    )
    sign_up = page.get_by_role("link", name="Create an account to book Baraka Otieno")
    await expect(sign_up).to_have_attribute("href", "/signup")
    await expect(page.get_by_role("button", name="Sign out")).to_be_hidden()
    await assert_accessible(page, "mentor profile, visitor")
    await screenshot(page, "mentor-profile-visitor")
    await page.set_viewport_size(PHONE_VIEWPORT)
    await assert_accessible(page, "mentor profile, visitor, phone")
    overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 1
    await screenshot(page, "mentor-profile-visitor-phone")

    # The landing page's mentor cards lead to the profile.
    await page.goto(f"{demo.url}/")
    await page.get_by_role("link", name="Baraka Otieno").click()
    await page.wait_for_url(f"{demo.url}/mentors/{BARAKA.id}")

    await page.goto(f"{demo.url}/mentors/{uuid.uuid4()}")
    await expect(page.locator("#profile-status")).to_have_text(
        "There is no mentor taking mentees at this address."
    )


async def test_a_member_sees_the_track_record_chart_and_books_from_the_profile(
    context: Any, demo: LiveServer, tmp_path: Path
) -> None:
    await publish_signal(demo)
    mentee = await register(demo, name="Imani Profile")
    async with platform_of(demo, tmp_path) as platform:
        await fund_wallet(platform.pool, mentee.id, "KES", 500_000, datetime.now(UTC))
    page = await context.new_page()
    await sign_in(page, demo, mentee, "/mentors")
    await (
        page.locator(f"#results li[data-mentor-id='{BARAKA.id}']")
        .get_by_role("link", name="Baraka Otieno")
        .click()
    )
    await page.wait_for_url(f"{demo.url}/mentors/{BARAKA.id}")
    await page.wait_for_selector("body[data-profile-ready]", state="attached")

    record = page.locator("#track-record")
    await expect(record).to_contain_text("Signals")
    await expect(record.locator("dd").first).to_have_text("1")
    chart = page.locator("#record-chart")
    await expect(chart).to_be_visible()
    await expect(chart).to_have_attribute("aria-label", EQUITY_LABEL)
    marks = await page.evaluate("window.__charts.record.panes()[0].getSeries()[0].data().length")
    assert marks >= 2

    # A slot from the profile, through the checkout.
    first_type = page.locator("#session-types li").first
    slot = first_type.get_by_role("group").get_by_role("button").first
    await slot.click()
    dialog = page.get_by_role("dialog", name="Confirm and pay")
    await expect(dialog.locator("[data-line='price']")).to_be_visible()
    await dialog.get_by_role("button", name=CONFIRM).click()
    await expect(dialog).to_have_count(0)
    await expect(page.locator("#booking-status")).to_contain_text("Booked:")
    async with demo.api() as client:
        login = await client.post(
            "/api/v1/login", json={"email": mentee.email, "password": mentee.password}
        )
        bookings = await client.get(
            "/api/v1/bookings",
            headers={"Authorization": f"Bearer {login.json()['access_token']}"},
        )
    [booking] = bookings.json()
    assert booking["session"]["mentor_id"] == str(BARAKA.id)
    await assert_accessible(page, "mentor profile, member")
    await screenshot(page, "mentor-profile-member")
    await page.set_viewport_size(PHONE_VIEWPORT)
    await assert_accessible(page, "mentor profile, member, phone")
    await screenshot(page, "mentor-profile-member-phone")
