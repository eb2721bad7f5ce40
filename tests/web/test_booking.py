"""A mentee finds a vetted mentor, picks an open slot, confirms the checkout's quote and
books it from the mentors page; the booking the server confirmed is the one the page
lists. (tests/web/test_checkout.py covers the checkout itself: shortfall, top-up, codes.)"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from playwright.async_api import expect

from dracarys.clock import SystemClock
from dracarys.db import Database
from dracarys.db.pool import create_pool
from dracarys.platform import Platform
from tests.conftest import make_settings
from tests.support import fund_wallet, vet
from tests.web.conftest import Account, LiveServer, register, screenshot, sign_in

pytestmark = pytest.mark.browser


async def headers_of(server: LiveServer, account: Account) -> dict[str, str]:
    async with server.api() as client:
        login = await client.post(
            "/api/v1/login", json={"email": account.email, "password": account.password}
        )
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


async def test_mentee_books_an_open_slot_from_the_mentors_page(
    context: Any, live_server: LiveServer, tmp_path: Any
) -> None:
    mentor = await register(live_server, name="Wanjiru Mentor", role="mentor", kyc_level=2)
    mentee = await register(live_server, name="Kofi Booker")
    mentor_headers = await headers_of(live_server, mentor)
    async with live_server.api() as client:
        profile = await client.patch(
            f"/api/v1/users/{mentor.id}/mentor-profile",
            json={"specialties": ["forex"], "hourly_rate_minor": 150_000, "currency": "KES"},
            headers=mentor_headers,
        )
        assert profile.status_code == 200, profile.text
        every_day = [{"weekday": d, "start": "00:00", "end": "23:00"} for d in range(7)]
        schedule = await client.post(
            "/api/v1/schedules",
            json={"name": "Always", "timezone": "UTC", "weekly_hours": every_day},
            headers=mentor_headers,
        )
        assert schedule.status_code == 201, schedule.text
        session_type = await client.post(
            "/api/v1/session-types",
            json={
                "title": "Forex review",
                "kind": "one_on_one",
                "duration_minutes": 60,
                "price_minor": 150_000,
                "currency": "KES",
                "capacity": 1,
                "min_notice_minutes": 60,
            },
            headers=mentor_headers,
        )
        assert session_type.status_code == 201, session_type.text
    pool = await create_pool(live_server.database_url, min_size=1, max_size=2)
    try:
        platform = Platform(
            settings=make_settings(live_server.database_url, tmp_path),
            database=Database(pool=pool, dsn=live_server.database_url),
            clock=SystemClock(),
        )
        await vet(platform, mentor.id)
        await fund_wallet(pool, mentee.id, "KES", 1_000_000, datetime.now(UTC))
    finally:
        await pool.close()

    page = await context.new_page()
    await sign_in(page, live_server, mentee, "/mentors")
    card = page.locator(f"#results li[data-mentor-id='{mentor.id}']")
    await expect(card).to_contain_text("1,500.00 KES")
    await expect(card).not_to_contain_text("none in 14 days")  # open every day: a next free slot
    await card.get_by_role("button", name="Book Wanjiru Mentor").click()
    await expect(page.get_by_label("Session type")).to_contain_text("Forex review")
    first_slot = page.locator("#slots button").first
    await expect(first_slot).to_be_visible()
    await first_slot.click()
    dialog = page.get_by_role("dialog", name="Confirm and pay")
    await expect(dialog.locator("[data-line='total']")).to_contain_text("1,500.00 KES")
    await dialog.get_by_role("button", name="Confirm and pay 1,500.00 KES").click()
    await expect(dialog).to_have_count(0)
    await expect(page.locator("#booking-status")).to_contain_text("Booked: Forex review")

    async with live_server.api() as client:
        bookings = (
            await client.get("/api/v1/bookings", headers=await headers_of(live_server, mentee))
        ).json()
    assert len(bookings) == 1
    assert bookings[0]["amount_minor"] == 150_000
    assert uuid.UUID(bookings[0]["session"]["mentor_id"]) == mentor.id
    await expect(page.locator("#bookings li")).to_have_count(1)
    await expect(page.locator("#bookings")).to_contain_text("1,500.00 KES")
    await screenshot(page, "mentors-booked")
