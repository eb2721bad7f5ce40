"""A quant runs a backtest from the browser and reads its report."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.async_api import expect

from tests.web.conftest import (
    PHONE_VIEWPORT,
    LiveServer,
    assert_accessible,
    register,
    screenshot,
    sign_in,
)

pytestmark = pytest.mark.browser


async def test_backtest_run_from_the_form_shows_progress_then_report(
    context: Any, live_server: LiveServer
) -> None:
    quant = await register(live_server, name="Quinn Quant")
    page = await context.new_page()
    await sign_in(page, live_server, quant, "/backtests")

    await page.get_by_label("Strategy template").select_option("sma_cross")
    await page.get_by_label("fast").fill("10")
    await page.get_by_label("slow").fill("30")
    await page.get_by_role("button", name="Run backtest").click()
    await page.wait_for_url(f"{live_server.url}/backtests/*")
    await page.wait_for_selector("body[data-report-ready='succeeded']", timeout=60_000)

    backtest_id = page.url.rsplit("/", 1)[1]
    async with live_server.api() as client:
        token = await _token(client, quant.email)
        served = (
            await client.get(
                f"/api/v1/backtests/{backtest_id}", headers={"Authorization": f"Bearer {token}"}
            )
        ).json()
    # Every figure on the report is the one the API returned.
    trades = served["metrics"]["trades"]
    assert trades > 0
    await _expect_text(page, "[data-metric='trades'] dd", str(trades))
    assert await page.locator("#trade-rows tr").count() == min(served["trade_count"], 1000)
    assert await page.locator("#equity-chart canvas").count() > 0
    assert await page.locator("#status").inner_text() == "succeeded"
    await screenshot(page, "backtest-report")


async def _token(client: Any, email: str) -> str:
    from tests.web.conftest import PASSWORD

    response = await client.post("/api/v1/login", json={"email": email, "password": PASSWORD})
    token: str = response.json()["access_token"]
    return token


async def _expect_text(page: Any, selector: str, text: str) -> None:
    from playwright.async_api import expect

    await expect(page.locator(selector)).to_have_text(text)


async def test_sweep_report_shows_heatmap_of_every_combination(
    context: Any, live_server: LiveServer
) -> None:
    quant = await register(live_server, name="Sam Sweep")
    page = await context.new_page()
    await sign_in(page, live_server, quant, "/backtests")
    await page.get_by_label("Strategy template").select_option("sma_cross")
    await page.get_by_label("Swept parameter 1").select_option("fast")
    await page.locator("#sweep-0-start").fill("2")
    await page.locator("#sweep-0-stop").fill("40")
    await page.locator("#sweep-0-step").fill("2")
    await page.get_by_label("Swept parameter 2").select_option("slow")
    await page.locator("#sweep-1-start").fill("50")
    await page.locator("#sweep-1-stop").fill("70")
    await page.locator("#sweep-1-step").fill("10")
    await page.get_by_role("button", name="Run backtest").click()
    await page.wait_for_selector("body[data-report-ready='succeeded']", timeout=90_000)
    # 20 × 3 combinations: three rows of twenty cells under the parameter header.
    await _expect_count(page, "#heatmap tbody tr", 3)
    await _expect_count(page, "#heatmap tbody td", 60)
    await _expect_text(page, "#progress-text", "60 of 60 combinations tested")

    backtest_id = page.url.rsplit("/", 1)[1]
    async with live_server.api() as client:
        token = await _token(client, quant.email)
        served = (
            await client.get(
                f"/api/v1/backtests/{backtest_id}", headers={"Authorization": f"Bearer {token}"}
            )
        ).json()
    # The best combination of the ranking is the one cell marked.
    best = served["sweep"]["results"][0]
    marked = page.locator("#heatmap td.best")
    await expect(marked).to_have_count(1)
    await expect(marked).to_have_attribute(
        "title", re.compile(rf"^fast={best['fast']}, slow={best['slow']}: .* \(best\)$")
    )
    await expect(marked).to_contain_text("★")

    # The charts show the whole run, from the data's first bar, on one time axis.
    first, last = served["equity"][0]["time"], served["equity"][-1]["time"]
    shown = await page.evaluate(
        """() => [window.__charts.equity.timeScale().getVisibleRange(),
                  window.__charts.drawdown.timeScale().getVisibleRange()]"""
    )
    assert shown[0] == {"from": first, "to": last}
    assert shown[1] == shown[0]
    # The best combination's run is charted and its trades listed.
    assert await page.locator("#equity-chart canvas").count() > 0
    assert await page.locator("#trade-rows tr").count() > 0
    await screenshot(page, "backtest-sweep-report")
    await assert_accessible(page, "sweep report at 1280px")

    # On a phone the heatmap scrolls sideways in its box, and its last column is reachable.
    await page.set_viewport_size(PHONE_VIEWPORT)
    await assert_accessible(page, "sweep report at 390px")
    wrap = page.locator("#heatmap-wrap")
    await wrap.scroll_into_view_if_needed()
    assert await wrap.evaluate("box => box.scrollWidth > box.clientWidth")
    await wrap.evaluate("box => { box.scrollLeft = box.scrollWidth; }")
    last_column = page.locator("#heatmap thead th").last
    await expect(last_column).to_have_text("40")
    await expect(last_column).to_be_in_viewport()
    # Resized, the charts are fitted again: still the whole run.
    await page.wait_for_function(
        "first => window.__charts.equity.timeScale().getVisibleRange().from === first", arg=first
    )
    await screenshot(page, "backtest-sweep-report-phone")


async def test_bad_parameter_is_shown_next_to_its_field(
    context: Any, live_server: LiveServer
) -> None:
    quant = await register(live_server, name="Bea Bad")
    page = await context.new_page()
    await sign_in(page, live_server, quant, "/backtests")
    await page.get_by_label("Strategy template").select_option("sma_cross")
    await page.get_by_label("fast").fill("0")
    await page.get_by_role("button", name="Run backtest").click()
    error = page.locator("#param-fast-error")
    await _expect_count(page, "#param-fast-error:has-text('Fast')", 1)
    assert await error.inner_text() == "Fast must be at least 1 (it was 0)"
    assert await page.get_by_label("fast").get_attribute("aria-invalid") == "true"
    assert page.url.endswith("/backtests")


async def _expect_count(page: Any, selector: str, count: int) -> None:
    from playwright.async_api import expect

    await expect(page.locator(selector)).to_have_count(count)
