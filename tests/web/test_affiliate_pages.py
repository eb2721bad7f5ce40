"""The affiliate pages in Chromium: a member applies (an incomplete form is refused field
by field), an admin signed in with two-factor approves the application with terms on the
staff page, and the affiliate's dashboard shows the terms, the link, clicks, sign-ups,
conversions and earnings (pending and payable) with their charts, from commissions a
referred member's course purchases earned through the platform's own consumers."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

import pyotp
import pytest
from playwright.async_api import expect

from dracarys.identity import CurrentUser, Role, SignupContext
from dracarys.social import attribute_signup, post_due_commissions
from dracarys.social.referrals import service as referrals
from dracarys.wallet.charges import service as charges
from dracarys.wallet.charges.models import ChargeRequest
from tests.support import create_user, fund_wallet
from tests.web.conftest import (
    PHONE_VIEWPORT,
    LiveServer,
    assert_accessible,
    platform_of,
    register,
    screenshot,
    sign_in,
)
from tests.web.test_points_page import _admin_with_two_factor

pytestmark = pytest.mark.browser


async def _wait_for(condition: Any, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not await condition():
        assert time.monotonic() < deadline, "the in-process worker did not get there"
        await asyncio.sleep(0.2)


async def test_apply_approve_and_the_dashboard_with_earnings_and_charts(
    browser: Any, live_server: LiveServer, tmp_path: Path
) -> None:
    admin, secret = await _admin_with_two_factor(live_server)
    member = await register(live_server, name="Amani Affiliate", kyc_level=2)
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    await sign_in(page, live_server, member, "/affiliate")
    await expect(page.locator("#status-text")).to_have_text("You have not applied yet.")
    await page.get_by_role("button", name="Apply").click()
    await expect(page.locator("#website-error")).not_to_be_empty()
    await page.get_by_label("Website or channel").fill("https://amani-trades.example")
    await page.get_by_label("Your audience").fill("Forex beginners in East Africa")
    await page.get_by_label("How you will promote Dracarys").fill(
        "Weekly videos reviewing my paper trades, with my link in each description."
    )
    await page.get_by_role("button", name="Apply").click()
    await expect(page.locator("#status-text")).to_contain_text("waiting for a decision")
    await screenshot(page, "affiliate_applied")

    # Someone signs up through the link with a throwaway address: refused, with its reason.
    async with platform_of(live_server, tmp_path) as platform:
        throwaway = await create_user(
            platform.pool, platform.settings, platform.clock, email="x@mailinator.com"
        )
        click_id = await referrals.record_click(
            platform,
            code=await _code(platform, member.id),
            utm=referrals.utm_tags(None, None, None, None, None),
            ip="192.0.2.60",
            device_token=None,
        )
        async with platform.pool.acquire() as conn, conn.transaction():
            await attribute_signup(
                conn,
                platform,
                SignupContext(
                    user_id=throwaway.id,
                    email=throwaway.email,
                    source_ip="192.0.2.60",
                    user_agent="test",
                    cookies={referrals.ATTRIBUTION_COOKIE: str(click_id)},
                    at=platform.clock.now(),
                ),
            )

    # An admin approves it with terms on the staff page, where the refusal shows too.
    staff_context = await browser.new_context(viewport={"width": 1280, "height": 900})
    staff = await staff_context.new_page()
    await staff.goto(f"{live_server.url}/signin?next=/staff/affiliates")
    await staff.get_by_label("E-mail").fill(admin.email)
    await staff.get_by_label("Password").fill(admin.password)
    await staff.get_by_role("button", name="Sign in").click()
    await staff.get_by_label("Authenticator code").fill(pyotp_next(secret))
    await staff.get_by_role("button", name="Sign in").click()
    await staff.wait_for_url(f"{live_server.url}/staff/affiliates")
    await expect(staff.locator("#applications")).to_contain_text("Amani Affiliate")
    await expect(staff.locator("#applications")).to_contain_text("Forex beginners")
    refusal = staff.locator("#refused-rows tr").first
    await expect(refusal).to_contain_text("Amani Affiliate")
    await expect(refusal).to_contain_text("throwaway e-mail domain")
    await expect(refusal).to_contain_text("domain mailinator.com")
    await assert_accessible(staff, "affiliate applications")
    await screenshot(staff, "staff_affiliate_applications")
    await staff.get_by_label("Share of the platform's fee (%)").fill("25")
    await staff.get_by_label("Months after each sign-up").fill("6")
    await staff.get_by_label("Note to the applicant").fill("Welcome aboard")
    await staff.get_by_role("button", name="Approve Amani Affiliate").click()
    await expect(staff.locator("#applications")).to_have_text("No application is waiting.")
    await staff_context.close()

    # A member the affiliate referred (from another network) buys two courses; the app's
    # own worker accrues the commissions; one's refund window is made to have closed.
    async with platform_of(live_server, tmp_path) as platform:
        await referrals.record_click(
            platform,
            code=await _code(platform, member.id),
            utm=referrals.utm_tags("youtube", None, None, None, None),
            ip="198.51.100.3",
            device_token=None,
        )
        referee = await create_user(platform.pool, platform.settings, platform.clock)
        click_id = await referrals.record_click(
            platform,
            code=await _code(platform, member.id),
            utm=referrals.utm_tags("youtube", None, None, None, None),
            ip="203.0.113.3",
            device_token=None,
        )
        async with platform.pool.acquire() as conn, conn.transaction():
            await attribute_signup(
                conn,
                platform,
                SignupContext(
                    user_id=referee.id,
                    email=referee.email,
                    source_ip="203.0.113.3",
                    user_agent="test",
                    cookies={referrals.ATTRIBUTION_COOKIE: str(click_id)},
                    at=platform.clock.now(),
                ),
            )
        await fund_wallet(platform.pool, referee.id, "KES", 2_000_000, platform.clock.now())
        buyer = CurrentUser(id=referee.id, role=Role.MENTEE, session_id=referee.session_id)
        for reference in ("course:risk-101", "course:options-201"):
            await charges.charge(
                platform,
                buyer,
                ChargeRequest(
                    purpose="course", reference=reference, amount_minor=580_000, currency="KES"
                ),
                f"buy-{uuid.uuid4()}",
            )

        async def accrued() -> bool:
            return await platform.pool.fetchval("SELECT count(*) FROM affiliate_commissions") == 2

        await _wait_for(accrued)
        await platform.pool.execute(
            """UPDATE affiliate_commissions SET payable_at = now() - interval '1 second'
               WHERE id = (SELECT id FROM affiliate_commissions ORDER BY id LIMIT 1)"""
        )
        assert await post_due_commissions(platform) == 1

    await page.reload()
    await expect(page.locator("#terms")).to_contain_text("25% of the platform's fee")
    await expect(page.locator("#terms")).to_contain_text("for 6 months")
    await expect(page.get_by_label("Your link")).to_have_value(
        f"{live_server.url}/r/{await _code_of(live_server, tmp_path, member.id)}"
    )
    await expect(page.locator("#clicks")).to_have_text("3")
    await expect(page.locator("#signups")).to_have_text("2")  # one of them refused
    earnings = page.locator("#earnings-rows tr").first
    # 5,000 KES net of VAT per course: 1,250 KES each, one pending and one payable.
    await expect(earnings).to_contain_text("KES")
    await expect(earnings.locator("td").nth(1)).to_have_text("1,250.00 KES")
    await expect(earnings.locator("td").nth(2)).to_have_text("1,250.00 KES")
    await expect(page.locator("#commission-rows tr")).to_have_count(2)
    await expect(page.locator("#funnel-chart canvas").first).to_be_visible()
    await expect(page.locator("#earnings-chart canvas").first).to_be_visible()
    await assert_accessible(page, "affiliate dashboard")
    await screenshot(page, "affiliate_dashboard")
    await page.set_viewport_size(PHONE_VIEWPORT)
    await assert_accessible(page, "affiliate dashboard on a phone")
    await screenshot(page, "affiliate_dashboard_phone")
    await context.close()


def pyotp_next(secret: str) -> str:
    # The enrolment spent this step's code; a code is accepted once (one step of skew).
    return str(pyotp.TOTP(secret).at(time.time() + 30))


async def _code(platform: Any, user_id: uuid.UUID) -> str:
    async with platform.pool.acquire() as conn:
        return await referrals.ensure_code(conn, user_id, platform.clock.now())


async def _code_of(server: LiveServer, tmp_path: Path, user_id: uuid.UUID) -> str:
    async with platform_of(server, tmp_path) as platform:
        return await _code(platform, user_id)
