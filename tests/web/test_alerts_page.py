"""A mentor creates a TradingView webhook URL on the alerts page, TradingView (here, the
test) posts an alert to it, and the page's list shows it broadcast; the same alert sent
again shows as a duplicate and a bad one as refused with its reason, and the signal is
in the mentor's feed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
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


async def test_a_mentor_creates_the_webhook_and_sees_an_alert_sent_to_it_broadcast(
    context: Any, live_server: LiveServer
) -> None:
    mentor = await register(live_server, name="Tess Trader", role="mentor")
    page = await context.new_page()
    await sign_in(page, live_server, mentor, "/mentor")
    await (await nav_link(page, "TradingView alerts")).click()
    await expect(page).to_have_url(f"{live_server.url}/mentor/alerts")
    await expect(page.locator("#hook-state")).to_contain_text("no webhook URL yet")
    await expect(page.locator("#alert-template")).to_contain_text("{{strategy.order.action}}")
    await expect(page.locator("#alert-rows")).to_contain_text("No alerts received yet")

    await page.get_by_role("button", name="Create webhook URL").click()
    await expect(page.locator("#hook-state")).to_contain_text("Active since")
    url = await page.locator("#hook-url").input_value()
    assert url.startswith(f"{live_server.url}/hooks/tv/")
    await expect(page.get_by_role("button", name="Rotate URL")).to_be_visible()

    fired = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    alert = {
        "alert_id": f"DEMO-long-{fired}",
        "symbol": "DEMO",
        "side": "buy",
        "price": 100,
        "time": fired,
        "comment": "Breakout alert from my strategy",
    }
    async with live_server.api() as client:
        sent = await client.post(
            url, content=msgspec.json.encode(alert), headers={"Content-Type": "text/plain"}
        )
        assert sent.status_code == 201, sent.text
        again = await client.post(url, content=msgspec.json.encode(alert))
        assert again.status_code == 200, again.text

    # The broadcast's signal frame re-reads the list: no reload.
    broadcast = page.locator("#alert-rows tr[data-outcome=broadcast]")
    await expect(broadcast).to_have_count(1, timeout=10_000)
    await expect(broadcast).to_contain_text("buy DEMO")
    await expect(broadcast).to_contain_text(" ms")
    await page.get_by_role("button", name="Refresh").click()
    await expect(page.locator("#alert-rows tr[data-outcome=duplicate]")).to_have_count(1)

    async with live_server.api() as client:
        bad = await client.post(url, content=b'{"symbol": "DEMO", "side": "hold", "price": 1}')
        assert bad.status_code == 422
    await page.get_by_role("button", name="Refresh").click()
    refused = page.locator("#alert-rows tr[data-outcome=refused]")
    await expect(refused).to_contain_text("Side must be buy or sell")
    await assert_accessible(page, "/mentor/alerts")
    await screenshot(page, "mentor-alerts")

    await page.get_by_role("button", name="Revoke").click()
    await expect(page.locator("#hook-state")).to_contain_text("no webhook URL yet")
    async with live_server.api() as client:
        assert (await client.post(url, content=msgspec.json.encode(alert))).status_code == 404
