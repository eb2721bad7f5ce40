"""The referral page in Chromium: the member's link (copied to the clipboard), its QR code
served from this origin, and the people they referred with each one's status. A friend
follows the link in their own browser, is told who invited them on the sign-up page and
signs up; on the same network as the referrer, that referral is shown as not counted with
its reason; a referee from elsewhere whose first session was paid shows as completed, and
the referee's own page says who referred them."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from dracarys.identity import SignupContext
from dracarys.social import attribute_signup
from dracarys.social.referrals import service as referrals
from tests.support import create_user
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


async def test_referral_page_shows_the_link_qr_code_and_referees_with_their_status(
    browser: Any, live_server: LiveServer, tmp_path: Path
) -> None:
    referrer = await register(live_server, name="Rita Referrer", kyc_level=2)
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    await context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = await context.new_page()
    await sign_in(page, live_server, referrer, "/referrals")
    link = page.get_by_role("textbox", name="Link")
    await expect(link).to_have_value(_link_pattern(live_server))
    url = await link.input_value()
    code = url.rsplit("/", 1)[1]
    await page.get_by_role("button", name="Copy link").click()
    await expect(page.get_by_role("status").filter(has_text="Link copied")).to_be_visible()
    assert await page.evaluate("navigator.clipboard.readText()") == url
    qr = page.get_by_role("img", name="QR code of your referral link")
    await expect(qr).to_be_visible()
    await page.wait_for_function(
        "() => { const img = document.getElementById('qr'); "
        "return img.complete && img.naturalWidth > 0; }"
    )
    assert await qr.get_attribute("src") == f"/r/{code}/qr.svg"

    # A friend opens the link in their own browser and signs up.
    friend_context = await browser.new_context(viewport=PHONE_VIEWPORT)
    friend = await friend_context.new_page()
    await friend.goto(f"{url}?utm_source=whatsapp")
    await friend.wait_for_url(f"{live_server.url}/signup")
    await expect(friend.locator("#referred-by")).to_have_text("You were invited by Rita Referrer.")
    await friend.get_by_label("Name").fill("Frank Friend")
    await friend.get_by_label("E-mail").fill(f"frank-{uuid.uuid4().hex[:6]}@example.com")
    await friend.get_by_label("Password").fill("a long friend pass phrase")
    await friend.get_by_role("button", name="Create account").click()
    await friend.wait_for_url(f"{live_server.url}/onboarding")
    await friend.goto(f"{live_server.url}/referrals")
    await expect(friend.locator("#referred-by")).to_have_text("You were referred by Rita Referrer.")
    await screenshot(friend, "referrals_referee_phone")
    await friend_context.close()

    # Someone else, from another network (seeded), signed up through the link and paid a session.
    async with platform_of(live_server, tmp_path) as platform:
        other = await create_user(platform.pool, platform.settings, platform.clock)
        click_id = await referrals.record_click(
            platform,
            code=code,
            utm=referrals.utm_tags("x", None, None, None, None),
            ip="203.0.113.8",
            device_token=None,
        )
        async with platform.pool.acquire() as conn, conn.transaction():
            await attribute_signup(
                conn,
                platform,
                SignupContext(
                    user_id=other.id,
                    email=other.email,
                    source_ip="203.0.113.8",
                    user_agent="test",
                    cookies={referrals.ATTRIBUTION_COOKIE: str(click_id)},
                    at=platform.clock.now(),
                ),
            )
            await referrals.qualify_first_paid_session(conn, platform, other.id, uuid.uuid4())

    await page.reload()
    rows = page.locator("#referee-rows tr")
    await expect(rows).to_have_count(2)
    await expect(page.locator("#referee-rows")).to_contain_text("Test Mentee")
    await expect(rows.filter(has_text="Test Mentee")).to_contain_text("Completed")
    # The friend signed up from the referrer's own network address (this machine).
    await expect(rows.filter(has_text="Frank Friend")).to_contain_text(
        "Not counted: signed up from a network address you use"
    )
    await expect(page.locator("#clicks")).to_have_text("2")
    await expect(page.locator("#completed")).to_have_text("1")
    await expect(page.locator("#referral-points")).to_have_text("1,000 points")
    await assert_accessible(page, "referral page")
    await screenshot(page, "referrals_page")
    await page.set_viewport_size(PHONE_VIEWPORT)
    await assert_accessible(page, "referral page on a phone")
    await context.close()


def _link_pattern(server: LiveServer) -> re.Pattern[str]:
    return re.compile(re.escape(f"{server.url}/r/") + "[a-z0-9]{8}$")
