"""A mentee verifies their identity in the browser: the page says what each level needs
and unlocks, refuses a file that is not a document in plain words, shows the upload
waiting for review, the reviewer's reason for a rejection, takes a new upload, and shows
the level rise once a reviewer approves. The reviewer acts through the API, signed in
with two-factor as staff must be (their screens are another page)."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pyotp
import pytest
from playwright.async_api import expect

from tests.identity.test_kyc import PDF, PNG
from tests.web.conftest import (
    PHONE_VIEWPORT,
    Account,
    LiveServer,
    assert_accessible,
    register,
    screenshot,
    sign_in,
)

pytestmark = pytest.mark.browser

REASON = "The photo is blurred: the name on the ID cannot be read"


async def _with_verified_contact(server: LiveServer, account: Account) -> None:
    """E-mail and phone verified, so the mentee stands at level 1 (the account page's
    verification flows, tested there, leave the account like this)."""
    conn = await asyncpg.connect(server.database_url)
    try:
        await conn.execute(
            """UPDATE users SET email_verified_at = now(), phone_verified_at = now(),
                                kyc_level = 1 WHERE id = $1""",
            account.id,
        )
    finally:
        await conn.close()


async def _reviewer_headers(server: LiveServer, client: httpx.AsyncClient) -> dict[str, str]:
    """A reviewer signed in, enrolled in TOTP and confirmed: the session passed two-factor."""
    reviewer = await register(server, name="Rita Reviewer", role="reviewer")
    login = await client.post(
        "/api/v1/login", json={"email": reviewer.email, "password": reviewer.password}
    )
    assert login.status_code == 200, login.text
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    enrolment = await client.post("/api/v1/me/totp", headers=headers)
    assert enrolment.status_code == 200, enrolment.text
    code = pyotp.TOTP(enrolment.json()["secret"]).now()
    confirmed = await client.post("/api/v1/me/totp/confirm", json={"code": code}, headers=headers)
    assert confirmed.status_code == 200, confirmed.text
    return headers


async def _decide(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    owner: Account,
    verdict: str,
    reason: str | None = None,
) -> None:
    queue = await client.get("/api/v1/kyc/reviews", headers=headers)
    assert queue.status_code == 200, queue.text
    [document] = [d for d in queue.json() if d["user_id"] == str(owner.id)]
    decided = await client.post(
        f"/api/v1/kyc/documents/{document['id']}/{verdict}",
        json={"reason": reason} if reason else {},
        headers=headers,
    )
    assert decided.status_code == 200, decided.text


def _file(name: str, mime: str, content: bytes) -> dict[str, Any]:
    return {"name": name, "mimeType": mime, "buffer": content}


async def test_a_mentee_uploads_is_rejected_with_a_reason_uploads_again_and_rises_a_level(
    context: Any, live_server: LiveServer
) -> None:
    mentee = await register(live_server, name="Kofi Mentee")
    await _with_verified_contact(live_server, mentee)
    page = await context.new_page()
    await sign_in(page, live_server, mentee, "/kyc")

    summary = page.locator("#level-summary")
    await expect(summary).to_contain_text("You are at level 1 of 3")
    await expect(page.get_by_role("link", name="Back to your account")).to_have_attribute(
        "href", "/account"
    )
    level_two = page.locator('.kyc-tier[data-level="2"]')
    await expect(level_two).to_contain_text("Not reached yet")
    await expect(level_two).to_contain_text("Withdraw from your wallet")
    await expect(level_two).to_contain_text("a day")  # the daily withdrawal limit
    await expect(page.locator('.kyc-tier[data-level="1"]')).to_contain_text("Reached")
    await expect(page.locator('.kyc-tier[data-level="3"]')).to_contain_text("Proof of address")
    await assert_accessible(page, "kyc page, level 1")
    await screenshot(page, "kyc-level-1")

    # A web page named like an image: the server reads the bytes and says why not.
    file_input = page.get_by_label("Government ID: file")
    await file_input.set_input_files(_file("id.png", "image/png", b"<html>not an ID</html>"))
    await page.get_by_role("button", name="Upload your government ID").click()
    refusal = page.locator("#file-government_id-error")
    await expect(refusal).to_contain_text("not a JPEG, PNG or PDF")
    await expect(file_input).to_have_attribute("aria-invalid", "true")
    # Choosing another file clears the refusal.
    await file_input.set_input_files(_file("id.png", "image/png", PNG))
    await expect(refusal).to_have_text("")
    await page.get_by_role("button", name="Upload your government ID").click()
    government_id = page.locator('.kyc-document[data-doc-type="government_id"]')
    await expect(government_id.locator("[data-status]")).to_have_text("Waiting for review")
    await expect(page.get_by_role("button", name="Upload your government ID")).to_have_count(0)
    await screenshot(page, "kyc-pending")

    async with live_server.api() as client:
        reviewer = await _reviewer_headers(live_server, client)
        await _decide(client, reviewer, mentee, "reject", REASON)

        await page.get_by_role("button", name="Check again").click()
        await expect(government_id.locator("[data-status]")).to_have_text("Rejected")
        await expect(government_id.locator(".kyc-reason")).to_contain_text(REASON)
        await assert_accessible(page, "kyc page, a document rejected")
        await screenshot(page, "kyc-rejected")

        await page.get_by_label("Government ID: a new file").set_input_files(
            _file("id-scan.pdf", "application/pdf", PDF)
        )
        await page.get_by_role("button", name="Upload a new government ID").click()
        await expect(government_id.locator("[data-status]")).to_have_text("Waiting for review")
        await expect(government_id.locator(".kyc-earlier")).to_contain_text("Earlier uploads (1)")

        await _decide(client, reviewer, mentee, "approve")

    await page.get_by_role("button", name="Check again").click()
    await expect(summary).to_contain_text("You are at level 2 of 3")
    await expect(summary).to_contain_text("Next: level 3")
    await expect(level_two).to_contain_text("Reached")
    await expect(level_two).not_to_contain_text("Not reached yet")
    await expect(government_id.locator("[data-status]")).to_have_text("Approved")
    await expect(level_two.locator('[data-capability="wallet.withdraw"]')).to_be_visible()
    await expect(page.locator("#level-progress")).to_have_attribute("value", "2")
    await assert_accessible(page, "kyc page, level 2")
    await screenshot(page, "kyc-level-2")

    await page.set_viewport_size(PHONE_VIEWPORT)
    await assert_accessible(page, "kyc page, level 2, phone")
    await screenshot(page, "kyc-level-2-phone")


async def test_the_kyc_page_asks_a_visitor_to_sign_in(
    context: Any, live_server: LiveServer
) -> None:
    page = await context.new_page()
    await page.goto(f"{live_server.url}/kyc", wait_until="commit")  # leaves before "load"
    await page.wait_for_url(f"{live_server.url}/signin?next=%2Fkyc")
    await expect(page.get_by_label("E-mail")).to_be_visible()
