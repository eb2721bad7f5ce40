"""The staff console's people pages in Chromium, for staff signed in with two-factor: a
reviewer opens a member's ID from the KYC queue (the file fetched with the session's token
and shown from a blob URL), is told beside the field that a rejection needs a reason,
approves, and the member's level rises; an admin finds a member by e-mail, signs one of
their devices out, is told a ban needs a reason, bans them (which signs them out), sees
the ban in their audit trail, checks the audit chain and lifts the ban; a reviewer ends a
mentor's probation and verifies them; an admin sets a mentor's contract share. Each page
is checked with axe-core."""

from __future__ import annotations

import re
import struct
import zlib
from typing import Any

import asyncpg
import pyotp
import pytest
from playwright.async_api import expect

from tests.identity.test_kyc import PDF
from tests.web.conftest import (
    PHONE_VIEWPORT,
    Account,
    LiveServer,
    admin_with_two_factor,
    assert_accessible,
    nav_link,
    register,
    screenshot,
    sign_in_with_code,
)

pytestmark = pytest.mark.browser
BLOB_URL = re.compile(r"^blob:")


def _png(width: int, height: int) -> bytes:
    """A real PNG (grey pixels), so the browser can draw it and report its size."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


async def _reviewer_with_two_factor(server: LiveServer) -> tuple[Account, str]:
    """A reviewer enrolled in TOTP through the API: the account and its TOTP secret."""
    reviewer = await register(server, name="Rita Reviewer", role="reviewer")
    async with server.api() as client:
        login = await client.post(
            "/api/v1/login", json={"email": reviewer.email, "password": reviewer.password}
        )
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        secret = (await client.post("/api/v1/me/totp", headers=headers)).json()["secret"]
        confirmed = await client.post(
            "/api/v1/me/totp/confirm", json={"code": pyotp.TOTP(secret).now()}, headers=headers
        )
        assert confirmed.status_code == 200, confirmed.text
    return reviewer, secret


async def _sql(server: LiveServer, query: str, *args: Any) -> Any:
    conn = await asyncpg.connect(server.database_url)
    try:
        return await conn.fetchval(query, *args)
    finally:
        await conn.close()


async def _member_headers(server: LiveServer, member: Account) -> dict[str, str]:
    async with server.api() as client:
        login = await client.post(
            "/api/v1/login", json={"email": member.email, "password": member.password}
        )
        assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


async def test_a_reviewer_approves_an_id_from_the_kyc_queue_and_the_members_level_rises(
    context: Any, live_server: LiveServer
) -> None:
    reviewer, secret = await _reviewer_with_two_factor(live_server)
    member = await register(live_server, name="Kim Member")
    # E-mail and phone verified (their own flows are tested elsewhere): level 1.
    await _sql(
        live_server,
        """UPDATE users SET email_verified_at = now(), phone_verified_at = now(), kyc_level = 1
           WHERE id = $1""",
        member.id,
    )
    headers = await _member_headers(live_server, member)
    async with live_server.api() as client:
        for doc_type, name, mime, content in (
            ("government_id", "id.png", "image/png", _png(40, 30)),
            ("proof_of_address", "bill.pdf", "application/pdf", PDF),
        ):
            uploaded = await client.patch(
                f"/api/v1/users/{member.id}/kyc-upload",
                data={"doc_type": doc_type},
                files={"file": (name, content, mime)},
                headers=headers,
            )
            assert uploaded.status_code == 200, uploaded.text

    page = await context.new_page()
    await sign_in_with_code(page, live_server, reviewer, secret, "/staff")
    await (await nav_link(page, "KYC reviews")).click()
    await page.wait_for_url(f"{live_server.url}/staff/kyc")
    queue = page.locator("#queue tr[data-document]")
    await expect(queue).to_have_count(2)
    # Oldest first: the ID was uploaded first.
    await expect(queue.nth(0)).to_contain_text("Government ID")
    await expect(queue.nth(0)).to_contain_text("Kim Member")
    await expect(queue.nth(0)).to_contain_text("level 1 of 3")
    await expect(queue.nth(1)).to_contain_text("Proof of address")
    await assert_accessible(page, "KYC queue")

    await page.get_by_role("button", name="Open the proof of address").click()
    pdf = page.locator("#viewer-file object[type='application/pdf']")
    await expect(pdf).to_have_attribute("data", BLOB_URL)
    await page.get_by_role("button", name="Open the government id").click()
    await expect(page.locator("#viewer-heading")).to_have_text("Government ID of Kim Member")
    await expect(page.locator("#viewer-level")).to_contain_text("Kim Member is at level 1 of 3")
    image = page.get_by_role("img", name="Government ID uploaded by Kim Member")
    await expect(image).to_have_attribute("src", BLOB_URL)
    # Drawn: the bytes came from the authenticated file endpoint.
    await page.wait_for_function(
        "() => document.querySelector('#viewer-file img')?.naturalWidth === 40"
    )
    await assert_accessible(page, "KYC document viewer")
    await screenshot(page, "staff-kyc-viewer")

    await page.get_by_role("button", name="Reject").click()
    await expect(page.locator("#decision-reason-error")).to_have_text(
        "Say why the document is rejected"
    )
    await expect(page.get_by_label("Reason")).to_have_attribute("aria-invalid", "true")
    await page.get_by_role("button", name="Approve").click()
    await expect(page.locator("#flash")).to_have_text(
        "Government ID of Kim Member approved. Kim Member is now at level 2 of 3."
    )
    await expect(queue).to_have_count(1)
    await expect(queue.nth(0)).to_contain_text("level 2 of 3")
    assert await _sql(live_server, "SELECT kyc_level FROM users WHERE id = $1", member.id) == 2
    await page.set_viewport_size(PHONE_VIEWPORT)
    await assert_accessible(page, "KYC queue (phone)")


async def test_an_admin_finds_a_member_by_email_bans_them_with_a_reason_and_lifts_the_ban(
    context: Any, live_server: LiveServer
) -> None:
    admin, secret, _ = await admin_with_two_factor(live_server)
    member = await register(live_server, name="Bo Banned")
    member_headers = await _member_headers(live_server, member)
    await _member_headers(live_server, member)  # a second device
    page = await context.new_page()
    await sign_in_with_code(page, live_server, admin, secret, "/staff/users")

    await page.get_by_label("E-mail address, account id or @handle").fill("Bo Banned")
    await page.get_by_role("button", name="Find").click()
    await expect(page.locator("#search-q-error")).to_contain_text(
        "Names are sealed and cannot be searched."
    )
    await page.get_by_label("E-mail address, account id or @handle").fill(member.email.upper())
    await page.get_by_role("button", name="Find").click()
    await expect(page.locator("#search-status")).to_have_text("Found one member.")
    await assert_accessible(page, "members search")
    await page.locator("#results").get_by_role("link", name="Bo Banned").click()
    await page.wait_for_url(f"{live_server.url}/staff/users/{member.id}")

    await expect(page.locator("#profile")).to_contain_text(member.email)
    devices = page.locator("#sessions tr[data-session]")
    await expect(devices).to_have_count(2)
    await assert_accessible(page, "member page")
    await screenshot(page, "staff-member")
    await devices.nth(0).get_by_role("button", name="Sign out python-httpx").click()
    await expect(devices).to_have_count(1)
    await expect(page.locator('#audit tr[data-action="admin.session_revoked"]')).to_contain_text(
        "Ada Admin"
    )

    await page.get_by_role("button", name="Ban the member").click()
    await expect(page.locator("#ban-reason-error")).not_to_have_text("")
    await page.get_by_label("Reason for the ban").fill("Chargebacks on three cards")
    await page.get_by_role("button", name="Ban the member").click()
    await expect(page.locator("#flash")).to_have_text(
        "Bo Banned is banned and signed out everywhere."
    )
    await expect(page.locator("#sessions-status")).to_have_text("Not signed in anywhere.")
    ban_entry = page.locator('#audit tr[data-action="admin.ban"]')
    await expect(ban_entry).to_contain_text("Banned")
    await expect(ban_entry).to_contain_text("Ada Admin")
    await expect(ban_entry).to_contain_text("reason: Chargebacks on three cards")
    async with live_server.api() as client:
        refused = await client.get("/api/v1/me", headers=member_headers)
        assert refused.status_code in (401, 403)

    await page.get_by_role("button", name="Check the audit chain").click()
    await expect(page.locator("#chain-status")).to_contain_text("The chain is unbroken")
    await page.get_by_role("button", name="Lift the ban").click()
    await expect(page.locator("#flash")).to_have_text("The ban on Bo Banned is lifted.")
    await expect(page.locator('#audit tr[data-action="admin.unban"]')).to_contain_text("Ada Admin")
    assert await _sql(live_server, "SELECT status FROM users WHERE id = $1", member.id) == "active"
    await page.set_viewport_size(PHONE_VIEWPORT)
    await assert_accessible(page, "member page (phone)")
    await screenshot(page, "staff-member-phone")


async def _mentor(live_server: LiveServer, admin_headers: dict[str, str], name: str) -> Account:
    """A member an admin made a mentor (which opens their profile, on probation)."""
    mentor = await register(live_server, name=name)
    async with live_server.api() as client:
        promoted = await client.put(
            f"/api/v1/admin/users/{mentor.id}/role", json={"role": "mentor"}, headers=admin_headers
        )
        assert promoted.status_code == 200, promoted.text
    return mentor


async def test_a_reviewer_ends_a_mentors_probation_and_verifies_them(
    context: Any, live_server: LiveServer
) -> None:
    _, _, admin_headers = await admin_with_two_factor(live_server)
    mentor = await _mentor(live_server, admin_headers, "Mel Mentor")
    reviewer, secret = await _reviewer_with_two_factor(live_server)
    page = await context.new_page()
    await sign_in_with_code(page, live_server, reviewer, secret, "/staff/mentors")

    row = page.locator(f'#mentors tr[data-mentor="{mentor.id}"]')
    await expect(row).to_contain_text("Not verified, on probation")
    await expect(page.locator("#contract-section")).to_be_hidden()
    await assert_accessible(page, "mentor vetting")
    await row.get_by_role("button", name="End Mel Mentor's probation").click()
    await expect(page.locator("#flash")).to_contain_text("Mel Mentor's probation is over")
    await expect(row).to_contain_text("Not verified, probation ended")
    on_probation = "SELECT on_probation FROM mentor_profiles WHERE user_id = $1"
    assert await _sql(live_server, on_probation, mentor.id) is False
    await row.get_by_role("button", name="Verify Mel Mentor").click()
    await expect(page.locator("#mentors-status")).to_have_text(
        "Every mentor is verified and off probation."
    )
    await page.set_viewport_size(PHONE_VIEWPORT)
    await assert_accessible(page, "mentor vetting (phone)")

    # A reviewer looks the mentor up: the profile and devices, not what only admins do.
    await page.goto(f"{live_server.url}/staff/users/{mentor.id}")
    await expect(page.locator("#profile")).to_contain_text("mentor")
    await expect(page.locator("#admin-only-note")).to_be_visible()
    for admin_only in ("#ban-section", "#role-section", "#audit-section"):
        await expect(page.locator(admin_only)).to_be_hidden()
    await expect(page.locator("#sessions-status")).to_have_text("Not signed in anywhere.")
    await assert_accessible(page, "member page, reviewer")


async def test_an_admin_sets_a_mentors_contract_share_and_a_wrong_share_is_refused(
    context: Any, live_server: LiveServer
) -> None:
    admin, secret, admin_headers = await admin_with_two_factor(live_server)
    mentor = await _mentor(live_server, admin_headers, "Cy Contract")
    page = await context.new_page()
    await sign_in_with_code(page, live_server, admin, secret, "/staff/mentors")
    await page.get_by_label("Mentor", exact=True).select_option(str(mentor.id))
    share = page.get_by_label("Mentor's share of each payment (%)")
    await share.fill("120")
    await page.get_by_role("button", name="Set the share").click()
    await expect(page.locator("#contract-share-error")).not_to_have_text("")
    await expect(share).to_have_attribute("aria-invalid", "true")
    await share.fill("72.5")
    await page.get_by_role("button", name="Set the share").click()
    await expect(page.locator("#flash")).to_have_text(
        "Cy Contract now gets 72.50% of each payment."
    )
    stored = "SELECT share_bps FROM mentor_contracts WHERE mentor_id = $1"
    assert await _sql(live_server, stored, mentor.id) == 7250
    await assert_accessible(page, "mentor vetting, admin")
