"""The follows pages in Chromium: a member connects YouTube through the platforms' sandbox
(its consent page, then back to our callback page) and sees the follow verified and the
150 points land; X without the follows lookup turns into a screenshot form; an Instagram
proof is sent (a text file renamed .png is refused by its bytes) and waits for review; a
reviewer signed in with two-factor sees the proof with its screenshot in the queue,
cannot reject it without a reason, and approves it."""

from __future__ import annotations

import asyncio
import io
import re
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pyotp
import pytest
from playwright.async_api import expect

from dracarys.app import create_app
from dracarys.social.verification.sandbox import SocialSandbox
from tests.conftest import make_settings
from tests.messaging.simulators import SmtpSimulator, serve_http
from tests.social.conftest import ServedSandbox
from tests.social.test_verification import png
from tests.support import served_in_thread
from tests.web.conftest import (
    PHONE_VIEWPORT,
    Account,
    LiveServer,
    _free_port,
    assert_accessible,
    register,
    screenshot,
    sign_in,
)
from workers.runtime import embedded_background

pytestmark = pytest.mark.browser


@pytest.fixture(scope="session")
async def social_sandbox_server() -> AsyncIterator[ServedSandbox]:
    served = ServedSandbox()
    async with serve_http(served.sandbox.app(), served.port):
        yield served


@pytest.fixture
def social_server(
    database_url: str,
    tmp_path: Path,
    mail_sink: SmtpSimulator,
    social_sandbox_server: ServedSandbox,
) -> Iterator[LiveServer]:
    """The platform as `live_server` runs it, with the social adapters pointed at the
    sandbox (consent pages on: a person clicks through them)."""
    sandbox = social_sandbox_server.sandbox
    sandbox.auto_consent.clear()
    sandbox.x_follows_lookup = True
    sandbox.clock_s = None
    port = _free_port()
    origin = f"http://127.0.0.1:{port}"
    settings = make_settings(
        database_url,
        tmp_path,
        DRACARYS_PUBLIC_URL=origin,
        DRACARYS_ALLOWED_ORIGINS=origin,
        DRACARYS_OUTBOX_POLL_INTERVAL_S="0.1",
        DRACARYS_LOG_LEVEL="ERROR",
        DRACARYS_SMTP_PORT=str(mail_sink.port),
        **{
            f"DRACARYS_{name.upper()}": value
            for name, value in sandbox.settings_for(social_sandbox_server.url).items()
        },
    )
    app = create_app(settings, lifespan_hooks=[embedded_background], run_migrations=False)
    with served_in_thread(app, port, "social-live-server"):
        yield LiveServer(url=origin, database_url=database_url)


async def _points_of(server: LiveServer, account: Account, expected: int) -> int:
    """The member's points balance once the in-process worker has delivered the award."""
    conn = await asyncpg.connect(server.database_url)
    try:
        balance = 0
        for _ in range(100):
            balance = int(
                await conn.fetchval(
                    "SELECT coalesce(max(balance), 0) FROM points_balances WHERE user_id = $1",
                    account.id,
                )
            )
            if balance == expected:
                break
            await asyncio.sleep(0.1)
        return balance
    finally:
        await conn.close()


async def test_a_member_verifies_youtube_through_the_platform_and_sends_screenshots_for_the_rest(
    context: Any, social_server: LiveServer, social_sandbox_server: ServedSandbox
) -> None:
    sandbox: SocialSandbox = social_sandbox_server.sandbox
    member = await register(social_server, name="Amani Follows")
    page = await context.new_page()
    await sign_in(page, social_server, member, "/social")
    youtube = page.locator("li[data-platform=youtube]")
    await expect(youtube).to_contain_text("Not verified yet")
    await expect(page.locator("#reward")).to_contain_text("150 points, once per platform")
    await expect(page.locator("li[data-platform=instagram]")).to_contain_text("send a screenshot")
    await assert_accessible(page, "follows page, nothing verified")
    await screenshot(page, "social-start")

    # YouTube: to the platform's consent screen and back.
    await youtube.get_by_role("button", name="Connect YouTube").click()
    await expect(page.get_by_role("heading", name="YouTube sandbox")).to_be_visible()
    await page.get_by_label("Your YouTube account name").fill("Amani trades")
    await page.get_by_role("button", name="Allow").click()
    await page.wait_for_url(f"{social_server.url}/social")
    await expect(page.locator("#outcome")).to_contain_text("Verified: Amani trades follows")
    await expect(youtube).to_contain_text("Verified")
    await expect(youtube.get_by_role("button")).to_have_count(0)
    assert await _points_of(social_server, member, 150) == 150

    # X, where the API tier has no follows lookup: the card turns to a screenshot form.
    sandbox.x_follows_lookup = False
    x_card = page.locator("li[data-platform=x]")
    await x_card.get_by_role("button", name="Connect X").click()
    await page.get_by_label("Your X account name").fill("amani_fx")
    await page.get_by_role("button", name="Allow").click()
    await page.wait_for_url(f"{social_server.url}/social")
    await expect(x_card).to_contain_text("Needs a screenshot")
    await expect(x_card).to_contain_text("does not let our app read who you follow")
    await expect(x_card.get_by_label("Link to your X profile")).to_be_visible()

    # Instagram: a text file renamed .png is refused by its bytes; a real screenshot waits.
    instagram = page.locator("li[data-platform=instagram]")
    await instagram.get_by_label("Link to your Instagram profile").fill(
        "https://www.instagram.com/amani.trades/"
    )
    shot = instagram.get_by_label("Screenshot of your profile")
    await shot.set_input_files(
        {"name": "proof.png", "mimeType": "image/png", "buffer": b"not a picture at all"}
    )
    await instagram.get_by_role("button", name="Send my Instagram proof").click()
    await expect(instagram.locator("#shot-instagram-error")).to_contain_text(
        "not a PNG, JPEG or WebP picture"
    )
    await shot.set_input_files({"name": "proof.png", "mimeType": "image/png", "buffer": png()})
    await instagram.get_by_role("button", name="Send my Instagram proof").click()
    await expect(instagram).to_contain_text("Waiting for review")
    await expect(instagram).to_contain_text("https://www.instagram.com/amani.trades")
    await expect(page.locator("#outcome")).to_contain_text("A reviewer will check it")
    await assert_accessible(page, "follows page, YouTube verified, Instagram waiting")
    await screenshot(page, "social-verified-and-waiting")
    await page.set_viewport_size(PHONE_VIEWPORT)
    await assert_accessible(page, "follows page, phone")
    await screenshot(page, "social-phone")


async def _reviewer_with_two_factor(server: LiveServer) -> tuple[Account, str]:
    reviewer = await register(server, name="Rehema Reviewer", role="reviewer")
    async with server.api() as client:
        login = await client.post(
            "/api/v1/login", json={"email": reviewer.email, "password": reviewer.password}
        )
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        enrolment = await client.post("/api/v1/me/totp", headers=headers)
        secret = enrolment.json()["secret"]
        confirmed = await client.post(
            "/api/v1/me/totp/confirm", json={"code": pyotp.TOTP(secret).now()}, headers=headers
        )
        assert confirmed.status_code == 200, confirmed.text
    return reviewer, secret


async def test_a_reviewer_approves_an_instagram_proof_from_the_queue(
    browser: Any, social_server: LiveServer
) -> None:
    member = await register(social_server, name="Baraka Proof")
    async with social_server.api() as client:
        login = await client.post(
            "/api/v1/login", json={"email": member.email, "password": member.password}
        )
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        sent = await client.post(
            "/api/v1/social/proofs",
            data={"platform": "instagram", "profile_url": "https://instagram.com/baraka.fx"},
            files={"file": ("proof.png", io.BytesIO(png(40, 30)), "image/png")},
            headers=headers,
        )
        assert sent.status_code == 201, sent.text
    reviewer, secret = await _reviewer_with_two_factor(social_server)
    staff_context = await browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = await staff_context.new_page()
        await page.goto(f"{social_server.url}/signin?next=/staff/social-proofs")
        await page.get_by_label("E-mail").fill(reviewer.email)
        await page.get_by_label("Password").fill(reviewer.password)
        await page.get_by_role("button", name="Sign in").click()
        # The next step's code: this step's was spent confirming the enrolment.
        await page.get_by_label("Authenticator code").fill(pyotp.TOTP(secret).at(time.time() + 30))
        await page.get_by_role("button", name="Sign in").click()
        await page.wait_for_url(f"{social_server.url}/staff/social-proofs")
        proof = page.locator("#proofs li").first
        await expect(proof).to_contain_text("Baraka Proof · Instagram")
        await expect(proof).to_contain_text("https://www.instagram.com/baraka.fx")
        await expect(page.locator("#queue-status")).to_have_text("1 proof waiting for review.")
        picture = proof.get_by_role("img")
        await expect(picture).to_have_attribute("src", re.compile(r"^blob:"))
        assert await picture.evaluate("img => img.decode().then(() => img.naturalWidth)") == 40
        await assert_accessible(page, "proof queue with one proof")
        await screenshot(page, "social-proof-queue")
        await proof.get_by_role("button", name="Reject").click()
        await expect(proof.get_by_text("Say why the proof is not accepted")).to_be_visible()
        await proof.get_by_role("button", name="Approve").click()
        await expect(page.locator("#queue-status")).to_contain_text(
            "Approved Baraka Proof's Instagram proof: the follow is verified."
        )
        await expect(page.locator("#proofs li")).to_have_count(0)
        await expect(page.locator("#queue-status")).to_contain_text("No proof is waiting")
        await page.set_viewport_size(PHONE_VIEWPORT)
        await assert_accessible(page, "proof queue emptied, phone")
        await screenshot(page, "social-proof-queue-done")
    finally:
        await staff_context.close()
    assert await _points_of(social_server, member, 150) == 150
