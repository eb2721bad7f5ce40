"""A quant runs a backtest from the browser and reads its report."""

from __future__ import annotations

from typing import Any

import pytest

from tests.web.conftest import LiveServer, register, screenshot, sign_in

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
    await page.locator("#sweep-0-start").fill("5")
    await page.locator("#sweep-0-stop").fill("15")
    await page.locator("#sweep-0-step").fill("5")
    await page.get_by_label("Swept parameter 2").select_option("slow")
    await page.locator("#sweep-1-start").fill("20")
    await page.locator("#sweep-1-stop").fill("40")
    await page.locator("#sweep-1-step").fill("10")
    await page.get_by_role("button", name="Run backtest").click()
    await page.wait_for_selector("body[data-report-ready='succeeded']", timeout=60_000)
    # 3 × 3 combinations: three rows of three cells under the parameter header.
    await _expect_count(page, "#heatmap tbody tr", 3)
    await _expect_count(page, "#heatmap tbody td", 9)
    await _expect_text(page, "#progress-text", "9 of 9 combinations tested")
    # The best combination's run is charted and its trades listed.
    assert await page.locator("#equity-chart canvas").count() > 0
    assert await page.locator("#trade-rows tr").count() > 0
    await screenshot(page, "backtest-sweep-report")


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
