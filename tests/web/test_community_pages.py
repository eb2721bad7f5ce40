"""The community pages in Chromium: two members in two browser contexts; a topic started
in one appears live in the other's space list, a reply appears live in the other's open
topic, and a vote's count changes live; the composer previews sanitised Markdown, a
question's asker accepts an answer, and search finds the post. An author edits a post in
place (a refusal shown at the field) and another member opens its edit history. axe-core
on each page."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.async_api import expect

from tests.web.conftest import (
    LiveServer,
    assert_accessible,
    nav_link,
    register,
    screenshot,
    sign_in,
)

pytestmark = pytest.mark.browser


async def test_a_post_made_in_one_browser_appears_live_in_another(
    browser: Any, live_server: LiveServer
) -> None:
    asker = await register(live_server, name="Ada Asker")
    helper = await register(live_server, name="Hal Helper")
    asker_ctx = await browser.new_context(viewport={"width": 1280, "height": 900})
    helper_ctx = await browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        errors: list[str] = []
        helper_page = await helper_ctx.new_page()
        helper_page.on("pageerror", lambda e: errors.append(str(e)))
        await sign_in(helper_page, live_server, helper, "/community")
        await expect(await nav_link(helper_page, "Community")).to_be_visible()
        await expect(helper_page.locator("#channels")).to_contain_text("Risk Management")
        await assert_accessible(helper_page, "community spaces")
        await helper_page.get_by_role("link", name="Options").click()
        await expect(helper_page.locator("body[data-ready=true]")).to_be_attached()
        await helper_page.wait_for_function("() => window.__stream.state === 'live'")

        asker_page = await asker_ctx.new_page()
        asker_page.on("pageerror", lambda e: errors.append(str(e)))
        await sign_in(asker_page, live_server, asker, "/community/options")
        await expect(asker_page.locator("body[data-ready=true]")).to_be_attached()
        await asker_page.get_by_label("Title").fill("Rolling covered calls down")
        await asker_page.get_by_label("Kind").select_option("question")
        await asker_page.get_by_label("Tags (comma-separated, up to five)").fill("covered-calls")
        await asker_page.get_by_label("Post (Markdown; @handle mentions someone)").fill(
            "When do you **roll down**? <script>alert(1)</script>"
        )
        await asker_page.get_by_role("button", name="Preview").click()
        preview = asker_page.locator("#topic-preview")
        await expect(preview.locator("strong")).to_have_text("roll down")
        assert await preview.locator("script").count() == 0
        await asker_page.get_by_role("button", name="Post topic").click()
        await asker_page.wait_for_url(f"{live_server.url}/community/t/**")
        await expect(asker_page.locator("#page-title")).to_have_text("Rolling covered calls down")
        await assert_accessible(asker_page, "community topic")

        # Live in the other browser: the space's list shows the new topic.
        await expect(helper_page.locator("#topics")).to_contain_text("Rolling covered calls down")
        await expect(helper_page.locator("#live-note")).to_contain_text("New post")
        await assert_accessible(helper_page, "community space")
        await helper_page.get_by_role("link", name="Rolling covered calls down").click()
        await expect(helper_page.locator("body[data-ready=true]")).to_be_attached()
        await helper_page.wait_for_function("() => window.__stream.state === 'live'")
        await asker_page.wait_for_function("() => window.__stream.state === 'live'")

        # The helper answers; it appears live on the asker's open topic.
        await helper_page.get_by_label("Your reply (Markdown; @handle mentions someone)").fill(
            "Roll when delta passes 0.30."
        )
        await helper_page.get_by_role("button", name="Post reply").click()
        await expect(helper_page.locator("#post-2")).to_contain_text("delta passes")
        await expect(asker_page.locator("#post-2")).to_contain_text("Roll when delta passes 0.30.")

        # The asker votes it up (the helper sees the count change live) and accepts it.
        await asker_page.get_by_role("button", name="Vote up post #2", exact=False).click()
        await expect(helper_page.locator("#post-2 .score")).to_have_text("1 vote")
        await asker_page.get_by_role("button", name="Accept post #2", exact=False).click()
        await expect(asker_page.locator("#post-2")).to_contain_text("Accepted answer")
        await screenshot(asker_page, "community-topic")

        await asker_page.goto(f"{live_server.url}/community/search?q=rolled")
        await expect(asker_page.locator("#search-results")).to_contain_text(
            "Rolling covered calls down"
        )
        # The stemmed match is highlighted in the snippet ("rolled" finds "roll").
        await expect(asker_page.locator("#search-results mark").first).to_have_text(
            re.compile("^roll", re.IGNORECASE)
        )
        await assert_accessible(asker_page, "community search")
        assert errors == []
    finally:
        await asker_ctx.close()
        await helper_ctx.close()


async def test_an_author_edits_a_post_in_place_and_a_reader_opens_its_history(
    browser: Any, live_server: LiveServer
) -> None:
    author = await register(live_server, name="Eli Editor")
    reader = await register(live_server, name="Rae Reader")
    author_ctx = await browser.new_context(viewport={"width": 1280, "height": 900})
    reader_ctx = await browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        errors: list[str] = []
        page = await author_ctx.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        await sign_in(page, live_server, author, "/community/futures")
        await expect(page.locator("body[data-ready=true]")).to_be_attached()
        await page.get_by_label("Title").fill("Rolling ES before expiry")
        await page.get_by_label("Post (Markdown; @handle mentions someone)").fill(
            "I roll on the Friday before."
        )
        await page.get_by_role("button", name="Post topic").click()
        await page.wait_for_url(f"{live_server.url}/community/t/**")
        topic_url = page.url
        await expect(page.locator("body[data-ready=true]")).to_be_attached()

        await page.get_by_role("button", name="Edit post #1", exact=False).click()
        edit_box = page.get_by_label("New text of post #1")
        await expect(edit_box).to_have_value("I roll on the Friday before.")
        # What the author's trust level refuses is said at the field, the text kept.
        await edit_box.fill(
            "![chart](/api/v1/community/images/00000000-0000-0000-0000-000000000000)"
        )
        await page.get_by_role("button", name="Save edit").click()
        await expect(page.locator("#post-1 .post-edit")).to_contain_text("member trust level")
        await edit_box.fill("I roll on **roll week**, eight days before expiry.")
        await page.get_by_role("button", name="Save edit").click()
        await expect(page.locator("#post-1 strong")).to_have_text("roll week")
        await expect(page.locator("#post-1")).to_contain_text("edited 1 time")
        await expect(page.locator("#post-1 .post-edit")).to_have_count(0)

        other = await reader_ctx.new_page()
        other.on("pageerror", lambda e: errors.append(str(e)))
        await sign_in(other, live_server, reader, topic_url.removeprefix(live_server.url))
        await expect(other.locator("body[data-ready=true]")).to_be_attached()
        await expect(other.get_by_role("button", name="Edit post #1", exact=False)).to_have_count(0)
        await other.get_by_role("button", name="Edit history of post #1", exact=False).click()
        history = other.locator("#post-1 .edit-history")
        await expect(history).to_be_visible()
        await expect(history).to_contain_text("I roll on the Friday before.")
        await assert_accessible(other, "community topic with an edit history open")
        await screenshot(other, "community-edit-history")
        assert errors == []
    finally:
        await author_ctx.close()
        await reader_ctx.close()
