"""Every page loads for a signed-in user without a script error or a failed request, fits
a phone-width screen without sideways scrolling, labels its form controls, starts with a
keyboard skip link and has no serious or critical axe-core violation."""

from __future__ import annotations

from typing import Any

import pytest

from tests.web.conftest import (
    PHONE_VIEWPORT,
    LiveServer,
    admin_with_two_factor,
    assert_accessible,
    register,
    screenshot,
    sign_in,
    sign_in_with_code,
)

pytestmark = pytest.mark.browser

PAGES = [
    "/dashboard",
    "/signals",
    "/mentor",
    "/backtests",
    "/market-data",
    "/broker",
    "/points",
    "/shares",
    "/social",
    "/referrals",
    "/affiliate",
    "/mentors",
    "/wallet",
    "/notifications",
    "/notifications/preferences",
    "/account",
    "/onboarding",
    "/kyc",
    "/sessions",
    "/mentor/sessions",
    "/mentor/alerts",
    "/courses",
    "/teach",
    "/teach/grading",
    "/chat",
    "/community",
    "/community/options",
    "/community/search",
    "/mentor/analytics",
]
# Pages only staff may use, visited by an admin who signed in with two-factor.
STAFF_PAGES = [
    "/staff",
    "/staff/kyc",
    "/staff/users",
    "/staff/mentors",
    "/staff/promo-codes",
    "/staff/social-proofs",
    "/staff/chat-reports",
    "/staff/alerts",
    "/staff/aml",
    "/staff/aml/rules",
    "/staff/templates",
    "/staff/drips",
    "/community/moderation",
    "/staff/payouts",
    "/staff/disputes",
    "/staff/chargebacks",
    "/staff/points",
    "/staff/merch",
    "/staff/analytics",
]


async def test_every_page_loads_cleanly_on_a_phone_with_labelled_controls(
    browser: Any, live_server: LiveServer
) -> None:
    user = await register(live_server, name="Pat Phone", role="mentor")
    context = await browser.new_context(viewport=PHONE_VIEWPORT)
    try:
        page = await context.new_page()
        problems = _problems_of(page)
        await sign_in(page, live_server, user, PAGES[0])
        for path in PAGES:
            await _loads_cleanly(page, live_server, path, problems)
    finally:
        await context.close()


async def test_every_staff_page_loads_cleanly_on_a_phone_for_an_admin(
    browser: Any, live_server: LiveServer
) -> None:
    admin, secret, _ = await admin_with_two_factor(live_server)
    context = await browser.new_context(viewport=PHONE_VIEWPORT)
    try:
        page = await context.new_page()
        problems = _problems_of(page)
        await sign_in_with_code(page, live_server, admin, secret, STAFF_PAGES[0])
        problems.clear()  # the sign-in form's first answer asks for the code: a 401
        for path in STAFF_PAGES:
            await _loads_cleanly(page, live_server, path, problems)
    finally:
        await context.close()


def _problems_of(page: Any) -> list[str]:
    """Script errors, console errors and failed requests of the page, as they happen."""
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    page.on(
        "console",
        lambda message: (
            problems.append(f"console: {message.text}") if message.type == "error" else None
        ),
    )
    page.on(
        "response",
        lambda response: (
            problems.append(f"{response.status} {response.url}") if response.status >= 400 else None
        ),
    )
    return problems


async def _loads_cleanly(
    page: Any, live_server: LiveServer, path: str, problems: list[str]
) -> None:
    await page.goto(f"{live_server.url}{path}")
    await page.wait_for_load_state("networkidle")
    assert problems == [], f"{path}: {problems}"
    overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 1, f"{path} scrolls sideways by {overflow}px on a phone"
    unlabelled = await page.evaluate(
        """[...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
           .filter(e => e.offsetParent !== null)
           .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
           .map(e => e.id || e.name)"""
    )
    assert unlabelled == [], f"{path}: controls without a label: {unlabelled}"
    await page.keyboard.press("Tab")
    focused = await page.evaluate("document.activeElement.textContent.trim()")
    assert focused == "Skip to content", path
    await assert_accessible(page, path)
    await screenshot(page, f"phone{path.replace('/', '-')}")
