"""A trader signs in, opens a paper portfolio, places a market order and watches the fill
and the equity mark arrive over the WebSocket, without reloading the page."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from playwright.async_api import expect

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


async def _signed_in_with_portfolio(
    context: Any, live_server: LiveServer, name: str, *, acknowledged: bool = False
) -> tuple[Any, Account]:
    """A trader on the dashboard with a portfolio open (and the risk disclaimer accepted
    through the API when `acknowledged`)."""
    trader = await register(live_server, name=name)
    if acknowledged:
        async with live_server.api() as client:
            login = await client.post(
                "/api/v1/login", json={"email": trader.email, "password": trader.password}
            )
            headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
            accepted = await client.post(
                "/api/v1/trading/disclaimer/acknowledgements", json={"version": 1}, headers=headers
            )
            assert accepted.status_code in (200, 201), accepted.text
    page = await context.new_page()
    await sign_in(page, live_server, trader, "/dashboard")
    await page.get_by_label("New portfolio name").fill("Practice")
    await page.get_by_role("button", name="Create portfolio").click()
    await page.wait_for_selector("body[data-portfolio-ready]")
    return page, trader


async def test_equity_and_drawdown_charts_share_one_time_axis(
    context: Any, live_server: LiveServer
) -> None:
    page, _ = await _signed_in_with_portfolio(context, live_server, "Axel Axis", acknowledged=True)
    await expect(page.locator("#last-bar")).to_contain_text("DEMO", timeout=15_000)
    await page.get_by_role("button", name="Place order").click()
    await page.wait_for_selector("body[data-last-fill]", state="attached", timeout=20_000)
    # With a position, equity is marked at each bar (one a second in the replay); the
    # drawdown comes with the report re-read after them.
    first = int(await page.locator("body").get_attribute("data-last-equity-seq") or 0)
    await expect_attribute_above(page, "data-last-equity-seq", first + 6, timeout_s=30)
    await page.wait_for_function(
        "() => window.__charts.drawdown.timeScale().getVisibleLogicalRange() !== null"
    )
    await page.locator("#equity-chart").scroll_into_view_if_needed()
    before = await page.evaluate(_VISIBLE_RANGES)
    box = await page.locator("#equity-chart").bounding_box()
    assert box is not None
    # Zoom in (the wheel) and pan (a drag) on the equity chart only.
    middle_x, middle_y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    await page.mouse.move(middle_x, middle_y)
    for _ in range(3):
        await page.mouse.wheel(0, -300)
    await page.mouse.down()
    await page.mouse.move(middle_x + 120, middle_y, steps=8)
    await page.mouse.up()
    after = await page.evaluate(_VISIBLE_RANGES)
    assert after["equity"] != before["equity"]
    # The drawdown chart shows the same bars and the same moments.
    assert after["drawdown"] == after["equity"]
    assert after["drawdown_times"] == after["equity_times"]


_VISIBLE_RANGES = """() => {
    const [equity, drawdown] = [window.__charts.equity, window.__charts.drawdown];
    return {
        equity: equity.timeScale().getVisibleLogicalRange(),
        drawdown: drawdown.timeScale().getVisibleLogicalRange(),
        equity_times: equity.timeScale().getVisibleRange(),
        drawdown_times: drawdown.timeScale().getVisibleRange(),
    };
}"""


async def test_place_order_without_a_portfolio_says_what_to_do(
    context: Any, live_server: LiveServer
) -> None:
    trader = await register(live_server, name="Nora Noportfolio")
    page = await context.new_page()
    await sign_in(page, live_server, trader, "/dashboard")
    await expect(page.get_by_label("New portfolio name")).to_be_visible()
    await page.get_by_role("button", name="Place order").click()
    error = page.locator("#order-error")
    await expect(error).to_contain_text("Orders go into a paper portfolio")
    await error.get_by_role("button", name="Create a portfolio").click()
    await expect(page.get_by_label("New portfolio name")).to_be_focused()
    await page.get_by_role("button", name="Create portfolio").click()
    await page.wait_for_selector("body[data-portfolio-ready]")
    await expect(error).to_have_text("")


async def test_unknown_symbol_is_named_beside_its_field_with_the_symbols_traded(
    context: Any, live_server: LiveServer
) -> None:
    page, _ = await _signed_in_with_portfolio(context, live_server, "Sym Bolic", acknowledged=True)
    symbol = page.get_by_label("Symbol")
    await symbol.fill("NOPE")
    await symbol.press("Enter")
    await page.get_by_role("button", name="Place order").click()
    error = page.locator("#symbol-error")
    await expect(error).to_have_text(
        "There is no instrument NOPE; the symbols traded here are "
        "BTCUSD, DEMO, ES, EURUSD, SPX, TREND"
    )
    await expect(symbol).to_have_attribute("aria-invalid", "true")
    await screenshot(page, "dashboard-unknown-symbol")
    # Fixing the field clears its error at once.
    await symbol.fill("DEMO")
    await expect(error).to_have_text("")
    await expect(symbol).not_to_have_attribute("aria-invalid", "true")


async def test_a_field_error_is_a_sentence_and_clears_as_the_field_is_fixed(
    context: Any, live_server: LiveServer
) -> None:
    page, _ = await _signed_in_with_portfolio(context, live_server, "Quin Quantity")
    quantity = page.get_by_label("Quantity")
    await quantity.fill("0")
    await page.get_by_role("button", name="Place order").click()
    error = page.locator("#qty-error")
    await expect(error).to_have_text("Quantity must be more than 0")
    await expect(quantity).to_have_attribute("aria-invalid", "true")
    await quantity.fill("5")
    await expect(error).to_have_text("")
    await expect(quantity).not_to_have_attribute("aria-invalid", "true")


async def test_the_dashboard_is_accessible_on_desktop_and_phone(
    context: Any, live_server: LiveServer
) -> None:
    page, _ = await _signed_in_with_portfolio(context, live_server, "Ada Access")
    await page.get_by_role("button", name="Place order").click()  # the disclaimer shows
    await expect(page.locator("#disclaimer")).to_be_visible()
    for viewport in ({"width": 1280, "height": 900}, PHONE_VIEWPORT):
        await page.set_viewport_size(viewport)
        await assert_accessible(page, f"/dashboard at {viewport['width']}px")


async def test_a_yen_portfolios_equity_is_charted_in_yen(
    context: Any, live_server: LiveServer
) -> None:
    """Yen have no minor unit: ¥10,000,000 of equity is charted as 10,000,000, not
    100,000 (the chart once divided every currency by 100)."""
    trader = await register(live_server, name="Yuki Yen")
    async with live_server.api() as client:
        login = await client.post(
            "/api/v1/login", json={"email": trader.email, "password": trader.password}
        )
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        accepted = await client.post(
            "/api/v1/trading/disclaimer/acknowledgements", json={"version": 1}, headers=headers
        )
        assert accepted.status_code in (200, 201), accepted.text
        made = await client.post(
            "/api/v1/trading/portfolios",
            json={"name": "Yen book", "currency": "JPY", "starting_cash_minor": 10_000_000},
            headers=headers,
        )
        assert made.status_code == 201, made.text
    page = await context.new_page()
    await sign_in(page, live_server, trader, "/dashboard")
    await page.wait_for_selector("body[data-portfolio-ready]")
    await expect(page.locator("#last-bar")).to_contain_text("DEMO", timeout=15_000)
    await page.get_by_role("button", name="Place order").click()
    await page.wait_for_selector("body[data-last-fill]", state="attached", timeout=20_000)
    first = int(await page.locator("body").get_attribute("data-last-equity-seq") or 0)
    await expect_attribute_above(page, "data-last-equity-seq", first + 1, timeout_s=30)
    charted = await page.evaluate(
        "window.__charts.equity.panes()[0].getSeries()[0].data().at(-1).value"
    )
    assert 9_900_000 < charted < 10_100_000, charted
    await expect(page.locator("#stat-equity")).to_contain_text("JPY")
