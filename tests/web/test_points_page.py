"""The points page in Chromium: an award a rule refused is shown with the reason in words
and can be appealed from the page (a too-short reason is refused by its field); the
appeal shows as waiting, then as granted with the points once a reviewer decides; the
member's redemptions are listed with their discount code."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from pathlib import Path
from typing import Any

import pyotp
import pytest
from playwright.async_api import expect

from dracarys.curriculum import seed_curriculum_demo
from dracarys.db import transaction
from dracarys.identity import seed_identity_demo
from dracarys.mentorship import seed_mentorship_demo
from dracarys.outbox import emit
from dracarys.points.abuse.models import AppealDecisionInput
from dracarys.points.abuse.service import decide_appeal
from tests.support import give_points
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


async def test_a_refused_award_is_appealed_from_the_points_page_and_granted(
    context: Any, live_server: LiveServer, tmp_path: Path
) -> None:
    member = await register(live_server, name="Amara Appeal")
    async with platform_of(live_server, tmp_path) as platform:
        # Four shares in a day: the rule's daily cap refuses the fourth (the worker the
        # live server runs takes them from the outbox).
        async with transaction(platform.pool) as conn:
            for n in range(4):
                await emit(
                    conn, "social.post_shared", {"user_id": str(member.id), "share_id": f"s{n}"}
                )
        for _ in range(100):
            denied = await platform.pool.fetchval(
                "SELECT count(*) FROM points_denials WHERE user_id = $1", member.id
            )
            if denied:
                break
            await asyncio.sleep(0.1)
        assert denied == 1

    page = await context.new_page()
    await sign_in(page, live_server, member, "/points")
    denial = page.locator("#denials li").first
    await expect(denial).to_contain_text("50 points not given")
    await expect(denial).to_contain_text(
        "Because the rule's limit for the period was already reached."
    )
    await denial.get_by_role("button", name="Appeal: 50 points").click()
    reason = denial.get_by_label("Why should these points be given?")
    await expect(reason).to_be_focused()
    await reason.fill("ok")
    await denial.get_by_role("button", name="Send the appeal").click()
    await expect(denial.locator(".field-error")).to_have_text(
        "Say in a few words why (at least 5 characters)."
    )
    await reason.fill("My fourth share was a real one, to my trading club.")
    await expect(denial.locator(".field-error")).to_have_text("")
    await denial.get_by_role("button", name="Send the appeal").click()
    appeal = page.locator("#appeals li").first
    await expect(appeal).to_contain_text("waiting for a reviewer")
    await expect(page.locator("#denials li").first).to_contain_text("Appealed: see Your appeals.")
    await assert_accessible(page, "points page with an appeal")
    await screenshot(page, "points-appeal-waiting")

    appeal_id = uuid.UUID(await appeal.get_attribute("data-appeal-id") or "")
    async with platform_of(live_server, tmp_path) as platform:
        await decide_appeal(
            platform,
            appeal_id,
            AppealDecisionInput(decision="grant", note="Checked the share: it was real."),
            reviewer=uuid.uuid4(),
            source_ip=None,
        )
        await give_points(platform, member.id, 20_000)
    async with live_server.api() as client:
        login = await client.post(
            "/api/v1/login", json={"email": member.email, "password": member.password}
        )
        converted = await client.post(
            "/api/v1/wallet/convert-points",
            json={"points": 10_000, "target": "discount", "idempotency_key": str(uuid.uuid4())},
            headers={"Authorization": f"Bearer {login.json()['access_token']}"},
        )
        assert converted.status_code == 201, converted.text
        code = converted.json()["discount_code"]

    await page.get_by_role("button", name="Refresh").click()
    await expect(appeal).to_contain_text("granted")
    await expect(appeal).to_contain_text("50 points given.")
    await expect(appeal).to_contain_text("Reviewer: Checked the share: it was real.")
    redemption = page.locator("#redemptions li").first
    await expect(redemption).to_contain_text("10,000 points → discount")
    await expect(redemption).to_contain_text(f"code {code}")
    await page.set_viewport_size(PHONE_VIEWPORT)
    await assert_accessible(page, "points page, appeal granted, phone")
    await screenshot(page, "points-appeal-granted-phone")


async def _admin_with_two_factor(server: LiveServer) -> tuple[Any, str]:
    """An admin enrolled in TOTP through the API; returns the account and its secret."""
    admin = await register(server, name="Ada Admin", role="admin")
    async with server.api() as client:
        login = await client.post(
            "/api/v1/login", json={"email": admin.email, "password": admin.password}
        )
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        enrolment = await client.post("/api/v1/me/totp", headers=headers)
        secret = enrolment.json()["secret"]
        confirmed = await client.post(
            "/api/v1/me/totp/confirm", json={"code": pyotp.TOTP(secret).now()}, headers=headers
        )
        assert confirmed.status_code == 200, confirmed.text
        saved = await client.put(
            "/api/v1/admin/points/merch/items/dracarys-mug",
            json={"name": "Dracarys mug", "points": 2_500, "stock": 10},
            headers=headers,
        )
        assert saved.status_code == 200, saved.text
    return admin, secret


async def test_merch_is_redeemed_on_the_points_page_and_fulfilled_from_the_staff_home(
    browser: Any, context: Any, live_server: LiveServer, tmp_path: Path
) -> None:
    admin, secret = await _admin_with_two_factor(live_server)
    member = await register(live_server, name="Baraka Merch")
    async with platform_of(live_server, tmp_path) as platform:
        await give_points(platform, member.id, 3_000)

    page = await context.new_page()
    await sign_in(page, live_server, member, "/points")
    mug = page.locator("#merch-items li[data-merch='dracarys-mug']")
    await expect(mug).to_contain_text("10 left")
    await mug.get_by_role("button", name="Redeem 2,500 points for Dracarys mug").click()
    await mug.get_by_role("button", name="Confirm").click()
    # No address on the profile yet: nothing is spent, and the page says what to do.
    await expect(page.locator("#merch-error")).to_contain_text("add one on your Account page")
    await expect(page.locator("#balance")).to_have_text("3,000")
    async with live_server.api() as client:
        login = await client.post(
            "/api/v1/login", json={"email": member.email, "password": member.password}
        )
        saved = await client.patch(
            f"/api/v1/users/{member.id}/profile",
            json={"address": {"line1": "Moi Avenue 4", "city": "Mombasa"}, "country": "KE"},
            headers={"Authorization": f"Bearer {login.json()['access_token']}"},
        )
        assert saved.status_code == 200, saved.text
    await mug.get_by_role("button", name="Confirm").click()
    order = page.locator("#merch-orders li").first
    await expect(order).to_contain_text("Dracarys mug")
    await expect(order).to_contain_text("ordered: being prepared")
    await expect(page.locator("#balance")).to_have_text("500")
    await expect(mug).to_contain_text("9 left")
    await assert_accessible(page, "points page with a merch order")
    await screenshot(page, "points-merch-ordered")

    staff_context = await browser.new_context()
    try:
        staff = await staff_context.new_page()
        await staff.goto(f"{live_server.url}/signin?next=/staff")
        await staff.get_by_label("E-mail").fill(admin.email)
        await staff.get_by_label("Password").fill(admin.password)
        await staff.get_by_role("button", name="Sign in").click()
        # The next step's code: this step's was spent confirming the enrolment, and a
        # code is accepted once (the server allows one step of clock skew).
        await staff.get_by_label("Authenticator code").fill(pyotp.TOTP(secret).at(time.time() + 30))
        await staff.get_by_role("button", name="Sign in").click()
        await staff.wait_for_url(f"{live_server.url}/staff")
        queued = staff.locator("#merch-orders li").first
        await expect(queued).to_contain_text("Dracarys mug · ordered")
        await expect(queued).to_contain_text("Ship to: Baraka Merch, Moi Avenue 4, Mombasa, KE")
        await queued.get_by_role("button", name="Mark packed").click()
        await expect(queued).to_contain_text("Dracarys mug · packed")
        await queued.get_by_label("Tracking for shipping").fill("G4S 778812")
        await assert_accessible(staff, "staff home with a merch order")
        await screenshot(staff, "staff-merch-packed")
        await queued.get_by_role("button", name="Mark shipped").click()
        await expect(queued).to_contain_text("Tracking G4S 778812")
    finally:
        await staff_context.close()

    await page.get_by_role("button", name="Refresh").click()
    await expect(order).to_contain_text("shipped · tracking G4S 778812")
    await page.set_viewport_size(PHONE_VIEWPORT)
    await assert_accessible(page, "points page, merch shipped, phone")
    await screenshot(page, "points-merch-shipped-phone")


async def test_a_course_unlocked_with_points_is_joined_without_payment(
    context: Any, live_server: LiveServer, tmp_path: Path
) -> None:
    async with platform_of(live_server, tmp_path) as platform:
        await seed_identity_demo(platform)
        await seed_mentorship_demo(platform)
        await seed_curriculum_demo(platform)
    member = await register(live_server, name="Otieno Unlock")
    async with platform_of(live_server, tmp_path) as platform:
        await give_points(platform, member.id, 260_000)
    async with live_server.api() as client:
        login = await client.post(
            "/api/v1/login", json={"email": member.email, "password": member.password}
        )
        saved = await client.put(
            "/api/v1/matches/quiz",
            json={
                "experience": "beginner",
                "style": "swing_trader",
                "markets": ["forex"],
                "goals": ["risk_management"],
                "budget_minor": 300_000,
                "currency": "KES",
                "timezone": "Africa/Nairobi",
                "languages": ["en"],
                "weekly_hours": 5,
            },
            headers={"Authorization": f"Bearer {login.json()['access_token']}"},
        )
        assert saved.status_code in (200, 204), saved.text

    page = await context.new_page()
    await sign_in(page, live_server, member, "/points")
    forex = page.locator("#unlockable li", has_text="Forex, risk first")
    await expect(forex).to_contain_text("2,500.00 KES · 250,000 points")
    await forex.get_by_role("button", name="Unlock Forex, risk first for 250,000 points").click()
    await expect(forex).to_contain_text("Unlocked: join a cohort without paying")
    await expect(page.locator("#balance")).to_have_text("10,000")
    await assert_accessible(page, "points page with a course unlocked")
    await screenshot(page, "points-course-unlocked")

    # The course's cohort through the checkout: nothing to pay.
    await page.goto(f"{live_server.url}/onboarding")
    suggestion = page.locator("#programs li", has_text="Forex, risk first")
    await suggestion.get_by_role("button", name=re.compile(r"^Enrol in ")).click()
    # Nothing to pay: the dialog asks only to confirm.
    dialog = page.get_by_role("dialog", name="Confirm", exact=True)
    await expect(dialog).to_contain_text("unlocked with your points")
    await expect(dialog.locator("[data-line='total']")).to_contain_text("0.00 KES")
    await dialog.get_by_role("button", name="Confirm", exact=True).click()
    await expect(suggestion.get_by_role("status")).to_contain_text("You are enrolled in")
    async with platform_of(live_server, tmp_path) as platform:
        enrolled = await platform.pool.fetchrow(
            "SELECT amount_minor, escrow_id FROM cohort_enrolments WHERE user_id = $1", member.id
        )
    assert (enrolled["amount_minor"], enrolled["escrow_id"]) == (0, None)
    await screenshot(page, "course-unlocked-enrolled")
