"""A quant runs a backtest from the browser and reads its report."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
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
    # The crosshair on the equity chart shows the same moment on the drawdown chart (a
    # vertical line and a time label appear there), and leaves it with the pointer.
    await page.locator("#equity-chart").evaluate("box => box.scrollIntoView({block: 'start'})")
    equity_box = await page.locator("#equity-chart").bounding_box()
    drawdown_box = await page.locator("#drawdown-chart").bounding_box()
    assert equity_box is not None
    assert drawdown_box is not None
    await page.mouse.move(0, 0)
    without = await page.screenshot(clip=drawdown_box)
    await page.mouse.move(
        equity_box["x"] + equity_box["width"] / 2, equity_box["y"] + equity_box["height"] / 2
    )
    await expect_screenshot_to_change(page, drawdown_box, without)
    await page.mouse.move(0, 0)
    await expect_screenshot_to_be(page, drawdown_box, without)
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


async def test_progress_shows_each_step_the_worker_reports(
    context: Any, live_server: LiveServer
) -> None:
    """The worker's reports are played back through the database (queued, combinations
    tested, the best one running, done), so each step is seen however fast the run is."""
    import asyncpg

    quant = await register(live_server, name="Pat Progress")
    async with live_server.api() as client:
        headers = {"Authorization": f"Bearer {await _token(client, quant.email)}"}
        sweep = {
            "fast": {"start": 5, "stop": 15, "step": 5},
            "slow": {"start": 20, "stop": 40, "step": 10},
        }
        created = await client.post(
            "/api/v1/backtests", json={"template": "sma_cross", "sweep": sweep}, headers=headers
        )
        assert created.status_code == 202, created.text
        backtest_id = created.json()["id"]
        for _ in range(120):
            served = (await client.get(f"/api/v1/backtests/{backtest_id}", headers=headers)).json()
            if served["status"] == "succeeded":
                break
            await asyncio.sleep(0.5)
        assert served["status"] == "succeeded"

    conn = await asyncpg.connect(live_server.database_url)
    try:

        async def report(status: str, done: int) -> None:
            await conn.execute(
                """UPDATE backtests SET status = $2, progress_done = $3, heartbeat_at = now(),
                          finished_at = CASE WHEN $2 = 'succeeded' THEN now() END
                    WHERE id = $1""",
                uuid.UUID(backtest_id),
                status,
                done,
            )

        await report("queued", 0)
        page = await context.new_page()
        await sign_in(page, live_server, quant, f"/backtests/{backtest_id}")
        steps = page.locator("#steps li")
        await _expect_text(page, "#progress-text", "Queued: waiting for a worker")
        await expect(steps.nth(0)).to_have_attribute("data-state", "current")

        await report("running", 3)
        await _expect_text(page, "#progress-text", "3 of 9 combinations tested")
        await expect(steps.nth(0)).to_have_attribute("data-state", "done")
        await expect(steps.nth(1)).to_have_attribute("data-state", "current")
        await expect(steps.nth(1)).to_contain_text("Testing combinations (3 of 9")
        await expect(page.locator("#progress")).to_have_attribute("value", "3")
        for viewport in ({"width": 1280, "height": 900}, PHONE_VIEWPORT):
            await page.set_viewport_size(viewport)
            await assert_accessible(page, f"running report at {viewport['width']}px")
        await page.set_viewport_size({"width": 1280, "height": 900})

        # The list of backtests shows the same progress, and follows it.
        listing = await context.new_page()
        await listing.goto(f"{live_server.url}/backtests")
        row = listing.locator(f"tr[data-backtest-id='{backtest_id}']")
        await expect(row).to_contain_text("running · 3 of 9")
        for viewport in ({"width": 1280, "height": 900}, PHONE_VIEWPORT):
            await listing.set_viewport_size(viewport)
            await assert_accessible(listing, f"/backtests at {viewport['width']}px")

        await report("running", 9)
        await _expect_text(
            page, "#progress-text", "9 of 9 combinations tested; running the best one"
        )
        await expect(steps.nth(1)).to_have_attribute("data-state", "done")
        await expect(steps.nth(2)).to_have_attribute("data-state", "current")
        await expect(row).to_contain_text("running · 9 of 9")

        await report("succeeded", 9)
        await page.wait_for_selector("body[data-report-ready='succeeded']")
        for k in range(4):
            await expect(steps.nth(k)).to_have_attribute("data-state", "done")
        await expect(row).to_contain_text("succeeded")
    finally:
        await conn.close()


async def test_a_lost_connection_is_said_plainly_and_cleared_when_it_returns(
    context: Any, live_server: LiveServer
) -> None:
    quant = await register(live_server, name="Olly Offline")
    page = await context.new_page()
    await sign_in(page, live_server, quant, "/backtests")
    await page.get_by_label("Strategy template").select_option("sma_cross")
    await context.set_offline(True)
    await page.get_by_role("button", name="Run backtest").click()
    unreachable = "Cannot reach Dracarys — check your connection"
    await _expect_text(page, "#form-error", unreachable)
    notice = page.locator("#unreachable")
    await expect(notice).to_have_text(unreachable)
    await expect(notice).to_be_visible()
    await screenshot(page, "backtests-offline")
    # Editing the form does not hide it: the connection is still gone.
    await page.get_by_label("fast").fill("11")
    await _expect_text(page, "#form-error", unreachable)

    await context.set_offline(False)
    await expect(notice).to_be_hidden()
    await _expect_text(page, "#form-error", "")
    # And the form works again.
    await page.get_by_role("button", name="Run backtest").click()
    await page.wait_for_url(f"{live_server.url}/backtests/*")


async def expect_screenshot_to_change(
    page: Any, clip: dict[str, float], before: bytes, timeout_s: float = 5
) -> None:
    deadline = time.monotonic() + timeout_s
    while await page.screenshot(clip=clip) == before:
        assert time.monotonic() < deadline, "the element did not change"
        await asyncio.sleep(0.1)


async def expect_screenshot_to_be(
    page: Any, clip: dict[str, float], expected: bytes, timeout_s: float = 5
) -> None:
    deadline = time.monotonic() + timeout_s
    while await page.screenshot(clip=clip) != expected:
        assert time.monotonic() < deadline, "the element did not return to how it was"
        await asyncio.sleep(0.1)


async def test_two_symbol_run_from_the_form_reports_each_symbol_and_the_portfolio_equity(
    context: Any, live_server: LiveServer
) -> None:
    quant = await register(live_server, name="Paula Portfolio")
    page = await context.new_page()
    await sign_in(page, live_server, quant, "/backtests")
    await page.get_by_label("Strategy template").select_option("sma_cross")
    await page.get_by_label("fast").fill("10")
    await page.get_by_label("slow").fill("30")
    await page.get_by_label("Synthetic daily sample B").check()
    await page.get_by_label("Synthetic daily sample C").check()
    await page.get_by_label("Rebalance every (bars, 0 for never)").fill("21")
    await assert_accessible(page, "backtests form with two symbols ticked")
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
    assert served["kind"] == "portfolio"
    assert served["request"]["datasets"] == ["sample_daily_b", "sample_daily_c"]
    assert served["request"]["portfolio"]["rebalance_every"] == 21
    # One row per symbol, each with the contribution the API stored.
    await _expect_count(page, "#asset-rows tr", 2)
    for asset in served["assets"]:
        row = page.locator(f"#asset-rows tr[data-symbol='{asset['symbol']}']")
        await expect(row.locator("th")).to_have_text(asset["symbol"])
        # As the page writes a number: two decimals at most, no trailing zeros.
        contribution = f"{asset['contribution']:,.2f}".rstrip("0").rstrip(".")
        await expect(row.locator("td").first).to_have_text(contribution)
    await expect(page.locator("#equity-heading")).to_have_text("Portfolio equity")
    assert await page.locator("#equity-chart canvas").count() > 0
    await _expect_text(page, "[data-metric='trades'] dd", str(served["metrics"]["trades"]))
    await screenshot(page, "backtest-portfolio-report")
    await assert_accessible(page, "portfolio report at 1280px")
    await page.set_viewport_size(PHONE_VIEWPORT)
    await assert_accessible(page, "portfolio report at 390px")


async def test_a_symbol_mix_the_server_refuses_is_explained_beside_the_symbols(
    context: Any, live_server: LiveServer
) -> None:
    quant = await register(live_server, name="Mia Mixed")
    page = await context.new_page()
    await sign_in(page, live_server, quant, "/backtests")
    await page.get_by_label("Strategy template").select_option("sma_cross")
    await page.get_by_label("Synthetic daily sample B").check()
    await page.get_by_label("Rebalance every (bars, 0 for never)").fill("-3")
    await page.get_by_role("button", name="Run backtest").click()
    await expect(page.locator("#rebalance_every-error")).not_to_be_empty()
    await expect(page).to_have_url(f"{live_server.url}/backtests")
