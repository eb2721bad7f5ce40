"""Signing up and in through the forms, and the browser session's token handling: an
expiring access token is renewed once for a burst of requests (refresh tokens are
single-use), and signing out ends the session."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from playwright.async_api import expect

from tests.web.conftest import PASSWORD, LiveServer, screenshot

pytestmark = pytest.mark.browser


async def test_sign_up_form_signs_in_and_expiring_token_is_renewed_once(
    context: Any, live_server: LiveServer
) -> None:
    page = await context.new_page()
    await page.goto(f"{live_server.url}/signup")
    await page.get_by_label("Name").fill("Nia New")
    await page.get_by_label("E-mail").fill(f"nia-{uuid.uuid4().hex[:6]}@example.com")
    await page.get_by_label("Password", exact=True).fill("short")
    await page.get_by_role("button", name="Create account").click()
    # The server's reason is shown next to the field it names.
    await expect(page.locator("#password-error")).not_to_be_empty()
    assert await page.get_by_label("Password", exact=True).get_attribute("aria-invalid") == "true"

    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="Create account").click()
    # A new member starts with the onboarding quiz.
    await page.wait_for_url(f"{live_server.url}/onboarding")
    await expect(page.locator("#whoami")).to_contain_text("Nia New")

    await page.goto(f"{live_server.url}/points")
    await expect(page.locator("#balance")).not_to_have_text("—")
    before = json.loads(await page.evaluate("localStorage.getItem('dracarys.session')"))

    # The access token is about to expire: the next burst of requests renews it once.
    refreshes: list[str] = []
    page.on(
        "request",
        lambda request: refreshes.append(request.url) if "/token/refresh" in request.url else None,
    )
    await page.evaluate(
        """() => {
          const s = JSON.parse(localStorage.getItem('dracarys.session'));
          s.expires_at = Date.now();
          localStorage.setItem('dracarys.session', JSON.stringify(s));
        }"""
    )
    async with (
        page.expect_response("**/api/v1/points/history*") as history,
        page.expect_response("**/api/v1/token/refresh") as renewed,
    ):
        await page.get_by_role("button", name="Refresh").click()
    assert (await renewed.value).status == 200
    assert (await history.value).status == 200
    after = json.loads(await page.evaluate("localStorage.getItem('dracarys.session')"))
    assert len(refreshes) == 1
    assert after["refresh_token"] != before["refresh_token"]
    assert after["access_token"] != before["access_token"]
    await screenshot(page, "points-after-refresh")

    await page.get_by_role("button", name="Sign out").click()
    await page.wait_for_url(f"{live_server.url}/signin")
    assert await page.evaluate("localStorage.getItem('dracarys.session')") is None
    async with live_server.api() as client:
        refused = await client.post(
            "/api/v1/token/refresh", json={"refresh_token": after["refresh_token"]}
        )
    assert refused.status_code == 401
