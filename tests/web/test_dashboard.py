"""A trader signs in, opens a paper portfolio, places a market order and watches the fill
and the equity mark arrive over the WebSocket, without reloading the page."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from playwright.async_api import expect

from tests.web.conftest import LiveServer, register, screenshot, sign_in

pytestmark = pytest.mark.browser


async def test_market_order_fill_and_equity_update_arrive_live(
    context: Any, live_server: LiveServer
) -> None:
    trader = await register(live_server, name="Tara Trader")
    page = await context.new_page()
    await sign_in(page, live_server, trader, "/dashboard")

    # No portfolio yet: the page offers to create one.
    await page.get_by_label("New portfolio name").fill("Practice")
    await page.get_by_role("button", name="Create portfolio").click()
    await expect(page.locator("#connection")).to_have_attribute("data-state", "live")
    await page.wait_for_selector("body[data-portfolio-ready]")
    # Bars of the replay feed stream into the candlestick chart.
    await expect(page.locator("#last-bar")).to_contain_text("DEMO", timeout=15_000)

    await page.get_by_label("Quantity").fill("5")
    await page.get_by_role("button", name="Place order").click()
    # The first trade needs the risk disclaimer: accept it, then place again.
    await page.get_by_role("button", name="I have read and accept this disclaimer").click()
    await expect(page.locator("#disclaimer")).to_be_hidden()
    equity_before = int(await page.locator("body").get_attribute("data-last-equity-seq") or 0)
    await page.get_by_role("button", name="Place order").click()

    # The fill arrives over the stream (no reload) and shows in the table and the stats.
    await page.wait_for_selector("body[data-last-fill]", state="attached", timeout=20_000)
    fill_row = page.locator("#fill-rows tr[data-fill-id]")
    await expect(fill_row).to_have_count(1)
    await expect(fill_row.first).to_contain_text("buy")
    await expect(fill_row.first).to_contain_text("5")
    await expect_attribute_above(page, "data-last-equity-seq", equity_before)
    await expect(page.locator("#order-status")).to_contain_text("Filled: buy 5 DEMO")
    await expect(page.locator("#stat-fills")).to_have_text("1", timeout=10_000)
    await expect(page.locator("#position-rows")).to_contain_text("DEMO")

    # What the page shows is what the server holds.
    fill_id = await page.locator("body").get_attribute("data-last-fill")
    portfolio_id = await page.locator("body").get_attribute("data-portfolio-ready")
    async with live_server.api() as client:
        login = await client.post(
            "/api/v1/login", json={"email": trader.email, "password": trader.password}
        )
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        fills = (
            await client.get(f"/api/v1/trading/portfolios/{portfolio_id}/fills", headers=headers)
        ).json()
    assert [f["id"] for f in fills] == [fill_id]
    assert fills[0]["qty"] == 5
    # The stream delivered each sequence number once, in order.
    received = await page.evaluate(
        "window.__stream ? window.__stream.received.map(r => r.channel + ':' + r.seq) : []"
    )
    assert len(received) == len(set(received))
    await screenshot(page, "dashboard-after-fill")


async def expect_attribute_above(page: Any, name: str, floor: int, timeout_s: float = 15) -> int:
    """Wait until the page's `<body>` attribute `name` holds a number above `floor`."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        value = int(await page.locator("body").get_attribute(name) or 0)
        if value > floor:
            return value
        assert asyncio.get_running_loop().time() < deadline, f"{name} stayed at {value}"
        await asyncio.sleep(0.1)
