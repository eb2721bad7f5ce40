"""The session lifecycle in the browser, both sides, on a server whose clock the test
moves (to the join window, past the end): a mentee books through the checkout, the mentor
sees it in the week calendar, both join and see the room link, the mentor completes it,
both rate; a move keeps the payment and a late cancellation refunds exactly the amount the
page showed before confirming, as the wallet's balances say."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from playwright.async_api import expect

from dracarys.app import create_app
from dracarys.clock import ManualClock, SystemClock
from dracarys.db import Database
from dracarys.db.pool import create_pool
from dracarys.platform import Platform
from tests.conftest import make_settings
from tests.messaging.simulators import SmtpSimulator
from tests.support import fund_wallet, served_in_thread, vet
from tests.web.conftest import (
    PHONE_VIEWPORT,
    Account,
    LiveServer,
    _free_port,
    assert_accessible,
    nav_link,
    register,
    screenshot,
    sign_in,
)
from workers.runtime import embedded_background

pytestmark = pytest.mark.browser

PRICE = 150_000  # 1,500.00 KES
FUNDS = 1_000_000


@pytest.fixture
def clocked_server(
    database_url: str, tmp_path: Path, mail_sink: SmtpSimulator
) -> Iterator[tuple[LiveServer, ManualClock]]:
    """The platform as `live_server` runs it, on a clock the test moves."""
    clock = ManualClock(datetime.now(UTC))
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
    )
    app = create_app(
        settings, lifespan_hooks=[embedded_background], run_migrations=False, clock=clock
    )
    with served_in_thread(app, port, "clocked-server"):
        yield LiveServer(url=origin, database_url=database_url), clock


async def headers_of(server: LiveServer, account: Account) -> dict[str, str]:
    """A fresh token each time: the server's clock moves past tokens' expiry."""
    async with server.api() as client:
        login = await client.post(
            "/api/v1/login", json={"email": account.email, "password": account.password}
        )
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


async def kes_balance(server: LiveServer, account: Account) -> tuple[int, int]:
    """(available, posted) KES of the account's wallet, through the wallet's API."""
    async with server.api() as client:
        response = await client.get(
            f"/api/v1/wallets/{account.id}/balances", headers=await headers_of(server, account)
        )
    assert response.status_code == 200, response.text
    kes = next(b for b in response.json()["balances"] if b["currency"] == "KES")
    return kes["available_minor"], kes["posted_minor"]


async def bookings_of(server: LiveServer, account: Account) -> dict[str, Any]:
    async with server.api() as client:
        response = await client.get("/api/v1/bookings", headers=await headers_of(server, account))
    return {b["id"]: b for b in response.json()}


async def set_up_mentor(server: LiveServer, mentor: Account, mentee: Account, tmp: Path) -> str:
    """A vetted mentor open every hour of every day (UTC) with a 1:1 type; a funded mentee."""
    headers = await headers_of(server, mentor)
    async with server.api() as client:
        profile = await client.patch(
            f"/api/v1/users/{mentor.id}/mentor-profile",
            json={"specialties": ["forex"], "hourly_rate_minor": PRICE, "currency": "KES"},
            headers=headers,
        )
        assert profile.status_code == 200, profile.text
        every_day = [{"weekday": d, "start": "00:00", "end": "24:00"} for d in range(7)]
        schedule = await client.post(
            "/api/v1/schedules",
            json={"name": "Always", "timezone": "UTC", "weekly_hours": every_day},
            headers=headers,
        )
        assert schedule.status_code == 201, schedule.text
        session_type = await client.post(
            "/api/v1/session-types",
            json={
                "title": "Forex review",
                "kind": "one_on_one",
                "duration_minutes": 60,
                "price_minor": PRICE,
                "currency": "KES",
                "capacity": 1,
                "min_notice_minutes": 60,
            },
            headers=headers,
        )
        assert session_type.status_code == 201, session_type.text
    pool = await create_pool(server.database_url, min_size=1, max_size=2)
    try:
        platform = Platform(
            settings=make_settings(server.database_url, tmp),
            database=Database(pool=pool, dsn=server.database_url),
            clock=SystemClock(),
        )
        await vet(platform, mentor.id)
        await fund_wallet(pool, mentee.id, "KES", FUNDS, datetime.now(UTC))
    finally:
        await pool.close()
    return str(session_type.json()["id"])


async def book_later_by_api(
    server: LiveServer, mentee: Account, type_id: str, now: datetime
) -> dict[str, Any]:
    """A booking two days out (far enough to be moved under the policy)."""
    async with server.api() as client:
        later = (now + timedelta(days=2)).date()
        slots = await client.get(
            f"/api/v1/session-types/{type_id}/slots",
            params={"timezone": "UTC", "start_date": later.isoformat(), "days": 1},
        )
        starts_at = slots.json()["slots"][0]["starts_at"]
        booked = await client.post(
            "/api/v1/sessions/book",
            json={"session_type_id": type_id, "starts_at": starts_at},
            headers={
                **await headers_of(server, mentee),
                "Idempotency-Key": f"later-{uuid.uuid4()}",
            },
        )
    assert booked.status_code == 201, booked.text
    return dict(booked.json())


def monday_of(moment: datetime) -> datetime:
    day = moment.astimezone(UTC).date()
    return datetime.combine(day - timedelta(days=day.weekday()), datetime.min.time(), UTC)


async def check_both_widths(page: Any, label: str) -> None:
    await assert_accessible(page, f"{label} (desktop)")
    await page.set_viewport_size(PHONE_VIEWPORT)
    await assert_accessible(page, f"{label} (390 px)")
    await screenshot(page, f"{label}-phone")
    await page.set_viewport_size({"width": 1280, "height": 900})


async def test_a_session_from_booking_to_both_ratings_with_a_move_and_a_late_cancellation(
    browser: Any, clocked_server: tuple[LiveServer, ManualClock], tmp_path: Path
) -> None:
    server, clock = clocked_server
    mentor = await register(server, name="Wanjiru Teacher", role="mentor", kyc_level=2)
    mentee = await register(server, name="Kofi Learner")
    type_id = await set_up_mentor(server, mentor, mentee, tmp_path)
    mentee_ctx = await browser.new_context(viewport={"width": 1280, "height": 900})
    mentor_ctx = await browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        # ---- the mentee books through the checkout --------------------------------------
        learner = await mentee_ctx.new_page()
        await sign_in(learner, server, mentee, "/mentors")
        card = learner.locator(f"#results li[data-mentor-id='{mentor.id}']")
        await card.get_by_role("button", name="Book Wanjiru Teacher").click()
        await learner.locator("#slots button").first.click()
        checkout = learner.get_by_role("dialog", name="Confirm and pay")
        await checkout.get_by_role("button", name="Confirm and pay 1,500.00 KES").click()
        await expect(learner.locator("#booking-status")).to_contain_text("Booked: Forex review")
        [first] = (await bookings_of(server, mentee)).values()
        session_id = first["session"]["id"]
        starts_at = datetime.fromisoformat(first["session"]["starts_at"])
        await screenshot(learner, "sessions-01-booked-through-checkout")

        # The navigation leads each side to its sessions page.
        await expect(await nav_link(learner, "Teaching sessions")).to_be_hidden()
        await (await nav_link(learner, "My sessions")).click()
        await learner.wait_for_url(f"{server.url}/sessions")
        upcoming = learner.locator(f"#upcoming li[data-booking-id='{first['id']}']")
        await expect(upcoming).to_contain_text("Forex review · 1:1 with Wanjiru Teacher")
        await expect(upcoming).to_contain_text("1,500.00 KES")

        # ---- the mentor sees it in the week calendar ------------------------------------
        teacher = await mentor_ctx.new_page()
        await sign_in(teacher, server, mentor, "/mentor")
        await (await nav_link(teacher, "Teaching sessions")).click()
        await teacher.wait_for_url(f"{server.url}/mentor/sessions")
        await expect(teacher.locator("#week-zone")).to_contain_text("UTC")
        if monday_of(starts_at) > monday_of(clock.now()):
            await teacher.get_by_role("button", name="Next week").click()
        in_calendar = teacher.locator(f"#week [data-session-id='{session_id}']")
        day = starts_at.date().isoformat()
        await expect(teacher.locator(f"#week li[data-date='{day}']")).to_contain_text(
            "Forex review"
        )
        await expect(in_calendar).to_contain_text("Kofi Learner: not joined yet")
        await expect(in_calendar).to_contain_text(starts_at.strftime("%H:%M"))
        await screenshot(teacher, "sessions-02-mentor-week")
        await check_both_widths(teacher, "mentor-sessions")

        # ---- a move to another slot keeps the payment -----------------------------------
        later = await book_later_by_api(server, mentee, type_id, clock.now())
        await learner.reload()
        moving = learner.locator(f"#upcoming li[data-booking-id='{later['id']}']")
        before_move = await kes_balance(server, mentee)
        assert before_move == (FUNDS - 2 * PRICE, FUNDS)
        await moving.get_by_role("button", name="Move to another time").click()
        move_dialog = learner.get_by_role("dialog", name="Move this session")
        await expect(move_dialog.locator("[data-line='refund']")).to_contain_text("0.00 KES")
        await expect(move_dialog.locator("[data-line='charge']")).to_contain_text("0.00 KES")
        await screenshot(learner, "sessions-03-move-dialog")
        await move_dialog.locator("#reschedule-slots button").first.click()
        await expect(learner.locator("#sessions-status")).to_contain_text("Moved: Forex review")
        moved = (await bookings_of(server, mentee))[later["id"]]
        assert moved["session"]["starts_at"] != later["session"]["starts_at"]
        assert await kes_balance(server, mentee) == before_move  # nothing refunded or charged

        # ---- a late cancellation refunds what the page quoted ---------------------------
        # The moved session now starts within 24 hours: the late part of the policy applies.
        assert datetime.fromisoformat(moved["session"]["starts_at"]) - clock.now() < timedelta(
            hours=24
        )
        await moving.get_by_role("button", name="Cancel…").click()
        cancel_dialog = learner.get_by_role("dialog", name="Cancel this session?")
        half = PRICE * 5_000 // 10_000
        await expect(cancel_dialog.locator("[data-line='paid']")).to_contain_text("1,500.00 KES")
        await expect(cancel_dialog.locator("[data-line='refund']")).to_contain_text("750.00 KES")
        await expect(cancel_dialog.locator("#cancel-policy")).to_contain_text(
            "less than 24 hours before the start, so 50% of what you paid comes back"
        )
        await assert_accessible(learner, "cancel dialog")
        await screenshot(learner, "sessions-04-cancel-quote")
        # Until confirmed, nothing moved.
        assert await kes_balance(server, mentee) == before_move
        await cancel_dialog.get_by_role("button", name="Cancel and refund 750.00 KES").click()
        await expect(learner.locator("#sessions-status")).to_contain_text(
            "750.00 KES went back to your wallet"
        )
        assert (await bookings_of(server, mentee))[later["id"]]["refunded_minor"] == half
        assert await kes_balance(server, mentee) == (FUNDS - PRICE - half, FUNDS - half)
        await expect(learner.locator(f"#past li[data-booking-id='{later['id']}']")).to_contain_text(
            "refunded 750.00 KES"
        )
        await screenshot(learner, "sessions-05-cancelled")

        # ---- invitation and calendar feed -----------------------------------------------
        async with learner.expect_download() as download_info:
            await upcoming.get_by_role("button", name="Download invitation (.ics)").click()
        download = await download_info.value
        assert download.suggested_filename.endswith(".ics")
        invitation = await asyncio.to_thread(Path(await download.path()).read_text)
        assert "BEGIN:VCALENDAR" in invitation
        assert "Forex review" in invitation
        await learner.get_by_role("button", name="Create my calendar feed link").click()
        feed = learner.get_by_label("Your private calendar feed address")
        await expect(feed).to_be_visible()
        feed_url = await feed.input_value()
        assert "/api/v1/calendar/feeds/" in feed_url
        async with server.api() as client:
            ics = await client.get(feed_url.replace(server.url, ""))
        assert ics.status_code == 200
        assert "Forex review" in ics.text
        await check_both_widths(learner, "my-sessions")

        # ---- both join in the window: the page shows the room link ----------------------
        clock.set(starts_at - timedelta(minutes=5))
        await learner.reload()
        await upcoming.get_by_role("button", name="Join Forex review").click()
        learner_room = upcoming.get_by_role("link", name="Open the video room (new tab)")
        await expect(learner_room).to_be_visible()
        room_url = await learner_room.get_attribute("href")
        assert room_url is not None
        assert room_url.startswith("https://")
        await screenshot(learner, "sessions-06-mentee-joined")
        await teacher.reload()
        if monday_of(starts_at) > monday_of(clock.now()):
            await teacher.get_by_role("button", name="Next week").click()
        await expect(in_calendar).to_contain_text("Kofi Learner: in the room, waiting for you")
        await in_calendar.get_by_role("button", name="Join Forex review").click()
        teacher_room = in_calendar.get_by_role("link", name="Open the video room (new tab)")
        await expect(teacher_room).to_have_attribute("href", room_url)
        await expect(in_calendar).to_contain_text("Kofi Learner: attended")
        await screenshot(teacher, "sessions-07-mentor-joined")

        # ---- the mentor completes it, both rate -----------------------------------------
        clock.set(starts_at + timedelta(hours=1, minutes=1))
        before_completion = await kes_balance(server, mentee)
        await in_calendar.get_by_role("button", name="Mark completed").click()
        await expect(teacher.locator("#mentor-sessions-status")).to_contain_text(
            "Forex review is completed"
        )
        # The escrowed price left the mentee's wallet for good (released to the mentor).
        assert await kes_balance(server, mentee) == (
            before_completion[0],
            before_completion[1] - PRICE,
        )
        await in_calendar.get_by_label("Your rating of Kofi Learner").select_option("4")
        await in_calendar.get_by_label("Comment (optional)").fill("Came prepared.")
        await in_calendar.get_by_role("button", name="Rate Kofi Learner").click()
        await expect(in_calendar).to_contain_text("you rated 4 of 5")
        await in_calendar.get_by_label("Recording link for Forex review").fill(
            "https://video.example.com/rec/forex-review"
        )
        await in_calendar.get_by_role("button", name="Save recording link").click()
        await expect(teacher.locator("#mentor-sessions-status")).to_contain_text(
            "recording of Forex review is linked"
        )
        await screenshot(teacher, "sessions-08-mentor-rated")

        await learner.reload()
        done = learner.locator(f"#past li[data-booking-id='{first['id']}']")
        await expect(done).to_contain_text("Completed")
        await expect(done.get_by_role("link", name="Watch the recording")).to_have_attribute(
            "href", "https://video.example.com/rec/forex-review"
        )
        await done.get_by_label("Your rating of Wanjiru Teacher").select_option("5")
        # The NPS question analytics reads (issue 22): optional, 0-10.
        await done.get_by_label(
            "How likely are you to recommend Dracarys to a friend? (optional)"
        ).select_option("9")
        await done.get_by_role("button", name="Rate Wanjiru Teacher").click()
        await expect(done).to_contain_text("You rated Wanjiru Teacher 5 of 5.")
        reviews = await asyncpg.connect(server.database_url)
        try:
            assert (
                await reviews.fetchval(
                    "SELECT recommend FROM session_reviews WHERE rated_id = $1", mentor.id
                )
                == 9
            )
        finally:
            await reviews.close()
        await screenshot(learner, "sessions-09-mentee-rated")
        async with server.api() as client:
            of_mentor = (await client.get(f"/api/v1/mentors/{mentor.id}/reviews")).json()
            of_mentee = (await client.get(f"/api/v1/mentors/{mentee.id}/reviews")).json()
        assert [r["rating"] for r in of_mentor] == [5]
        assert [(r["rating"], r["comment"]) for r in of_mentee] == [(4, "Came prepared.")]
        await check_both_widths(learner, "my-sessions-past")
        # The mentor's page is the mentor's: a mentee is told so and sees no calendar.
        await learner.goto(f"{server.url}/mentor/sessions")
        await expect(learner.get_by_role("heading", name="Not allowed")).to_be_visible()
        await expect(learner.locator("#week")).to_have_count(0)
    finally:
        await mentee_ctx.close()
        await mentor_ctx.close()


async def test_the_mentor_edits_availability_offers_a_type_and_previews_its_slots(
    context: Any, live_server: LiveServer
) -> None:
    mentor = await register(live_server, name="Amani Planner", role="mentor", kyc_level=2)
    page = await context.new_page()
    await sign_in(page, live_server, mentor, "/mentor/sessions")
    await expect(page.locator("#week li.week-day")).to_have_count(7)
    monday = monday_of(datetime.now(UTC)).date()
    await expect(page.locator("#week li.week-day").first).to_have_attribute(
        "data-date", monday.isoformat()
    )
    await page.get_by_role("button", name="Previous week").click()
    await expect(page.locator("#week li.week-day").first).to_have_attribute(
        "data-date", (monday - timedelta(days=7)).isoformat()
    )
    await page.get_by_role("button", name="Next week").click()
    await page.get_by_role("button", name="Next week").click()
    await expect(page.locator("#week li.week-day").last).to_have_attribute(
        "data-date", (monday + timedelta(days=13)).isoformat()
    )
    await expect(page.get_by_label("Schedule", exact=True)).to_have_value("")

    # A new schedule: weekday mornings in Nairobi, and one date away all day.
    await page.get_by_label("Name", exact=True).fill("Mornings")
    await page.get_by_label("Timezone", exact=True).fill("Africa/Nairobi")
    # Monday until midnight: "To" 12:00 AM is the end of the day.
    await page.locator("#weekly-rows li").first.get_by_label("To").fill("00:00")
    away = (datetime.now(UTC) + timedelta(days=3)).date()
    await page.get_by_role("button", name="Add a date override").click()
    await page.locator("#override-rows li").last.get_by_label("Date").fill(away.isoformat())
    await page.get_by_role("button", name="Save schedule").click()
    await expect(page.locator("#mentor-sessions-status")).to_contain_text("Saved the schedule")
    headers = await headers_of(live_server, mentor)
    async with live_server.api() as client:
        schedules = (
            await client.get(f"/api/v1/mentors/{mentor.id}/schedules", headers=headers)
        ).json()
    assert len(schedules) == 1
    assert schedules[0]["timezone"] == "Africa/Nairobi"
    assert schedules[0]["date_overrides"] == [{"date": away.isoformat(), "intervals": []}]
    assert len(schedules[0]["weekly_hours"]) == 5
    assert schedules[0]["weekly_hours"][0] == {"weekday": 0, "start": "09:00", "end": "24:00"}
    await screenshot(page, "mentor-availability-saved")

    # A price typed in major units, refused with a sentence by its field, then accepted.
    form = page.locator("#type-form")
    await form.get_by_label("Title").fill("Options workshop")
    await form.get_by_label("Kind").select_option("workshop")
    await expect(form.get_by_label("Seats")).to_have_value("30")
    await form.get_by_label("Price", exact=True).fill("12.345")
    await form.get_by_role("button", name="Offer this session type").click()
    await expect(page.locator("#st-price-error")).to_contain_text("at most 2 digits")
    await form.get_by_label("Price", exact=True).fill("2,500.50")
    await expect(page.locator("#st-price-error")).to_have_text("")
    await form.get_by_label("Minimum notice (minutes)").fill("0")
    await form.get_by_role("button", name="Offer this session type").click()
    await expect(page.locator("#types")).to_contain_text("Options workshop")
    await expect(page.locator("#types")).to_contain_text("2,500.50 KES")
    await expect(page.locator("#types")).to_contain_text("30 seats")

    # The preview is the slot list mentees get, in the timezone asked for.
    await page.get_by_label("A mentee's timezone").fill("Africa/Nairobi")
    await page.get_by_label("A mentee's timezone").dispatch_event("change")
    preview = page.locator("#preview-slots li")
    await expect(preview.first).to_be_visible()
    async with live_server.api() as client:
        types = (await client.get(f"/api/v1/mentors/{mentor.id}/session-types")).json()
        slots = (
            await client.get(
                f"/api/v1/session-types/{types[0]['id']}/slots",
                params={"timezone": "Africa/Nairobi", "days": 7},
            )
        ).json()["slots"]
    assert await preview.count() == min(len(slots), 60)
    assert all(not s["starts_at"].startswith(away.isoformat()) for s in slots)
    await screenshot(page, "mentor-type-and-preview")
    await assert_accessible(page, "mentor sessions with a schedule")


async def test_the_mentor_calls_a_session_off_and_the_mentee_gets_everything_back(
    browser: Any, live_server: LiveServer, tmp_path: Path
) -> None:
    mentor = await register(live_server, name="Baraka Busy", role="mentor", kyc_level=2)
    mentee = await register(live_server, name="Zawadi Booked")
    type_id = await set_up_mentor(live_server, mentor, mentee, tmp_path)
    booking = await book_later_by_api(live_server, mentee, type_id, datetime.now(UTC))
    starts_at = datetime.fromisoformat(booking["session"]["starts_at"])
    assert await kes_balance(live_server, mentee) == (FUNDS - PRICE, FUNDS)
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = await context.new_page()
        await sign_in(page, live_server, mentor, "/mentor/sessions")
        if monday_of(starts_at) > monday_of(datetime.now(UTC)):
            await page.get_by_role("button", name="Next week").click()
        entry = page.locator(f"#week [data-session-id='{booking['session']['id']}']")
        await expect(entry).to_contain_text("Zawadi Booked: not joined yet")
        await entry.get_by_role("button", name="Mark completed").click()
        await expect(entry.locator(".session-error")).to_contain_text(
            "A session can be completed once it has ended."
        )
        await entry.get_by_role("button", name="Call off…").click()
        dialog = page.get_by_role("dialog", name="Call off Forex review?")
        await expect(dialog).to_contain_text(
            "1 mentee booked: each gets everything they paid back."
        )
        await assert_accessible(page, "call-off dialog")
        await screenshot(page, "mentor-call-off")
        await dialog.get_by_role("button", name="Call it off").click()
        await expect(page.locator("#mentor-sessions-status")).to_contain_text(
            "everyone booked was refunded in full"
        )
        await expect(entry).to_have_attribute("data-status", "cancelled")
        await expect(entry).to_contain_text("Zawadi Booked: cancelled their seat")
        assert await kes_balance(live_server, mentee) == (FUNDS, FUNDS)
        assert (await bookings_of(live_server, mentee))[booking["id"]]["refunded_minor"] == PRICE
    finally:
        await context.close()
