"""Arriving: a visitor lands on a page that says what the platform is; a signed-in browser
goes on to the home of its role; browser routes fail with HTML pages (the API keeps problem
JSON); each role's navigation shows only what that role may use."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.async_api import expect

from tests.web.conftest import (
    PHONE_VIEWPORT,
    LiveServer,
    assert_accessible,
    nav_link,
    register,
    screenshot,
    sign_in,
)

pytestmark = pytest.mark.browser


async def test_a_visitor_reads_what_the_platform_is_and_can_sign_up(
    browser: Any, live_server: LiveServer
) -> None:
    await register(live_server, name="Mona Mentor", role="mentor")
    for viewport in ({"width": 1280, "height": 900}, PHONE_VIEWPORT):
        context = await browser.new_context(viewport=viewport)
        try:
            page = await context.new_page()
            await page.goto(f"{live_server.url}/")
            await page.get_by_text("paper money").wait_for()
            # The public mentor list has answered (the mentor has no session types yet, so
            # the card or the empty state shows; either way the loading line is gone).
            await page.locator("#landing-mentors li:not(:has-text('Loading'))").first.wait_for()
            await assert_accessible(page, f"/ at {viewport['width']}px")
            await screenshot(page, f"landing-{viewport['width']}")
            await page.get_by_role("link", name="Create a free account").click()
            await page.wait_for_url(f"{live_server.url}/signup")
        finally:
            await context.close()


@pytest.mark.parametrize(
    ("role", "home", "shown", "hidden"),
    [
        (
            "mentee",
            "/dashboard",
            ["Paper trading", "Wallet", "My sessions", "Courses"],
            [
                "Mentor console",
                "Staff home",
                "KYC reviews",
                "Members",
                "Teaching sessions",
                "TradingView alerts",
                "Course builder",
            ],
        ),
        (
            "mentor",
            "/mentor",
            [
                "Mentor console",
                "Wallet",
                "Teaching sessions",
                "TradingView alerts",
                "My sessions",
                "Courses",
                "Course builder",
            ],
            ["Staff home"],
        ),
        (
            "admin",
            "/staff",
            ["Staff home", "Account"],
            ["Mentor console", "Wallet", "Points", "My sessions", "Teaching sessions", "Courses"],
        ),
        (
            "reviewer",
            "/staff",
            ["Staff home", "KYC reviews", "Members", "Mentor vetting"],
            ["Mentor console", "Signal feed", "My sessions", "Courses", "Course builder"],
        ),
    ],
)
async def test_each_role_lands_on_its_home_and_sees_only_its_navigation(
    context: Any,
    live_server: LiveServer,
    role: str,
    home: str,
    shown: list[str],
    hidden: list[str],
) -> None:
    account = await register(live_server, name=f"Rory {role.title()}", role=role)
    page = await context.new_page()
    await page.goto(f"{live_server.url}/signin")
    await page.get_by_label("E-mail").fill(account.email)
    await page.get_by_label("Password").fill(account.password)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"{live_server.url}{home}")
    # Each link is looked for with its menu open: hidden by role, it stays hidden.
    for label in shown:
        await (await nav_link(page, label)).wait_for()
    for label in hidden:
        assert await (await nav_link(page, label)).count() == 0, label
    # Back on the landing page, a signed-in browser goes straight on to its home.
    await page.goto(f"{live_server.url}/")
    await page.wait_for_url(f"{live_server.url}{home}")
    if role in ("admin", "reviewer"):
        # Without two-factor the staff queues stay shut, and the page says how to open them.
        await page.get_by_role("link", name="Set up two-factor authentication").wait_for()
        await assert_accessible(page, f"/staff as {role}")
        await screenshot(page, f"staff-home-{role}")


async def test_a_mentee_opening_the_staff_home_is_told_it_is_not_for_them(
    context: Any, live_server: LiveServer
) -> None:
    account = await register(live_server, name="Nosy Mentee")
    page = await context.new_page()
    await sign_in(page, live_server, account, "/staff")
    await page.get_by_text("Your account may not use this page.").wait_for()
    await page.get_by_role("link", name="Go to your home page").click()
    await page.wait_for_url(f"{live_server.url}/dashboard")


async def test_browser_routes_fail_with_pages_and_the_api_with_problem_json(
    context: Any, live_server: LiveServer
) -> None:
    page = await context.new_page()
    response = await page.goto(f"{live_server.url}/no-such-page")
    assert response is not None
    assert response.status == 404
    await page.get_by_role("heading", name="Page not found").wait_for()
    await assert_accessible(page, "the 404 page")
    await screenshot(page, "error-404")
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        api = await client.get("/api/v1/no-such-thing")
        assert api.status_code == 404
        assert api.headers["content-type"].startswith("application/problem+json")
        page_404 = await client.get("/backtests/not-a-uuid", headers={"Accept": "text/html"})
        assert page_404.status_code == 404
        assert page_404.headers["content-type"].startswith("text/html")
        assert "Page not found" in page_404.text
        # A browser asking the API for HTML still gets problem JSON.
        api_html = await client.get("/api/v1/no-such-thing", headers={"Accept": "text/html"})
        assert api_html.headers["content-type"].startswith("application/problem+json")
        # A program (no HTML in Accept) calling a page path gets problem JSON too.
        program = await client.get("/no-such-page", headers={"Accept": "application/json"})
        assert program.headers["content-type"].startswith("application/problem+json")


async def test_the_bar_groups_links_in_menus_that_open_one_at_a_time(
    context: Any, live_server: LiveServer
) -> None:
    mentor = await register(live_server, name="Mina Menus", role="mentor")
    page = await context.new_page()
    await sign_in(page, live_server, mentor, "/mentor")
    nav = page.get_by_role("navigation", name="Main")
    learn, teach = (
        nav.locator("summary", has_text="Learn"),
        nav.locator("summary", has_text="Teach"),
    )
    # The page's own menu says it holds the current page.
    await expect(teach).to_have_class("current")

    await learn.click()
    await expect(nav.get_by_role("link", name="Courses", exact=True)).to_be_visible()
    await teach.click()
    await expect(nav.get_by_role("link", name="Course builder", exact=True)).to_be_visible()
    await expect(nav.get_by_role("link", name="Courses", exact=True)).to_be_hidden()
    await assert_accessible(page, "an open menu of the bar")
    await screenshot(page, "nav-menu-open")
    await page.keyboard.press("Escape")
    await expect(nav.get_by_role("link", name="Course builder", exact=True)).to_be_hidden()
    await expect(teach).to_be_focused()
    await teach.click()
    await page.locator("main").click(position={"x": 5, "y": 5})
    await expect(nav.get_by_role("link", name="Course builder", exact=True)).to_be_hidden()
    await nav.get_by_role("link", name="Wallet", exact=True).click()  # a link of its own
    await page.wait_for_url(f"{live_server.url}/wallet")
