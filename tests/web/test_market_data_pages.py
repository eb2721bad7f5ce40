"""A quant uploads market data on the data page and sees it listed (a bad cell refused
beside the file, naming row and column); a trader picks a second symbol on the dashboard
and watches its own price move and trades it."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.async_api import expect

from tests.web.conftest import LiveServer, assert_accessible, register, screenshot, sign_in

pytestmark = pytest.mark.browser

HEADER = "timestamp,open,high,low,close,volume\n"


def daily_csv(days: int, bad_row: int | None = None) -> bytes:
    rows = [f"2024-03-{d:02d},100,101,99,100.5,1000" for d in range(1, days + 1)]
    if bad_row is not None:
        rows[bad_row - 1] = f"2024-03-{bad_row:02d},100,101,99,abc,1000"
    return (HEADER + "\n".join(rows)).encode()


async def test_a_csv_uploaded_on_the_data_page_is_listed_and_a_bad_cell_is_named(
    context: Any, live_server: LiveServer
) -> None:
    quant = await register(live_server, name="Dana Data")
    page = await context.new_page()
    await sign_in(page, live_server, quant, "/market-data")
    await page.wait_for_selector("body[data-ready]")

    await page.set_input_files(
        "#file", files=[{"name": "broken.csv", "mimeType": "text/csv", "buffer": daily_csv(20, 17)}]
    )
    await page.get_by_label("Instrument").select_option("TREND")
    await page.get_by_role("button", name="Upload").click()
    # The first upload of a server process loads the file readers (polars, the engine's
    # loader): allow for that on a loaded machine, as the other waits here do.
    await expect(page.locator("#file-error")).to_have_text(
        "Row 17, column close: 'abc' is not a number", timeout=15_000
    )
    await expect(page.get_by_label("File")).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#dataset-rows")).to_contain_text("No datasets yet")

    await page.set_input_files(
        "#file", files=[{"name": "trend.csv", "mimeType": "text/csv", "buffer": daily_csv(20)}]
    )
    await page.get_by_label("Instrument").select_option("TREND")
    await page.get_by_label("Name").fill("March TREND")
    await page.get_by_role("button", name="Upload").click()
    await expect(page.locator("#upload-status")).to_contain_text("Uploaded March TREND: 20 bars")
    row = page.locator("#dataset-rows tr[data-dataset-id]")
    await expect(row).to_have_count(1)
    await expect(row.first).to_contain_text("March TREND")
    await expect(row.first).to_contain_text("TREND")
    await expect(row.first).to_contain_text("Only you")
    await assert_accessible(page, "market data page with a dataset")
    await screenshot(page, "market-data-listed")

    # The backtests page offers it beside the bundled samples.
    await page.goto(f"{live_server.url}/backtests")
    await expect(
        page.locator("#dataset optgroup[label='Uploaded market data'] option")
    ).to_have_count(1)


async def test_a_second_symbol_picked_on_the_dashboard_streams_its_own_moving_price(
    context: Any, live_server: LiveServer
) -> None:
    trader = await register(live_server, name="Pia Picker")
    page = await context.new_page()
    await sign_in(page, live_server, trader, "/dashboard")
    await page.get_by_label("New portfolio name").fill("Two markets")
    await page.get_by_role("button", name="Create portfolio").click()
    await page.wait_for_selector("body[data-portfolio-ready]")
    await expect(page.locator("#last-bar")).to_contain_text("DEMO", timeout=15_000)
    # The picker offers the registry.
    await expect(page.locator("#instrument-list option[value='TREND']")).to_have_count(1)

    symbol = page.get_by_label("Symbol")
    await symbol.fill("TREND")
    await symbol.press("Enter")
    await expect(page.locator("body")).to_have_attribute("data-symbol", "TREND")
    await expect(page.locator("#symbol-info")).to_contain_text("Trending share")
    last_bar = page.locator("#last-bar")
    await expect(last_bar).to_contain_text("TREND", timeout=15_000)
    first = await last_bar.inner_text()
    first_seq = int(re.search(r"bar (\d+)", first).group(1))  # type: ignore[union-attr]
    # The next bars of TREND arrive: its price moves on without a reload.
    await expect(last_bar).not_to_have_text(first, timeout=15_000)
    later = await last_bar.inner_text()
    assert later.startswith("TREND ")
    assert int(re.search(r"bar (\d+)", later).group(1)) > first_seq  # type: ignore[union-attr]

    # An order on the picked symbol is an order on TREND.
    await page.get_by_label("Quantity").fill("3")
    await page.get_by_role("button", name="Place order").click()
    await page.get_by_role("button", name="I have read and accept this disclaimer").click()
    await expect(page.locator("#disclaimer")).to_be_hidden()
    await page.get_by_role("button", name="Place order").click()
    await expect(page.locator("#order-status")).to_contain_text(
        "Filled: buy 3 TREND", timeout=20_000
    )
    await expect(page.locator("#position-rows")).to_contain_text("TREND")
    await screenshot(page, "dashboard-second-symbol")
