"""The API reference at /schema comes entirely from the app: it renders with every other
host unreachable, and its HTML names no other host."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.async_api import expect

from tests.web.conftest import LiveServer, screenshot

pytestmark = pytest.mark.browser
LOCAL_HOSTS = {"127.0.0.1", "localhost"}


async def test_the_schema_page_names_no_other_host(live_server: LiveServer) -> None:
    async with live_server.api() as client:
        response = await client.get("/schema")
    assert response.status_code == 200
    html = response.text
    assert "/static/vendor/scalar/api-reference.standalone.js" in html
    assert re.findall(r"(?:src|href)=[\"']?(?:https?:)?//", html) == []


async def test_the_schema_page_renders_with_other_hosts_blocked(
    context: Any, live_server: LiveServer
) -> None:
    blocked: list[str] = []

    async def local_only(route: Any) -> None:
        if urlsplit(route.request.url).hostname in LOCAL_HOSTS:
            await route.continue_()
        else:
            blocked.append(route.request.url)
            await route.abort()

    await context.route("**/*", local_only)
    page = await context.new_page()
    await page.goto(f"{live_server.url}/schema")
    # The reference shows the document it read from this server: its title and tags.
    await expect(page.get_by_role("heading", name="Dracarys API").first).to_be_visible(
        timeout=30_000
    )
    await expect(page.get_by_role("link", name="backtests")).to_be_visible()
    await screenshot(page, "api-reference-offline")
    assert blocked == []
