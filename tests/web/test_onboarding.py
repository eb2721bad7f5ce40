"""Onboarding in the browser: a new member signs up, lands on /onboarding, answers the
stepped quiz (told by the field when an answer will not do), sees the programs and mentors
suggested with the reasons for each, and joins the onboarding cohort (earning its points)
or says "not now"; a returning member reopens the page and changes their answers. The
demo data `dracarys up` seeds is what the quiz matches. Every step is checked with axe at
desktop and phone width."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from playwright.async_api import expect

from dracarys.curriculum import seed_curriculum_demo
from dracarys.identity import DEMO_MENTORS, seed_identity_demo
from dracarys.mentorship import seed_mentorship_demo
from tests.support import fund_wallet
from tests.web.conftest import (
    PASSWORD,
    PHONE_VIEWPORT,
    LiveServer,
    assert_accessible,
    platform_of,
    register,
    screenshot,
    sign_in,
)

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 900}
ONBOARDING_PROGRAM = "Start here: your first two weeks"


@pytest.fixture
async def demo(live_server: LiveServer, tmp_path: Path) -> LiveServer:
    """The live server with the demo's mentors, programs and onboarding cohort."""
    async with platform_of(live_server, tmp_path) as platform:
        await seed_identity_demo(platform)
        await seed_mentorship_demo(platform)
        await seed_curriculum_demo(platform)
    return live_server


@pytest.fixture
async def nairobi_context(browser: Any) -> AsyncIterator[Any]:
    """A browser in Nairobi that speaks English: the quiz presets what it can from it."""
    ctx = await browser.new_context(viewport=DESKTOP, timezone_id="Africa/Nairobi", locale="en-KE")
    try:
        yield ctx
    finally:
        await ctx.close()


async def check_both_widths(page: Any, label: str) -> None:
    await assert_accessible(page, f"{label} (desktop)")
    await page.set_viewport_size(PHONE_VIEWPORT)
    await assert_accessible(page, f"{label} (phone)")
    await screenshot(page, f"{label}-phone")
    await page.set_viewport_size(DESKTOP)
    await screenshot(page, label)


async def next_step(page: Any) -> None:
    await page.get_by_role("button", name="Next", exact=True).click()


async def api_headers(server: LiveServer, email: str) -> dict[str, str]:
    async with server.api() as client:
        login = await client.post("/api/v1/login", json={"email": email, "password": PASSWORD})
        assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


async def onboarding_state(server: LiveServer, email: str) -> tuple[dict[str, Any], Any]:
    headers = await api_headers(server, email)
    async with server.api() as client:
        quiz = (await client.get("/api/v1/matches/quiz", headers=headers)).json()
        offer = (await client.get("/api/v1/onboarding/cohort", headers=headers)).json()
    return quiz, offer


async def answer_quiz(page: Any, *, check_each_step: bool) -> None:
    """Beginner swing trader, forex, risk management, KES 3,000 a session, Nairobi,
    English and Swahili, 5 h a week; refusals on the way where an answer is missing."""
    step_status = page.locator("#step-status")
    await expect(step_status).to_have_text("Step 1 of 7: Experience and style")
    if check_each_step:
        await check_both_widths(page, "onboarding-step-1")
    await next_step(page)
    await expect(page.locator("#experience-error")).to_have_text("Choose how much you have traded.")
    await page.get_by_label("Beginner").check()
    await expect(page.locator("#experience-error")).to_be_empty()
    await page.get_by_label("How do you want to trade?").select_option("swing_trader")
    await next_step(page)

    await expect(step_status).to_contain_text("Step 2 of 7")
    if check_each_step:
        await check_both_widths(page, "onboarding-step-2")
    await page.get_by_label("Forex", exact=True).check()
    await next_step(page)

    await expect(step_status).to_contain_text("Step 3 of 7")
    if check_each_step:
        await check_both_widths(page, "onboarding-step-3")
    await page.get_by_label("Risk management", exact=True).check()
    await next_step(page)

    await expect(step_status).to_contain_text("Step 4 of 7")
    # The currency follows the browser's timezone; the budget is typed in shillings.
    await expect(page.get_by_label("Currency")).to_have_value("KES")
    await page.get_by_label("Budget per session").fill("three thousand")
    await next_step(page)
    await expect(page.locator("#budget_minor-error")).to_contain_text("amount in KES")
    assert await page.get_by_label("Budget per session").get_attribute("aria-invalid") == "true"
    if check_each_step:
        await check_both_widths(page, "onboarding-step-4-refused")
    await page.get_by_label("Budget per session").fill("3,000")
    await expect(page.locator("#budget_minor-error")).to_be_empty()
    await next_step(page)

    await expect(step_status).to_contain_text("Step 5 of 7")
    await expect(page.get_by_label("Timezone", exact=True)).to_have_value("Africa/Nairobi")
    if check_each_step:
        await check_both_widths(page, "onboarding-step-5")
    await next_step(page)

    await expect(step_status).to_contain_text("Step 6 of 7")
    await expect(page.get_by_label("English")).to_be_checked()
    await page.get_by_label("Swahili").check()
    if check_each_step:
        await check_both_widths(page, "onboarding-step-6")
    await next_step(page)

    await expect(step_status).to_contain_text("Step 7 of 7")
    await page.get_by_label("Hours a week for learning").select_option("5")
    if check_each_step:
        await check_both_widths(page, "onboarding-step-7")
    await page.get_by_role("button", name="See my suggestions").click()


async def expect_suggestions(page: Any) -> None:
    await expect(page.get_by_role("heading", name="Suggested for you")).to_be_visible()
    forex = page.locator("#programs li", has_text="Forex, risk first")
    await expect(forex).to_contain_text("covers forex (1 of your 1 markets)")
    await expect(forex).to_contain_text("teaches risk management (1 of your 1 goals)")
    await expect(forex).to_contain_text("within your budget (KES 2,500)")
    # The onboarding program is offered on its own, never among the suggestions.
    await expect(page.locator("#programs")).not_to_contain_text(ONBOARDING_PROGRAM)
    baraka = page.locator(f"#matches li[data-mentor-id='{DEMO_MENTORS[0].id}']")
    await expect(baraka).to_contain_text("Baraka Otieno")
    for reason in (
        "trades forex (1 of your 1 markets)",
        "teaches risk management (1 of your 1 goals)",
        "within your budget (KES 2,500/h)",
        "40 h a week inside your working hours",
        "speaks en, sw",
    ):
        await expect(baraka.get_by_role("listitem").filter(has_text=reason)).to_have_count(1)
    await expect(page.locator("#matches li").first).to_have_attribute(
        "data-mentor-id", str(DEMO_MENTORS[0].id)
    )
    book = baraka.get_by_role("link", name="See Baraka Otieno's profile and book")
    assert await book.get_attribute("href") == f"/mentors/{DEMO_MENTORS[0].id}"


async def points_for_onboarding(database_url: str, user_id: uuid.UUID) -> list[int]:
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            """SELECT delta FROM points_ledger
               WHERE user_id = $1 AND reason_code = 'onboarding_cohort_joined'""",
            user_id,
        )
    finally:
        await conn.close()
    return [r["delta"] for r in rows]


async def test_a_new_member_is_matched_with_reasons_and_joins_the_onboarding_cohort(
    nairobi_context: Any, demo: LiveServer
) -> None:
    page = await nairobi_context.new_page()
    email = f"zawadi-{uuid.uuid4().hex[:6]}@example.com"
    await page.goto(f"{demo.url}/signup")
    await page.get_by_label("Name").fill("Zawadi Newcomer")
    await page.get_by_label("E-mail").fill(email)
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="Create account").click()
    await page.wait_for_url(f"{demo.url}/onboarding")

    await answer_quiz(page, check_each_step=True)
    await expect_suggestions(page)
    await expect(page.locator("#answers-summary")).to_contain_text("3,000.00 KES")
    await check_both_widths(page, "onboarding-suggestions")

    await page.get_by_role("button", name="Next: the onboarding cohort").click()
    offer = page.locator("#cohort-offer")
    await expect(offer).to_contain_text(ONBOARDING_PROGRAM)
    await expect(offer).to_contain_text("Joining is free and earns 50 points.")
    await check_both_widths(page, "onboarding-cohort-offer")
    await page.get_by_role("button", name="Join the cohort").click()
    await expect(page.locator("#cohort-status")).to_have_text(
        "You joined. 50 points are on their way to your balance."
    )
    await expect(offer).to_contain_text("You are in")
    await expect(page.get_by_role("button", name="Join the cohort")).to_be_hidden()
    await check_both_widths(page, "onboarding-cohort-joined")

    quiz, cohort_offer = await onboarding_state(demo, email)
    assert cohort_offer["status"] == "joined"
    assert cohort_offer["cohort"]["program_title"] == ONBOARDING_PROGRAM
    assert quiz["answers"]["budget_minor"] == 300_000
    assert quiz["answers"]["languages"] == ["en", "sw"]
    session_user = await page.evaluate(
        "JSON.parse(localStorage.getItem('dracarys.session')).user_id"
    )
    user_id = uuid.UUID(session_user)
    # The embedded worker relays the join to points: the reward lands once.
    for _ in range(100):
        if await points_for_onboarding(demo.database_url, user_id):
            break
        await asyncio.sleep(0.1)
    assert await points_for_onboarding(demo.database_url, user_id) == [50]

    # Coming back: the answers are shown, and changing them changes the suggestions.
    await page.goto(f"{demo.url}/onboarding")
    summary = page.locator("#answers-summary")
    await expect(summary).to_contain_text("beginner")
    await expect(summary).to_contain_text("forex")
    await page.get_by_role("button", name="Change my answers").click()
    await expect(page.get_by_label("Beginner")).to_be_checked()
    await next_step(page)
    await expect(page.get_by_label("Forex", exact=True)).to_be_checked()
    await page.get_by_label("Crypto", exact=True).check()
    for _ in range(5):
        await next_step(page)
    await expect(page.get_by_label("Hours a week for learning")).to_have_value("5")
    await page.get_by_role("button", name="See my suggestions").click()
    await expect(summary).to_contain_text("forex, crypto")
    quiz, _ = await onboarding_state(demo, email)
    assert quiz["answers"]["markets"] == ["forex", "crypto"]
    await screenshot(page, "onboarding-answers-changed")


async def test_a_member_can_say_not_now_to_the_onboarding_cohort(
    nairobi_context: Any, demo: LiveServer
) -> None:
    member = await register(demo, name="Juma Later")
    page = await nairobi_context.new_page()
    await sign_in(page, demo, member, "/onboarding")

    await answer_quiz(page, check_each_step=False)
    await expect_suggestions(page)
    await page.get_by_role("button", name="Next: the onboarding cohort").click()
    await page.get_by_role("button", name="Not now").click()
    await expect(page.locator("#cohort-status")).to_have_text(
        "Not now: noted. You can join from this page whenever you like."
    )
    await expect(page.locator("#cohort-offer")).to_contain_text("You said not now on")
    # The door stays open: joining is still offered.
    await expect(page.get_by_role("button", name="Join the cohort")).to_be_visible()
    await check_both_widths(page, "onboarding-cohort-not-now")

    _, offer = await onboarding_state(demo, member.email)
    assert offer["status"] == "declined"
    assert offer["declined_at"] is not None
    assert await points_for_onboarding(demo.database_url, member.id) == []


async def enrolments_of(database_url: str, user_id: uuid.UUID) -> list[tuple[str, int, str]]:
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            """SELECT p.title, e.amount_minor, e.currency FROM cohort_enrolments e
               JOIN programs p ON p.id = e.program_id WHERE e.user_id = $1""",
            user_id,
        )
    finally:
        await conn.close()
    return [(r["title"], r["amount_minor"], r["currency"]) for r in rows]


async def test_a_suggested_paid_program_is_enrolled_in_through_the_checkout(
    nairobi_context: Any, demo: LiveServer, tmp_path: Path
) -> None:
    member = await register(demo, name="Wanjiru Learner")
    page = await nairobi_context.new_page()
    await sign_in(page, demo, member, "/onboarding")
    await answer_quiz(page, check_each_step=False)
    await expect_suggestions(page)

    forex = page.locator("#programs li", has_text="Forex, risk first")
    enrol = forex.get_by_role("button", name=re.compile(r"^Enrol in Cohort starting"))
    await expect(forex).to_contain_text("seats left")
    await enrol.click()
    # The checkout shows the seat's price and, with an empty wallet, cannot pay.
    dialog = page.get_by_role("dialog", name="Confirm and pay")
    await expect(dialog.locator("[data-line='price']")).to_contain_text("2,500.00 KES")
    await expect(dialog).to_contain_text("Leave before the cohort starts")
    await expect(dialog.get_by_role("button", name="Confirm and pay 2,500.00 KES")).to_be_disabled()
    assert await enrolments_of(demo.database_url, member.id) == []

    async with platform_of(demo, tmp_path) as platform:
        await fund_wallet(platform.pool, member.id, "KES", 300_000, datetime.now(UTC))
    await dialog.get_by_role("button", name="check again").click()
    await dialog.get_by_role("button", name="Confirm and pay 2,500.00 KES").click()
    await expect(dialog).to_have_count(0)
    await expect(forex.get_by_role("status")).to_contain_text("You are enrolled in Cohort starting")
    await expect(enrol).to_have_count(0)
    await check_both_widths(page, "onboarding-program-enrolled")
    assert await enrolments_of(demo.database_url, member.id) == [
        ("Forex, risk first", 250_000, "KES")
    ]
