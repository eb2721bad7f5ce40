"""The staff console's money and points pages in Chromium, for an admin signed in with
two-factor: a dispute read from both sides and decided with a 40 % refund (a refund above
what is held refused beside its field first); a bank payout recorded; merch orders moved
a step at a time; the points review (economy, an unfreeze, a rule's new version); the
chargebacks list. Each page is checked with axe-core."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from dracarys.db import transaction
from dracarys.wallet.escrow import service as escrow
from tests.support import fund_wallet, give_points
from tests.web.conftest import (
    Account,
    LiveServer,
    admin_with_two_factor,
    assert_accessible,
    platform_of,
    register,
    screenshot,
    sign_in_with_code,
)

pytestmark = pytest.mark.browser


async def _headers(client: httpx.AsyncClient, account: Account) -> dict[str, str]:
    login = await client.post(
        "/api/v1/login", json={"email": account.email, "password": account.password}
    )
    assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


async def _fetchval(server: LiveServer, query: str, *args: Any) -> Any:
    conn = await asyncpg.connect(server.database_url)
    try:
        return await conn.fetchval(query, *args)
    finally:
        await conn.close()


async def test_an_admin_reads_both_sides_of_a_dispute_and_refunds_forty_percent(
    context: Any, live_server: LiveServer, tmp_path: Path
) -> None:
    admin, secret, _ = await admin_with_two_factor(live_server)
    mentee = await register(live_server, name="Mia Mentee")
    mentor = await register(live_server, name="Max Mentor", role="mentor")
    async with platform_of(live_server, tmp_path) as platform:
        await fund_wallet(platform.pool, mentee.id, "USD", 20_000, platform.clock.now())
        async with transaction(platform.pool) as conn:
            held = await escrow.hold_escrow(
                conn,
                settings=platform.settings,
                now=platform.clock.now(),
                payer_id=mentee.id,
                mentor_id=mentor.id,
                amount_minor=10_000,
                currency="USD",
                reference="session with Max",
                idempotency_key=f"web-dispute-{uuid.uuid4()}",
            )
    async with live_server.api() as client:
        opened = await client.post(
            f"/api/v1/escrows/{held.id}/disputes",
            json={"reason": "The mentor never shared the screen", "evidence": ["chat-log.txt"]},
            headers=await _headers(client, mentee),
        )
        assert opened.status_code == 201, opened.text
        answered = await client.post(
            f"/api/v1/escrows/{held.id}/disputes/response",
            json={"response": "I shared it for the whole hour", "evidence": ["recording.mp4"]},
            headers=await _headers(client, mentor),
        )
        assert answered.status_code == 200, answered.text

    page = await context.new_page()
    await sign_in_with_code(page, live_server, admin, secret, "/staff/disputes")
    item = page.locator("#disputes li[data-dispute]")
    await item.get_by_text("100.00 USD held for session with Max").wait_for()
    await item.get_by_text("Paid by Mia Mentee to Max Mentor", exact=False).wait_for()
    await item.get_by_text("The mentor never shared the screen").wait_for()
    await item.get_by_text("chat-log.txt").wait_for()
    await item.get_by_text("I shared it for the whole hour").wait_for()
    await item.get_by_text("recording.mp4").wait_for()
    await assert_accessible(page, "Escrow disputes")

    await item.get_by_label("An amount in USD").check()
    await item.get_by_label("Refund (USD)", exact=True).fill("150")
    await item.get_by_label("Why (the parties are told)").fill("Half the session happened")
    await item.get_by_role("button", name="Decide the dispute").click()
    await item.get_by_text("The refund cannot be more than the 100.00 USD held.").wait_for()

    await item.get_by_label("A percentage of the amount held").check()
    await item.get_by_label("Refund (%)", exact=True).fill("40")
    await item.get_by_text(
        "The payer gets 40.00 USD back; 60.00 USD is released to the mentor and the platform."
    ).wait_for()
    await item.get_by_role("button", name="Decide the dispute").click()
    await (
        page.locator("#decided")
        .get_by_text("Decided: 40.00 USD refunded to Mia Mentee, 60.00 USD released.")
        .wait_for()
    )
    await page.get_by_text("No dispute is waiting for a decision.").wait_for()
    await screenshot(page, "staff-disputes-decided")
    refunded = await _fetchval(
        live_server, "SELECT refunded_minor FROM escrows WHERE id = $1", held.id
    )
    assert refunded == 4_000


async def test_an_admin_records_a_bank_payout_and_reads_the_chargebacks(
    context: Any, live_server: LiveServer, tmp_path: Path
) -> None:
    admin, secret, _ = await admin_with_two_factor(live_server)
    member = await register(live_server, name="Bea Banker", kyc_level=3)
    async with platform_of(live_server, tmp_path) as platform:
        await fund_wallet(platform.pool, member.id, "USD", 50_000, platform.clock.now())
    async with live_server.api() as client:
        payout = await client.post(
            f"/api/v1/wallets/{member.id}/withdraw",
            json={
                "amount_minor": 20_000,
                "currency": "USD",
                "method": "bank",
                "destination": "KCB 1234567890",
                "idempotency_key": f"wd-{uuid.uuid4()}",
            },
            headers=await _headers(client, member),
        )
        assert payout.status_code in (200, 201), payout.text
        assert payout.json()["status"] == "awaiting_bank_transfer"

    page = await context.new_page()
    await sign_in_with_code(page, live_server, admin, secret, "/staff/payouts")
    item = page.locator(f"#payouts li[data-payout='{payout.json()['id']}']")
    await item.get_by_text("200.00 USD by bank transfer").wait_for()
    await item.get_by_text("Bank transfer to send").wait_for()
    await assert_accessible(page, "Payouts to settle")
    await item.get_by_label("Bank's reference for the transfer").fill("FT2601051234")
    await item.get_by_role("button", name="Record the bank transfer").click()
    await page.get_by_text("No payout is waiting for an admin.").wait_for()
    status = await _fetchval(
        live_server,
        "SELECT status FROM payouts WHERE id = $1",
        uuid.UUID(payout.json()["id"]),
    )
    assert status == "completed"

    await page.goto(f"{live_server.url}/staff/chargebacks")
    await page.get_by_text("No chargeback so far.").wait_for()
    await assert_accessible(page, "Chargebacks")


async def test_an_admin_ships_merch_unfreezes_earning_and_versions_a_rule(
    context: Any, live_server: LiveServer, tmp_path: Path
) -> None:
    admin, secret, admin_headers = await admin_with_two_factor(live_server)
    member = await register(live_server, name="Tia Tee")
    async with live_server.api() as client:
        member_headers = await _headers(client, member)
        stocked = await client.put(
            "/api/v1/admin/points/merch/items/tee",
            json={"name": "T-shirt", "points": 600, "stock": 5},
            headers=admin_headers,
        )
        assert stocked.status_code == 200, stocked.text
        saved = await client.patch(
            f"/api/v1/users/{member.id}/profile",
            json={
                "address": {"line1": "Kenyatta Avenue 12", "city": "Nairobi"},
                "country": "KE",
            },
            headers=member_headers,
        )
        assert saved.status_code == 200, saved.text
        async with platform_of(live_server, tmp_path) as platform:
            await give_points(platform, member.id, 2_000)
        redeemed = await client.post(
            "/api/v1/wallet/convert-points",
            json={"points": 600, "target": "merch", "target_ref": "tee"},
            headers={**member_headers, "Idempotency-Key": str(uuid.uuid4())},
        )
        assert redeemed.status_code in (200, 201), redeemed.text

    page = await context.new_page()
    await sign_in_with_code(page, live_server, admin, secret, "/staff/merch")
    order = page.locator("#merch-orders li[data-order]")
    await order.get_by_text("T-shirt · 600 points").wait_for()
    await order.get_by_text("Kenyatta Avenue 12", exact=False).wait_for()
    await assert_accessible(page, "Merch orders")
    await order.get_by_role("button", name="Mark packed").click()
    await order.get_by_label("Carrier's tracking").fill("DHL 123456")
    await order.get_by_role("button", name="Mark shipped").click()
    await order.get_by_text("Tracking: DHL 123456").wait_for()
    await order.get_by_role("button", name="Mark delivered").click()
    await page.get_by_text("No merch order is waiting.").wait_for()

    await _fetchval(
        live_server,
        """UPDATE points_balances SET earning_frozen_at = now(), frozen_reason = 'velocity'
           WHERE user_id = $1""",
        member.id,
    )
    await page.goto(f"{live_server.url}/staff/points")
    economy = page.locator("#economy")
    await economy.locator("div", has_text="Issued").get_by_text("2,000 points").wait_for()
    await economy.locator("div", has_text="Redeemed").get_by_text("600 points").wait_for()
    await economy.locator("div", has_text="Outstanding now").get_by_text("1,400 points").wait_for()
    frozen = page.locator(f"#frozen tr[data-frozen='{member.id}']")
    await frozen.get_by_text("velocity").wait_for()
    await assert_accessible(page, "Points review")
    await frozen.get_by_role("button", name="Unfreeze earning").click()
    await page.get_by_text("No account is frozen.").wait_for()
    assert (
        await _fetchval(
            live_server,
            "SELECT earning_frozen_at FROM points_balances WHERE user_id = $1",
            member.id,
        )
        is None
    )

    await page.get_by_label("Rule", exact=True).select_option("lesson_completed")
    await page.get_by_label("Points", exact=True).fill("15")
    await page.get_by_role("button", name="Save the new version").click()
    rule = page.locator("#rules tr[data-rule='lesson_completed']")
    await rule.get_by_text("1 earlier").wait_for()
    await screenshot(page, "staff-points")
