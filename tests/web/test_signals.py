"""A mentor broadcasts a signal from the mentor console and it appears, without a reload,
on the signal feed a subscribed mentee has open."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import expect

from dracarys.clock import SystemClock
from dracarys.db.pool import create_pool
from tests.support import fund_wallet
from tests.web.conftest import Account, LiveServer, register, screenshot, sign_in

pytestmark = pytest.mark.browser


async def subscribe(server: LiveServer, mentee: Account, mentor: Account) -> None:
    """The mentee accepts the risk disclaimer and follows the mentor, through the API."""
    async with server.api() as client:
        login = await client.post(
            "/api/v1/login", json={"email": mentee.email, "password": mentee.password}
        )
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        version = (await client.get("/api/v1/trading/disclaimer/")).json()["version"]
        ack = await client.post(
            "/api/v1/trading/disclaimer/acknowledgements",
            json={"version": version},
            headers=headers,
        )
        assert ack.status_code == 201, ack.text
        sub = await client.post(
            f"/api/v1/trading/mentors/{mentor.id}/subscriptions",
            json={},
            headers={**headers, "Idempotency-Key": "web-signals-follow-1"},
        )
        assert sub.status_code == 201, sub.text


async def test_broadcast_signal_appears_live_on_subscribed_mentees_open_feed(
    browser: Any, live_server: LiveServer
) -> None:
    mentor = await register(live_server, name="Maya Mentor", role="mentor")
    mentee = await register(live_server, name="Mo Mentee")
    await subscribe(live_server, mentee, mentor)

    mentee_ctx = await browser.new_context(viewport={"width": 390, "height": 844})
    mentor_ctx = await browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        feed = await mentee_ctx.new_page()
        await sign_in(feed, live_server, mentee, "/signals")
        await feed.wait_for_selector("body[data-feed-ready='1']")
        await expect(feed.locator("#connection")).to_have_attribute("data-state", "live")
        await expect(feed.locator("#subscriptions")).to_contain_text("Maya Mentor")
        assert await feed.locator("#signal-feed li").count() == 0

        console = await mentor_ctx.new_page()
        await sign_in(console, live_server, mentor, "/mentor")
        await expect(console.locator("#subscriber-rows tr")).to_contain_text("Mo Mentee")
        await console.get_by_label("Side").select_option("buy")
        await console.get_by_label("Stop-loss").fill("90")
        await console.get_by_label("Take-profit").fill("120")
        await console.get_by_label("Rationale").fill("Breakout above the range; risk 1R.")
        await console.get_by_role("button", name="Broadcast signal").click()
        await expect(console.locator("#broadcast-status")).to_contain_text("broadcast")

        # The mentee's open page receives it over the stream: no reload, shown once.
        item = feed.locator("#signal-feed li")
        await expect(item).to_have_count(1, timeout=10_000)
        await expect(item).to_contain_text("BUY DEMO")
        await expect(item).to_contain_text("Breakout above the range")
        await expect(item).to_contain_text("stop 90")
        await expect(item).to_contain_text("Education, not investment advice")
        await expect(console.locator("#signal-rows tr[data-signal-id]")).to_have_count(1)
        signal_id = await console.locator("#signal-rows tr[data-signal-id]").get_attribute(
            "data-signal-id"
        )
        assert await item.get_attribute("data-signal-id") == signal_id
        await screenshot(feed, "signal-feed-mentee-phone")
        await screenshot(console, "mentor-console")
    finally:
        await mentee_ctx.close()
        await mentor_ctx.close()


async def test_mirroring_switches_on_and_off_from_the_feed(
    context: Any, live_server: LiveServer
) -> None:
    mentor = await register(live_server, name="Omar Mentor", role="mentor")
    mentee = await register(live_server, name="Ivy Mirror")
    await subscribe(live_server, mentee, mentor)
    async with live_server.api() as client:
        login = await client.post(
            "/api/v1/login", json={"email": mentee.email, "password": mentee.password}
        )
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        created = await client.post(
            "/api/v1/trading/portfolios/", json={"name": "Copy book"}, headers=headers
        )
        portfolio_id = created.json()["id"]

    async def active() -> list[dict[str, Any]]:
        async with live_server.api() as client:
            subs = (await client.get("/api/v1/trading/subscriptions", headers=headers)).json()
        return [s for s in subs if s["status"] == "active"]

    page = await context.new_page()
    await sign_in(page, live_server, mentee, "/signals")
    await page.wait_for_selector("body[data-feed-ready='1']")
    await page.get_by_label("Portfolio to mirror into").select_option(portfolio_id)
    await page.get_by_label("Mirror into", exact=True).check()
    await expect(page.locator("#flash")).to_contain_text("Mirroring on")
    [sub] = await active()
    assert sub["mirror_portfolio_id"] == portfolio_id
    assert sub["mentor_id"] == str(mentor.id)

    await page.get_by_label("Mirror into", exact=True).uncheck()
    await expect(page.locator("#flash")).to_contain_text("Mirroring off")
    [sub] = await active()
    assert sub["mirror_portfolio_id"] is None
    await expect(page.get_by_label("Mirror into", exact=True)).not_to_be_checked()


async def test_a_cancelled_paid_subscription_keeps_its_live_feed_until_the_period_ends(
    browser: Any, live_server: LiveServer
) -> None:
    mentor = await register(live_server, name="Pia Paid", role="mentor")
    mentee = await register(live_server, name="Kip Subscriber")
    async with live_server.api() as client:
        login = await client.post(
            "/api/v1/login", json={"email": mentor.email, "password": mentor.password}
        )
        mentor_headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        plan = await client.put(
            "/api/v1/trading/feed-plan",
            json={"monthly_price_minor": 2_000, "currency": "USD"},
            headers=mentor_headers,
        )
        assert plan.status_code == 200, plan.text
    pool = await create_pool(live_server.database_url, min_size=1, max_size=2)
    try:
        await fund_wallet(pool, mentee.id, "USD", 10_000, SystemClock().now())
    finally:
        await pool.close()
    await subscribe(live_server, mentee, mentor)  # the first month is charged

    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = await context.new_page()
        await sign_in(page, live_server, mentee, "/signals")
        await page.wait_for_selector("body[data-feed-ready='1']")
        await expect(page.locator("#subscriptions")).to_contain_text("paid plan (paid)")
        await page.get_by_role("button", name="Unsubscribe from Pia Paid").click()

        # Cancelled, but paid for this month: still listed, and the feed stays live.
        kept = page.locator("#subscriptions li[data-status='cancelled']")
        await expect(kept).to_contain_text("cancelled, feed until")
        await expect(page.get_by_role("button", name="Unsubscribe from Pia Paid")).to_have_count(0)
        async with live_server.api() as client:
            sent = await client.post(
                "/api/v1/trading/signals",
                json={"symbol": "DEMO", "side": "sell", "rationale": "Paid-up subscribers only."},
                headers=mentor_headers,
            )
            assert sent.status_code == 201, sent.text
        item = page.locator("#signal-feed li")
        await expect(item).to_have_count(1, timeout=10_000)
        await expect(item).to_contain_text("Paid-up subscribers only.")
    finally:
        await context.close()
