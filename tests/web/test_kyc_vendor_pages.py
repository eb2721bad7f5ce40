"""Automatic KYC checks by Smile ID in Chromium, with the platform pointed at the local
Smile ID simulator: a member uploads their passport on /kyc and is told an automatic
check is under way; Smile ID's provisional (unclear) result, posted signed to our callback
URL, hands the document to the reviewers, and a reviewer sees Smile ID's result and why
it could not decide, in the KYC queue and beside the document. Checked with axe-core."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from playwright.async_api import expect

from dracarys.app import create_app
from dracarys.payments.sandbox import serve
from tests.conftest import make_settings
from tests.identity.smile_id_simulator import PROVISIONAL, SmileIdSimulator
from tests.messaging.simulators import SmtpSimulator
from tests.support import served_in_thread
from tests.web.conftest import (
    LiveServer,
    _free_port,
    assert_accessible,
    register,
    screenshot,
    sign_in,
    sign_in_with_code,
)
from tests.web.test_people_pages import _png, _reviewer_with_two_factor
from workers.runtime import embedded_background

pytestmark = pytest.mark.browser


@pytest.fixture
def smile() -> Iterator[SmileIdSimulator]:
    simulator = SmileIdSimulator()
    with serve(simulator.app()) as url:
        simulator.base_url = url
        yield simulator


@pytest.fixture
def smile_live_server(
    database_url: str, tmp_path: Path, mail_sink: SmtpSimulator, smile: SmileIdSimulator
) -> Iterator[LiveServer]:
    """The platform as `dracarys up` runs it, with automatic KYC checks by (simulated)
    Smile ID, which calls back to this server."""
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
        DRACARYS_SMILE_ID_PARTNER_ID=smile.partner_id,
        DRACARYS_SMILE_ID_API_KEY=smile.api_key,
        DRACARYS_SMILE_ID_BASE_URL=smile.base_url,
        DRACARYS_SMILE_ID_CALLBACK_URL=f"{origin}/api/v1/webhooks/smile-id",
    )
    app = create_app(settings, lifespan_hooks=[embedded_background], run_migrations=False)
    with served_in_thread(app, port, "live-server-smile-id"):
        yield LiveServer(url=origin, database_url=database_url)


async def test_a_reviewer_sees_smile_ids_result_for_an_id_it_sent_to_review(
    context: Any, smile_live_server: LiveServer, smile: SmileIdSimulator
) -> None:
    server = smile_live_server
    smile.delivery = "hold"  # the result comes once the member has seen the check running
    smile.outcome = PROVISIONAL
    member = await register(server, name="Wanjiru Member")
    conn = await asyncpg.connect(server.database_url)
    try:
        await conn.execute(
            "UPDATE users SET email_verified_at = now(), phone_verified_at = now(), "
            "kyc_level = 1 WHERE id = $1",
            member.id,
        )
    finally:
        await conn.close()

    page = await context.new_page()
    await sign_in(page, server, member, "/kyc")
    await page.get_by_label("Which ID is it?").select_option("PASSPORT")
    await page.get_by_label("Government ID: file").set_input_files(
        {"name": "passport.png", "mimeType": "image/png", "buffer": _png(320, 200)}
    )
    await page.get_by_role("button", name="Upload your government ID").click()
    government_id = page.locator('.kyc-document[data-doc-type="government_id"]')
    await expect(government_id.locator("[data-status]")).to_have_text("Being checked")
    await expect(government_id.locator(".kyc-checking")).to_contain_text(
        "An automatic identity check is under way"
    )
    assert smile.job_of_user(member.id).id_type == "PASSPORT"
    await assert_accessible(page, "kyc page, automatic check under way")
    await screenshot(page, "kyc-automatic-check-under-way")

    # Smile ID answers: provisional, so a reviewer decides.
    assert await smile.post_held() == [200]
    await page.get_by_role("button", name="Check again").click()
    await expect(government_id.locator("[data-status]")).to_have_text("Waiting for review")

    reviewer, secret = await _reviewer_with_two_factor(server)
    staff = await context.new_page()
    await sign_in_with_code(staff, server, reviewer, secret, "/staff/kyc")
    row = staff.locator("#queue tr").filter(has_text="Wanjiru Member")
    await expect(row).to_contain_text(f"Smile ID: “{PROVISIONAL[1]}” (code {PROVISIONAL[0]})")
    await expect(row).to_contain_text("Sent to review")
    await row.get_by_role("button", name="Open the government id").click()
    vendor = staff.locator("#viewer-vendor")
    await expect(vendor).to_be_visible()
    await expect(vendor).to_contain_text("Automatic check by Smile ID")
    await expect(vendor).to_contain_text("Smile ID could not decide")
    await expect(staff.locator("#viewer-file img")).to_be_visible()
    await assert_accessible(staff, "staff kyc queue, a document Smile ID sent to review")
    await screenshot(staff, "staff-kyc-smile-id-result")
