"""The dashboard's stream survives a dropped connection: it shows the state, reconnects,
resumes after the last sequence number it showed, and the fill that happened while it
was offline arrives exactly once."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from playwright.async_api import expect

from tests.web.conftest import LiveServer, register, screenshot, sign_in

pytestmark = pytest.mark.browser


async def test_fill_made_while_disconnected_arrives_once_after_resume(
    context: Any, live_server: LiveServer
) -> None:
    trader = await register(live_server, name="Rita Reconnect")
    async with live_server.api() as client:
        login = await client.post(
            "/api/v1/login", json={"email": trader.email, "password": trader.password}
        )
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        version = (await client.get("/api/v1/trading/disclaimer/")).json()["version"]
        await client.post(
            "/api/v1/trading/disclaimer/acknowledgements",
            json={"version": version},
            headers=headers,
        )
        created = await client.post(
            "/api/v1/trading/portfolios/", json={"name": "Resume"}, headers=headers
        )
        portfolio_id = created.json()["id"]

    page = await context.new_page()
    sent: list[dict[str, Any]] = []
    page.on(
        "websocket",
        lambda ws: ws.on("framesent", lambda payload: sent.append(json.loads(payload))),
    )
    await sign_in(page, live_server, trader, "/dashboard")
    await page.wait_for_selector(f"body[data-portfolio-ready='{portfolio_id}']")
    badge = page.locator("#connection")
    await expect(badge).to_have_attribute("data-state", "live")
    channel = f"portfolio:{portfolio_id}"
    await page.wait_for_function(f"() => window.__stream.lastSeq({json.dumps(channel)}) !== null")

    # Cut the network and drop the socket: the page says so and cannot reconnect.
    await context.set_offline(True)
    await page.evaluate("window.__stream.socket.close()")
    await expect(badge).to_have_attribute("data-state", "reconnecting")
    seq_before = await page.evaluate("(c) => window.__stream.lastSeq(c)", channel)

    # Meanwhile the order fills on the server.
    async with live_server.api() as client:
        # The replay feed may not have printed its first bar yet on a slow machine.
        for _ in range(100):
            placed = await client.post(
                f"/api/v1/trading/portfolios/{portfolio_id}/orders",
                json={"symbol": "DEMO", "side": "buy", "kind": "market", "qty": 3},
                headers=headers,
            )
            if placed.status_code != 409 or "no price yet" not in placed.text:
                break
            await asyncio.sleep(0.1)
        assert placed.status_code == 201, placed.text
        for _ in range(100):
            fills = (
                await client.get(
                    f"/api/v1/trading/portfolios/{portfolio_id}/fills", headers=headers
                )
            ).json()
            if fills:
                break
            await asyncio.sleep(0.1)
    assert len(fills) == 1
    assert await page.locator("#fill-rows tr[data-fill-id]").count() == 0

    # Back online: it resumes after the last sequence number it showed.
    await context.set_offline(False)
    await page.evaluate("window.dispatchEvent(new Event('online'))")
    await expect(badge).to_have_attribute("data-state", "live", timeout=15_000)
    rows = page.locator("#fill-rows tr[data-fill-id]")
    await expect(rows).to_have_count(1, timeout=15_000)
    subscribes = [f for f in sent if f.get("op") == "subscribe" and f.get("channel") == channel]
    assert "after_seq" not in subscribes[0]  # the first visit starts live
    assert {"op": "subscribe", "channel": channel, "after_seq": seq_before} in subscribes[1:]
    assert await rows.first.get_attribute("data-fill-id") == fills[0]["id"]
    received = await page.evaluate(
        "(c) => window.__stream.received.filter(r => r.channel === c).map(r => r.seq)", channel
    )
    # Every message of the channel once, in order, no gap across the outage.
    assert received, "nothing arrived on the portfolio channel after the resume"
    assert received == list(range(received[0], received[0] + len(received)))
    assert received[0] == seq_before + 1
    await screenshot(page, "dashboard-after-resume")
