"""Sharing in Chromium: a member shares a badge from the points page (the dialog gives the
tracked link, copies it and shows the card people will see), an anonymous visitor and
three signed-in members follow the link to the shared thing with its UTM parameters, the
share then shows as earned on "My shares" and points awards it; a member shares a
mentor's track record from the mentor's profile on LinkedIn, and a follower a closed
signal from the signal feed on Telegram (the certificate's holder shares it in
test_learning_pages)."""

from __future__ import annotations

import asyncio
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from dracarys.db import transaction
from dracarys.identity import DEMO_MENTORS, seed_identity_demo
from dracarys.mentorship import seed_mentorship_demo
from dracarys.outbox import emit
from tests.web.conftest import (
    PHONE_VIEWPORT,
    LiveServer,
    assert_accessible,
    platform_of,
    register,
    screenshot,
    sign_in,
)
from tests.web.test_signals import subscribe

pytestmark = pytest.mark.browser

BADGE_BUTTON = "Share your “first lesson” badge"


async def poll(read: Any, *, what: str) -> Any:
    for _ in range(150):
        value = await read()
        if value:
            return value
        await asyncio.sleep(0.1)
    pytest.fail(f"{what} did not happen within 15 s")


async def test_a_badge_shared_from_the_points_page_earns_once_three_members_open_its_link(
    browser: Any, context: Any, live_server: LiveServer, tmp_path: Path
) -> None:
    sharer = await register(live_server, name="Sana Sharer")
    members = [await register(live_server, name=f"Visitor {n}") for n in range(3)]
    async with platform_of(live_server, tmp_path) as platform:
        # A first lesson: points grants the badge and announces it; social learns of it.
        async with transaction(platform.pool) as conn:
            await emit(
                conn,
                "lesson.completed",
                {
                    "user_id": str(sharer.id),
                    "lesson_id": str(uuid.uuid4()),
                    "lesson_title": "Candles",
                },
            )
        await poll(
            lambda: platform.pool.fetchval(
                "SELECT 1 FROM social_badges WHERE user_id = $1 AND badge = 'first_lesson'",
                sharer.id,
            ),
            what="the badge reaching social",
        )

    await context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = await context.new_page()
    await sign_in(page, live_server, sharer, "/points")
    await page.get_by_role("button", name=BADGE_BUTTON).click()
    dialog = page.get_by_role("dialog", name=BADGE_BUTTON)
    await expect(dialog).to_be_visible()
    await dialog.get_by_role("button", name="Copy link").click()
    link_box = dialog.get_by_label("Your link")
    await expect(link_box).to_have_value(re.compile(rf"^{live_server.url}/s/[A-Za-z0-9_-]{{12}}$"))
    await expect(dialog.locator("#share-status")).to_have_text(
        "Link copied. Paste it wherever you like."
    )
    link = await link_box.input_value()
    assert await page.evaluate("navigator.clipboard.readText()") == link
    await page.wait_for_function(
        "() => document.getElementById('share-image').naturalWidth === 1200"
    )
    await expect(dialog.locator("#share-progress")).to_have_text(
        "0 of 3 signed-in visitors so far: 3 more and it earns points."
    )
    await expect(dialog.get_by_role("link", name=re.compile("^Post it on"))).to_be_hidden()
    await assert_accessible(page, "share dialog")
    await screenshot(page, "share-dialog-badge")
    await dialog.get_by_role("button", name="X", exact=True).click()
    post = dialog.get_by_role("link", name="Post it on X")
    await expect(post).to_have_attribute("href", re.compile(r"^https://x\.com/intent/post\?"))
    await expect(link_box).not_to_have_value(link)  # a link of its own per channel
    await dialog.get_by_role("button", name="Close").click()
    await expect(dialog).to_have_count(0)

    # Someone not signed in is sent on to the shared thing, tagged; they do not qualify it.
    anonymous = await browser.new_context()
    try:
        visitor_page = await anonymous.new_page()
        await visitor_page.goto(link)
        await visitor_page.wait_for_url(
            f"{live_server.url}/?utm_source=copy&utm_medium=social&utm_campaign=share"
            "&utm_content=badge"
        )
    finally:
        await anonymous.close()
    for member in members:
        member_context = await browser.new_context()
        try:
            member_page = await member_context.new_page()
            await sign_in(member_page, live_server, member, "/points")
            async with member_page.expect_response(lambda r: "/visits" in r.url) as visit:
                await member_page.goto(link)
            assert (await visit.value).status == 200  # counted: "My shares" says so below
        finally:
            await member_context.close()

    await page.goto(f"{live_server.url}/shares")
    await expect(page.locator("body")).to_have_attribute("data-shares-ready", "true")
    copied = page.locator("#share-rows tr").filter(has_text="Copy link")
    await expect(copied).to_contain_text("Sana Sharer earned a badge")
    await expect(copied.locator("td").nth(3)).to_have_text("3")
    await expect(copied.locator("td").nth(4)).to_have_text("1")
    await expect(copied.locator("td").nth(5)).to_contain_text("Earned: qualified")
    on_x = page.locator("#share-rows tr").filter(has_text="X")
    await expect(on_x.locator("td").nth(5)).to_contain_text("0 of 3 signed-in visitors")
    await expect(page.locator("#shares-note")).to_have_text("2 shares, 1 earned.")
    await assert_accessible(page, "my shares")
    await screenshot(page, "my-shares")
    await page.set_viewport_size(PHONE_VIEWPORT)
    await assert_accessible(page, "my shares on a phone")
    await screenshot(page, "my-shares-phone")

    async with platform_of(live_server, tmp_path) as platform:
        awarded = await poll(
            lambda: platform.pool.fetch(
                "SELECT delta FROM points_ledger "
                "WHERE user_id = $1 AND reason_code = 'social_share'",
                sharer.id,
            ),
            what="points' award for the share",
        )
    assert [a["delta"] for a in awarded] == [50]


async def test_a_member_shares_a_mentors_track_record_from_the_profile_on_linkedin(
    context: Any, live_server: LiveServer, tmp_path: Path
) -> None:
    async with platform_of(live_server, tmp_path) as platform:
        await seed_identity_demo(platform)
        await seed_mentorship_demo(platform)
    mentor = DEMO_MENTORS[0]
    member = await register(live_server, name="Lulu LinkedIn")
    page = await context.new_page()
    await sign_in(page, live_server, member, f"/mentors/{mentor.id}")
    await expect(page.locator("body")).to_have_attribute("data-profile-ready", "true")
    button = page.get_by_role("button", name=re.compile(r"^Share .+'s track record$"))
    await button.click()
    dialog = page.get_by_role("dialog")
    await dialog.get_by_role("button", name="LinkedIn").click()
    post = dialog.get_by_role("link", name="Post it on LinkedIn")
    await expect(post).to_have_attribute(
        "href",
        re.compile(
            r"^https://www\.linkedin\.com/sharing/share-offsite/\?url="
            + re.escape(live_server.url.replace(":", "%3A").replace("/", "%2F"))
            + r"%2Fs%2F"
        ),
    )
    await page.wait_for_function(
        "() => document.getElementById('share-image').naturalWidth === 1200"
    )
    image_url = await page.get_attribute("#share-image", "src")
    assert image_url is not None
    await assert_accessible(page, "share dialog on a profile")
    await screenshot(page, "share-dialog-track-record")
    await page.goto(image_url)
    await screenshot(page, "share-card-track-record")


async def test_a_follower_shares_a_closed_signal_from_the_signal_feed_on_telegram(
    browser: Any, live_server: LiveServer, tmp_path: Path
) -> None:
    mentor = await register(live_server, name="Tariq Telegram", role="mentor")
    mentee = await register(live_server, name="Fola Follower")
    await subscribe(live_server, mentee, mentor)
    async with live_server.api() as client:
        login = await client.post(
            "/api/v1/login", json={"email": mentor.email, "password": mentor.password}
        )
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        signal = {"symbol": "DEMO", "side": "buy", "rationale": "Tight bracket."}
        # The refusal of an impossible stop names the price the signal would enter at.
        for _ in range(100):
            probe = await client.post(
                "/api/v1/trading/signals", json={**signal, "stop_loss": 1e9}, headers=headers
            )
            if probe.status_code == 422:
                break
            await asyncio.sleep(0.2)
        entry = float(re.findall(r"\(([0-9.]+)\)", probe.json()["detail"])[0])
        posted = await client.post(
            "/api/v1/trading/signals",
            json={
                **signal,
                "stop_loss": round(entry * 0.998, 4),
                "take_profit": round(entry * 1.002, 4),
            },
            headers=headers,
        )
        assert posted.status_code == 201, posted.text
        signal_id = uuid.UUID(posted.json()["id"])
    async with platform_of(live_server, tmp_path) as platform:
        await poll(
            lambda: platform.pool.fetchval(
                "SELECT 1 FROM signal_outcomes WHERE signal_id = $1 AND outcome = 'closed'",
                signal_id,
            ),
            what="the signal book closing the signal",
        )

    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = await context.new_page()
        await sign_in(page, live_server, mentee, "/signals")
        await page.wait_for_selector("body[data-feed-ready='1']")
        item = page.locator(f'#signal-feed li[data-signal-id="{signal_id}"]')
        await expect(item).to_contain_text("closed")
        await item.get_by_role("button", name="Share the closed buy DEMO signal").click()
        dialog = page.get_by_role("dialog", name="Share the closed buy DEMO signal")
        await dialog.get_by_role("button", name="Telegram").click()
        await expect(dialog.get_by_role("link", name="Post it on Telegram")).to_have_attribute(
            "href", re.compile(r"^https://t\.me/share/url\?url=")
        )
        await page.wait_for_function(
            "() => document.getElementById('share-image').naturalWidth === 1200"
        )
        await assert_accessible(page, "share dialog on the signal feed")
        await screenshot(page, "share-dialog-signal")
        image_url = await page.get_attribute("#share-image", "src")
        assert image_url is not None
        await page.goto(image_url)
        await screenshot(page, "share-card-signal")
    finally:
        await context.close()
