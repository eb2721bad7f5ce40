"""The Messages page in Chromium: a mentee asks a mentor, the mentor accepts, and they chat
in two browser contexts, live over the stream; the mentee's connection drops while the
mentor writes twice, and after it reconnects every message shows exactly once, in order.
Typing shows on the other side, a read receipt comes back, and a file whose bytes are not
a PDF or a picture is refused."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from playwright.async_api import expect

from tests.web.conftest import (
    PHONE_VIEWPORT,
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


async def _seqs(page: Any) -> list[int]:
    values: list[str] = await page.eval_on_selector_all(
        "#messages li[data-seq]", "items => items.map(i => i.dataset.seq)"
    )
    return [int(v) for v in values]


async def _send(page: Any, text: str) -> None:
    await page.get_by_label("Message", exact=True).fill(text)
    await page.get_by_role("button", name="Send", exact=True).click()
    await expect(page.locator("#messages")).to_contain_text(text)


async def test_a_mentor_and_a_mentee_chat_and_a_reconnect_neither_loses_nor_doubles(
    browser: Any, live_server: LiveServer
) -> None:
    mentor = await register(live_server, name="Marta Mentor", role="mentor")
    mentee = await register(live_server, name="Milo Mentee")
    mentor_ctx = await browser.new_context(viewport={"width": 1280, "height": 900})
    mentee_ctx = await browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        errors: list[str] = []
        mentee_page = await mentee_ctx.new_page()
        mentee_page.on("pageerror", lambda e: errors.append(str(e)))
        await sign_in(mentee_page, live_server, mentee, "/chat")
        # The Messages link is in the bar for members.
        await expect(await nav_link(mentee_page, "Messages")).to_be_visible()
        # A mentor's profile links here with ?with=; the first message is a request.
        await mentee_page.goto(f"{live_server.url}/chat?with={mentor.id}")
        await expect(mentee_page.locator("body[data-ready=true]")).to_be_attached()
        await expect(mentee_page.locator("#thread-heading")).to_contain_text("Marta Mentor")
        await _send(mentee_page, "Hello Marta, could you review my journal?")
        await expect(mentee_page.locator("#thread-status")).to_contain_text(
            "waiting for the mentor"
        )

        mentor_page = await mentor_ctx.new_page()
        mentor_page.on("pageerror", lambda e: errors.append(str(e)))
        await sign_in(mentor_page, live_server, mentor, "/chat")
        await expect(mentor_page.locator("#conversations")).to_contain_text("request")
        await mentor_page.get_by_role("button", name="Milo Mentee").click()
        await mentor_page.get_by_role("button", name="Accept request").click()
        await expect(mentor_page.get_by_label("Message", exact=True)).to_be_visible()
        # The mentee's page learns of the acceptance live and may write again.
        await expect(mentee_page.get_by_label("Message", exact=True)).to_be_visible()

        # Typing shows on the other side; then the message arrives live.
        await mentor_page.get_by_label("Message", exact=True).press_sequentially("Sure")
        await expect(mentee_page.locator("#typing")).to_contain_text("Marta Mentor is typing")
        await mentor_page.get_by_label("Message", exact=True).fill("Sure, send it over.")
        await mentor_page.get_by_role("button", name="Send", exact=True).click()
        await expect(mentee_page.locator("#messages")).to_contain_text("Sure, send it over.")
        await _send(mentee_page, "Thanks! Here it comes.")
        await expect(mentor_page.locator("#messages")).to_contain_text("Here it comes.")

        # A file named .png whose bytes are text is refused, naming the file field.
        await mentee_page.get_by_label("Attach a PDF or a picture").set_input_files(
            files=[
                {"name": "journal.png", "mimeType": "image/png", "buffer": b"not an image at all"}
            ]
        )
        await mentee_page.get_by_role("button", name="Send file").click()
        await expect(mentee_page.locator("#file-error")).to_contain_text("not a PDF")

        # The mentee's connection drops (no reconnect yet) while the mentor writes twice.
        await mentee_page.evaluate(
            "() => { window.__stream.stopped = true; window.__stream.socket.close(); }"
        )
        await mentee_page.wait_for_function("() => window.__stream.state === 'offline'")
        await _send(mentor_page, "First note while you were away")
        await _send(mentor_page, "Second note while you were away")
        await mentee_page.wait_for_timeout(300)
        await expect(mentee_page.locator("#messages")).not_to_contain_text("Second note")
        # Back: the stream resumes after the last seq it saw, the page reads the record
        # after the last message it shows; both deliver the same two messages.
        await mentee_page.evaluate(
            """() => {
                window.__stream.stopped = false;
                window.__stream.attempt = 1;
                window.__stream.connect();
            }"""
        )
        await mentee_page.wait_for_function("() => window.__stream.state === 'live'")
        await expect(mentee_page.locator("#messages")).to_contain_text(
            "Second note while you were away"
        )
        await mentee_page.wait_for_timeout(500)  # any late duplicate would land by now
        assert await _seqs(mentee_page) == [1, 2, 3, 4, 5]
        for text in ("First note while you were away", "Second note while you were away"):
            assert await mentee_page.locator("#messages li", has_text=text).count() == 1
        assert await _seqs(mentor_page) == [1, 2, 3, 4, 5]
        # Live again after the reconnect, both ways.
        await _send(mentor_page, "Still there?")
        await expect(mentee_page.locator("#messages")).to_contain_text("Still there?")
        await _send(mentee_page, "Yes, all caught up.")
        await expect(mentor_page.locator("#messages")).to_contain_text("all caught up")
        assert await _seqs(mentee_page) == [1, 2, 3, 4, 5, 6, 7]
        # Read receipts: the mentee's page read up to 7, so the mentor's last own message
        # (6) shows as seen.
        await expect(mentor_page.locator("#messages .chat-seen")).to_have_count(1)

        await screenshot(mentor_page, "chat-mentor")
        await screenshot(mentee_page, "chat-mentee")
        await assert_accessible(mentee_page, "chat")
        await mentee_page.set_viewport_size(PHONE_VIEWPORT)
        await assert_accessible(mentee_page, "chat at phone width")
        await screenshot(mentee_page, "chat-mentee-phone")
        assert errors == []
    finally:
        await mentor_ctx.close()
        await mentee_ctx.close()


async def _token(client: Any, account: Any) -> dict[str, str]:
    login = await client.post(
        "/api/v1/login", json={"email": account.email, "password": account.password}
    )
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


async def _send_as(
    live_server: LiveServer, headers: dict[str, str], conversation: str, body: str, key: str
) -> None:
    async with live_server.api() as client:
        sent = await client.post(
            f"/api/v1/chat/conversations/{conversation}/messages",
            json={"body": body},
            headers={**headers, "Idempotency-Key": key},
        )
        assert sent.status_code == 201, sent.text


async def test_a_reported_message_is_removed_by_a_moderator_on_the_staff_page(
    browser: Any, live_server: LiveServer
) -> None:
    mentor = await register(live_server, name="Rita Mentor", role="mentor")
    mentee = await register(live_server, name="Sam Spammer")
    async with live_server.api() as client:
        mentee_h, mentor_h = await _token(client, mentee), await _token(client, mentor)
        started = await client.post(
            "/api/v1/chat/conversations",
            json={"with_user_id": str(mentor.id), "body": "Hi Rita"},
            headers={**mentee_h, "Idempotency-Key": "report-flow-1"},
        )
        conv = started.json()["conversation_id"]
        await client.post(f"/api/v1/chat/conversations/{conv}/accept", headers=mentor_h)
        spam = await client.post(
            f"/api/v1/chat/conversations/{conv}/messages",
            json={"body": "Buy my pump coin now"},
            headers={**mentee_h, "Idempotency-Key": "report-flow-2"},
        )
        assert spam.status_code == 201, spam.text
    admin, secret, _ = await admin_with_two_factor(live_server)
    mentor_ctx = await browser.new_context(viewport={"width": 1280, "height": 900})
    admin_ctx = await browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        mentor_page = await mentor_ctx.new_page()
        await sign_in(mentor_page, live_server, mentor, "/chat")
        # The thread's catch-up read answers late: the mentor reports before the opening
        # of the conversation is done, which must not take the focus from the report.
        caught_up = asyncio.Event()

        async def late(route: Any) -> None:
            await asyncio.sleep(1.5)
            await route.continue_()
            caught_up.set()

        catch_up = re.compile(r"/messages\?after_seq=")
        await mentor_page.route(catch_up, late)
        await mentor_page.get_by_role("button", name="Sam Spammer").click()
        spam_item = mentor_page.locator("#messages li", has_text="Buy my pump coin now")
        await spam_item.get_by_role("button", name="Report").click()
        reason = mentor_page.get_by_label("Why are you reporting this message?")
        await reason.fill("Scam promotion")
        await asyncio.wait_for(caught_up.wait(), 10)
        await mentor_page.unroute(catch_up)
        await expect(reason).to_be_focused()
        await expect(mentor_page.get_by_label("Message", exact=True)).to_have_value("")
        # A message arriving live redraws the thread: the report being written stays.
        await _send_as(live_server, mentee_h, conv, "Still there?", "report-flow-3")
        await expect(mentor_page.locator("#messages")).to_contain_text("Still there?")
        await expect(reason).to_have_value("Scam promotion")
        await expect(reason).to_be_focused()
        await mentor_page.get_by_role("button", name="Send report").click()
        reported = mentor_page.get_by_role("status").filter(has_text="Reported")
        await expect(reported).to_be_visible()
        await expect(spam_item.get_by_role("button", name="Report")).to_have_count(0)
        await _send_as(live_server, mentee_h, conv, "Hello?", "report-flow-4")
        await expect(mentor_page.locator("#messages")).to_contain_text("Hello?")
        await expect(reported).to_be_visible()

        admin_page = await admin_ctx.new_page()
        await sign_in_with_code(admin_page, live_server, admin, secret, "/staff/chat-reports")
        await expect(await nav_link(admin_page, "Chat reports")).to_be_visible()
        # Closed again, as a person does before working on the page: the Staff menu is
        # long and, open, covers the reports.
        await admin_page.keyboard.press("Escape")
        report = admin_page.locator("#reports li", has_text="Buy my pump coin now")
        await expect(report).to_contain_text("Scam promotion")
        await expect(report).to_contain_text("Rita Mentor reported Sam Spammer")
        await screenshot(admin_page, "chat-reports-staff")
        await assert_accessible(admin_page, "chat reports")
        await report.get_by_role("button", name="Remove message").click()
        await expect(admin_page.locator("#reports-status")).to_contain_text("No reports")
        # The mentor's open thread shows the removal live.
        await expect(mentor_page.locator("#messages")).not_to_contain_text("Buy my pump coin")
        await expect(mentor_page.locator("#messages")).to_contain_text("Removed by a moderator")
        await screenshot(mentor_page, "chat-message-removed")
    finally:
        await mentor_ctx.close()
        await admin_ctx.close()


async def test_opening_a_conversation_reads_its_notices_and_the_inbox_badge_falls(
    context: Any, live_server: LiveServer
) -> None:
    mentor = await register(live_server, name="Nadia Mentor", role="mentor")
    mentee = await register(live_server, name="Omar Mentee")
    async with live_server.api() as client:
        mentee_h, mentor_h = await _token(client, mentee), await _token(client, mentor)
        started = await client.post(
            "/api/v1/chat/conversations",
            json={"with_user_id": str(mentor.id), "body": "Hello Nadia"},
            headers={**mentee_h, "Idempotency-Key": "badge-flow-1"},
        )
        conv = started.json()["conversation_id"]
        await client.post(f"/api/v1/chat/conversations/{conv}/accept", headers=mentor_h)
        sent = await client.post(
            f"/api/v1/chat/conversations/{conv}/messages",
            json={"body": "Are you free on Tuesday?"},
            headers={**mentee_h, "Idempotency-Key": "badge-flow-2"},
        )
        assert sent.status_code == 201, sent.text

        page = await context.new_page()
        await sign_in(page, live_server, mentor, "/notifications")
        await expect(page.locator("#inbox-items")).to_contain_text(
            "from Omar Mentee", timeout=15_000
        )
        await page.reload()
        await expect(page.locator("body[data-ready=true]")).to_have_count(1)
        inbox = (await client.get("/api/v1/notifications", headers=mentor_h)).json()
        about_chat = [i for i in inbox["items"] if i["category"] == "chat" and not i["read"]]
        assert about_chat, inbox
        before = int(await page.locator("body").get_attribute("data-inbox-unread") or "0")
        assert before == inbox["unread"]

        await page.goto(f"{live_server.url}/chat?c={conv}")
        await expect(page.locator("#messages")).to_contain_text("Are you free on Tuesday?")
        await expect(
            page.locator(f"body[data-inbox-unread='{before - len(about_chat)}']")
        ).to_have_count(1)
        after = (await client.get("/api/v1/notifications", headers=mentor_h)).json()
        assert [i for i in after["items"] if i["category"] == "chat" and not i["read"]] == []
