"""The moderation queue in Chromium: a newcomer's post with links is held (the author sees
why, readers do not see it); an admin who signed in with two-factor approves it on
/community/moderation, and it appears in the topic for a reader. Screenshots; axe-core
on the topic (held) and the queue."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import expect

from tests.web.conftest import (
    LiveServer,
    admin_with_two_factor,
    assert_accessible,
    nav_link,
    register,
    screenshot,
    sign_in,
    sign_in_with_code,
)

pytestmark = pytest.mark.browser

HELD_BODY = (
    "Courses I use: [one](https://a.example/x), [two](https://b.example/y), https://c.example"
)


async def test_a_held_post_is_approved_in_the_queue_and_appears_in_the_topic(
    browser: Any, live_server: LiveServer
) -> None:
    author = await register(live_server, name="Nia Newcomer")
    reader = await register(live_server, name="Rex Reader")
    admin, secret, _ = await admin_with_two_factor(live_server)
    author_ctx = await browser.new_context(viewport={"width": 1280, "height": 900})
    admin_ctx = await browser.new_context(viewport={"width": 1280, "height": 900})
    reader_ctx = await browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        errors: list[str] = []
        author_page = await author_ctx.new_page()
        author_page.on("pageerror", lambda e: errors.append(str(e)))
        await sign_in(author_page, live_server, author, "/community/options")
        await expect(author_page.locator("body[data-ready=true]")).to_be_attached()
        await author_page.get_by_label("Title").fill("Free courses worth a look")
        await author_page.get_by_label("Post (Markdown; @handle mentions someone)").fill(HELD_BODY)
        await author_page.get_by_role("button", name="Post topic").click()
        await author_page.wait_for_url(f"{live_server.url}/community/t/**")
        topic_url = author_page.url
        held = author_page.locator("#post-1")
        await expect(held).to_contain_text("Held for review")
        await expect(held).to_contain_text("new trust level")
        await assert_accessible(author_page, "community topic with a held post")
        await screenshot(author_page, "community-held-post")

        reader_page = await reader_ctx.new_page()
        await sign_in(reader_page, live_server, reader, "/community/options")
        await expect(reader_page.locator("body[data-ready=true]")).to_be_attached()
        await expect(reader_page.locator("#topics")).not_to_contain_text("Free courses")

        admin_page = await admin_ctx.new_page()
        admin_page.on("pageerror", lambda e: errors.append(str(e)))
        await sign_in_with_code(admin_page, live_server, admin, secret, "/staff")
        await (await nav_link(admin_page, "Community queue")).click()
        await expect(admin_page.locator("body[data-ready=true]")).to_be_attached()
        item = admin_page.locator("#queue li").filter(has_text="Free courses worth a look")
        await expect(item).to_contain_text("Held by the screen")
        await assert_accessible(admin_page, "community moderation queue")
        await screenshot(admin_page, "community-moderation-queue")
        await item.get_by_label("Decision").select_option("approve")
        await item.get_by_label("Reason the author is told").fill("The links are course pages.")
        await item.get_by_role("button", name="Apply decision").click()
        await expect(admin_page.locator("#queue-note")).to_have_text("Nothing waits for review.")

        await reader_page.goto(topic_url)
        await expect(reader_page.locator("body[data-ready=true]")).to_be_attached()
        await expect(reader_page.locator("#post-1")).to_contain_text("Courses I use")
        await expect(reader_page.locator("#post-1")).not_to_contain_text("Held for review")
        await screenshot(reader_page, "community-approved-post")
        assert errors == []
    finally:
        for ctx in (author_ctx, admin_ctx, reader_ctx):
            await ctx.close()
