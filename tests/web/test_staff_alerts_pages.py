"""The staff alerts page in Chromium, for a reviewer signed in with two-factor: a failed
payout announced by the wallet's event becomes an alert through the embedded worker's
`admin.alerts` consumer, told to the reviewer by e-mail (the SMTP sink), seen on
/staff/alerts and acknowledged; the page is checked with axe-core, at desktop and phone
width."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import pyotp
import pytest

from dracarys.db import transaction
from dracarys.outbox import emit_event
from dracarys.wallet import PayoutFailed
from tests.messaging.simulators import SmtpSimulator
from tests.web.conftest import (
    PHONE_VIEWPORT,
    Account,
    LiveServer,
    assert_accessible,
    nav_link,
    platform_of,
    register,
    screenshot,
)

pytestmark = pytest.mark.browser


async def _reviewer_with_two_factor(server: LiveServer) -> tuple[Account, str]:
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


async def _alert_of(database_url: str, user_id: uuid.UUID) -> uuid.UUID:
    """The alert the embedded worker raises for the member, once it has seen the event."""
    conn = await asyncpg.connect(database_url)
    try:
        for _ in range(100):
            found = await conn.fetchval("SELECT id FROM staff_alerts WHERE user_id = $1", user_id)
            if found is not None:
                return uuid.UUID(str(found))
            await asyncio.sleep(0.1)
    finally:
        await conn.close()
    raise AssertionError("no staff alert was raised")


async def test_a_reviewer_sees_a_new_alert_on_the_alerts_page_and_acknowledges_it(
    context: Any, live_server: LiveServer, mail_sink: SmtpSimulator, tmp_path: Path
) -> None:
    reviewer, secret = await _reviewer_with_two_factor(live_server)
    member = await register(live_server, name="Paula Payee", kyc_level=2)
    async with platform_of(live_server, tmp_path) as platform, transaction(platform.pool) as conn:
        await emit_event(
            conn,
            PayoutFailed(
                user_id=member.id,
                payout_id=uuid.uuid4(),
                amount_minor=750_000,
                currency="KES",
                reason="receiver_not_registered",
            ),
        )
    alert_id = await _alert_of(live_server.database_url, member.id)
    # After the sign-up's confirmation mail, the alert's.
    mails = await mail_sink.wait_for(reviewer.email, count=2)
    assert [m["Subject"] for m in mails].count("Alert: Payout failed") == 1

    page = await context.new_page()
    await page.goto(f"{live_server.url}/signin?next=/staff/alerts")
    await page.get_by_label("E-mail").fill(reviewer.email)
    await page.get_by_label("Password").fill(reviewer.password)
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_label("Authenticator code").fill(pyotp.TOTP(secret).at(time.time() + 30))
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"{live_server.url}/staff/alerts")

    row = page.locator(f"#alerts tr[data-alert='{alert_id}']")
    await row.get_by_text("Payout failed").wait_for()
    await row.get_by_text("Warning").wait_for()
    await row.get_by_text("Paula Payee").wait_for()
    await row.get_by_text("A payout of KES 7,500.00 failed (receiver not registered)").wait_for()
    await row.get_by_text("A payout of KES 7,500.00 failed").click()  # open the details
    await row.get_by_text("receiver not registered", exact=True).wait_for()
    assert await (await nav_link(page, "Alerts")).count() == 1
    await assert_accessible(page, "Staff alerts")
    await screenshot(page, "staff-alerts")
    await page.set_viewport_size(PHONE_VIEWPORT)
    await assert_accessible(page, "Staff alerts (phone)")
    await page.set_viewport_size({"width": 1280, "height": 900})

    await row.get_by_role("button", name="Acknowledge").click()
    await page.get_by_text("No alert is waiting to be acknowledged.").wait_for()
    await page.get_by_label("Only alerts nobody has acknowledged").uncheck()
    await row.get_by_text("By Rita Reviewer").wait_for()
    await assert_accessible(page, "Staff alerts, acknowledged")
    await screenshot(page, "staff-alerts-acknowledged")
