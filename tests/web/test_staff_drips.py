"""Drip e-mails in the browser: an admin reads each program's steps with sent / opened /
clicked and its enrolments, edits a step (a placeholder we cannot fill is refused beside
its field), pauses and resumes a program; a member opens the unsubscribe link of a drip
e-mail, without signing in, and confirms with the button."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from dracarys.notifications import advance_drips
from dracarys.notifications.programs.service import unsubscribe_token
from tests.messaging.simulators import SmtpSimulator
from tests.web.conftest import (
    LiveServer,
    admin_with_two_factor,
    assert_accessible,
    platform_of,
    register,
    screenshot,
    sign_in_with_code,
)

pytestmark = pytest.mark.browser

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0"


async def test_an_admin_reads_edits_pauses_and_resumes_drips_and_a_member_unsubscribes(
    context: Any, live_server: LiveServer, tmp_path: Path
) -> None:
    admin, secret, _ = await admin_with_two_factor(live_server)
    member = await register(live_server, name="Juma Member")
    async with platform_of(live_server, tmp_path) as platform:
        for _ in range(100):  # the embedded worker enrols the sign-up
            if await platform.pool.fetchval(
                "SELECT count(*) FROM drip_enrolments WHERE user_id = $1", member.id
            ):
                break
            await asyncio.sleep(0.1)
        # The admin signed up too: both are enrolled; the member's first step comes due.
        await platform.pool.execute(
            "UPDATE drip_enrolments SET last_step_at = last_step_at - $2::interval"
            " WHERE user_id = $1",
            member.id,
            timedelta(hours=2),
        )
        assert await advance_drips(platform) == 1
        token = unsubscribe_token(platform.settings, member.id, member.email)

    page = await context.new_page()
    await sign_in_with_code(page, live_server, admin, secret, "/staff/drips")
    onboarding = page.locator("section[data-program='onboarding']")
    await expect(onboarding.locator("tr[data-step='1']")).to_contain_text("1 h")
    await expect(onboarding.locator("tr[data-step='1'] td").nth(3)).to_have_text("1")
    await expect(onboarding.locator("[data-counts='onboarding']")).to_contain_text(
        "Enrolled now: 2"
    )
    await expect(page.locator("section[data-program]")).to_have_count(3)

    await onboarding.get_by_role("button", name="Edit step 2").click()
    await page.get_by_label("Text (English)").fill("Hi $first, here is a mentor.")
    await page.get_by_role("button", name="Save the step").click()
    await expect(page.locator("#step-body_en-error")).to_contain_text("Only $name can be filled in")
    await page.get_by_label("Wait (minutes after the previous step)").fill("1440")
    await page.get_by_label("Subject (English)").fill("Meet the mentors, $name")
    await page.get_by_label("Text (English)").fill("Hi $name, here is a mentor.")
    await page.get_by_role("button", name="Save the step").click()
    await expect(onboarding.locator("tr[data-step='2']")).to_contain_text("Meet the mentors, $name")
    await expect(onboarding.locator("tr[data-step='2']")).to_contain_text("1 day")

    await page.get_by_role("button", name="Pause Onboarding").click()
    await expect(onboarding.get_by_role("heading", level=2)).to_have_text("Onboarding (paused)")
    await assert_accessible(page, "drip e-mails page")
    await screenshot(page, "staff-drips")
    await page.get_by_role("button", name="Resume Onboarding").click()
    await expect(onboarding.get_by_role("heading", level=2)).to_have_text("Onboarding")

    # The unsubscribe link works without signing in, and only with the button.
    visitor = await context.browser.new_context()
    try:
        link = await visitor.new_page()
        await link.goto(f"{live_server.url}/e/u/{token}")
        await expect(link.get_by_role("heading", level=2)).to_have_text(
            "Stop marketing e-mail from Dracarys?"
        )
        await assert_accessible(link, "unsubscribe page")
        await link.get_by_role("button", name="Unsubscribe").click()
        await expect(link.get_by_role("heading", level=2)).to_have_text("You are unsubscribed")
        await screenshot(link, "unsubscribed")
    finally:
        await visitor.close()
    await expect(page.locator("body")).to_be_visible()


async def test_a_signed_out_member_follows_a_drip_link_signs_in_and_earns_the_click_points(
    context: Any, live_server: LiveServer, tmp_path: Path, mail_sink: SmtpSimulator
) -> None:
    member = await register(live_server, name="Amina Clicker")
    async with platform_of(live_server, tmp_path) as platform:
        for _ in range(100):  # the embedded worker enrols the sign-up
            if await platform.pool.fetchval(
                "SELECT count(*) FROM drip_enrolments WHERE user_id = $1", member.id
            ):
                break
            await asyncio.sleep(0.1)
        await platform.pool.execute(
            "UPDATE drip_enrolments SET last_step_at = last_step_at - $2::interval"
            " WHERE user_id = $1",
            member.id,
            timedelta(hours=2),
        )
        # The server's own scheduler ticks the drips every minute and may take the step
        # first; either way it goes once.
        await advance_drips(platform)
        for _ in range(100):
            drips = [m for m in mail_sink.to(member.email) if m["List-Unsubscribe"]]
            if drips:
                break
            await asyncio.sleep(0.1)
        sent = await platform.pool.fetchval(
            """SELECT count(*) FROM drip_sends s JOIN drip_enrolments e ON e.id = s.enrolment_id
               WHERE e.user_id = $1""",
            member.id,
        )
        assert (sent, len(drips)) == (1, 1)
        body = drips[0].get_body(preferencelist=("plain",))
        assert body is not None
        found = re.search(r"(/e/c/[A-Za-z0-9_-]+)", body.get_content())
        assert found is not None

        # Headless Chromium names itself "HeadlessChrome", which the scanner list catches
        # (its request would count nothing): this browser says what a person's does.
        person = await context.browser.new_context(user_agent=BROWSER)
        page = await person.new_page()
        await page.goto(f"{live_server.url}{found[1]}", wait_until="commit")
        await page.wait_for_url(re.compile(r"/signin\?next="))  # signed out: sign in first
        await page.get_by_label("E-mail").fill(member.email)
        await page.get_by_label("Password").fill(member.password)
        await page.get_by_role("button", name="Sign in").click()
        await page.wait_for_url(f"{live_server.url}/onboarding")  # the e-mail's page
        points = 0
        for _ in range(100):  # the award is applied by the embedded worker
            points = await platform.pool.fetchval(
                """SELECT coalesce(sum(delta), 0) FROM points_ledger
                   WHERE user_id = $1 AND reason_code = 'email_click'""",
                member.id,
            )
            if points:
                break
            await asyncio.sleep(0.1)
        assert points == 2
        clicked = await platform.pool.fetchval(
            "SELECT count(*) FROM drip_sends WHERE clicked_at IS NOT NULL"
        )
        assert clicked == 1
        await person.close()
