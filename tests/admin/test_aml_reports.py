"""AML reports as CSV: a case's report for the authority (the case, its subject, a line per
alert, deposit and timeline entry; the export audit-logged with its actor), and the
monthly compliance report of the cases opened or decided in a month; staff only."""

from __future__ import annotations

import csv
import io
from collections.abc import Awaitable, Callable

import asyncpg

from dracarys.identity import Role
from dracarys.payments.sandbox import DarajaSimulator
from dracarys.platform import Platform
from tests.admin.conftest import drain, live_in, mpesa_deposit
from tests.support import AppClient, TestUser, audit_trail

MakeUser = Callable[..., Awaitable[TestUser]]
KES = 100
AML = "/api/v1/admin/aml"


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


async def test_a_case_exports_as_csv_for_the_authority_and_the_month_lists_it(
    client: AppClient,
    pool: asyncpg.Pool,
    platform: Platform,
    make_user: MakeUser,
    daraja_sim: DarajaSimulator,
) -> None:
    member = await make_user(kyc_level=2)
    await live_in(pool, client, member, "KE")
    reviewer = await make_user(role=Role.REVIEWER)
    for n, amount in enumerate((600_000 * KES, 500_000 * KES)):
        await mpesa_deposit(client, daraja_sim, member, amount, f"aml-csv-{member.id.hex[:8]}-{n}")
    await drain(platform)
    [case] = (await client.get(f"{AML}/cases", headers=reviewer.headers)).json()
    case_id = case["case"]["id"]
    noted = await client.post(
        f"{AML}/cases/{case_id}/notes",
        json={"body": "=Asked for payslips, none sent"},
        headers=reviewer.headers,
    )
    assert noted.status_code == 200, noted.text
    reported = await client.post(
        f"{AML}/cases/{case_id}/decision",
        json={"decision": "report", "note": "No source of funds.", "report_reference": "FRC-7"},
        headers=reviewer.headers,
    )
    assert reported.status_code == 200, reported.text

    exported = await client.post(f"{AML}/cases/{case_id}/export.csv", headers=reviewer.headers)

    assert exported.status_code == 200, exported.text
    assert exported.headers["content-disposition"] == (
        f'attachment; filename="aml-case-{case_id}.csv"'
    )
    rows = _rows(exported.text)
    assert rows[0] == [
        "record",
        "id",
        "at",
        "kind",
        "amount_minor",
        "currency",
        "reference",
        "detail",
    ]
    by_record: dict[str, list[list[str]]] = {}
    for row in rows[1:]:
        by_record.setdefault(row[0], []).append(row)
    [case_row] = by_record["case"]
    assert (case_row[1], case_row[3], case_row[6]) == (case_id, "reported", "FRC-7")
    [subject] = by_record["subject"]
    assert (subject[1], subject[3], subject[7]) == (str(member.id), "KE", "Test Mentee")
    assert by_record["generated"][0][1] == str(reviewer.id)
    assert [r[3] for r in by_record["alert"]] == ["threshold"]
    assert sorted(int(r[4]) for r in by_record["movement"]) == [500_000 * KES, 600_000 * KES]
    assert {r[5] for r in by_record["movement"]} == {"KES"}
    # The member-facing words a spreadsheet would run are quoted.
    assert "'=Asked for payslips, none sent" in [r[7] for r in by_record["timeline"]]
    exports = await audit_trail(pool, "aml.case_exported")
    assert [(actor, target) for actor, target, _ in exports] == [
        (reviewer.id, f"aml_case:{case_id}")
    ]

    # The month's compliance report lists the case with its decision.
    now = platform.clock.now()
    monthly = await client.get(f"{AML}/reports/{now.year}/{now.month}", headers=reviewer.headers)
    assert monthly.status_code == 200, monthly.text
    assert monthly.headers["content-disposition"] == (
        f'attachment; filename="aml-cases-{now.year}-{now.month:02d}.csv"'
    )
    [listed] = list(csv.DictReader(io.StringIO(monthly.text)))
    assert (listed["case_id"], listed["status"], listed["report_reference"]) == (
        case_id,
        "reported",
        "FRC-7",
    )
    assert (listed["alert_count"], listed["decided_by"]) == ("1", str(reviewer.id))
    assert listed["month"] == f"{now.year}-{now.month:02d}"
    next_month = (now.year + now.month // 12, now.month % 12 + 1)
    later = await client.get(
        f"{AML}/reports/{next_month[0]}/{next_month[1]}", headers=reviewer.headers
    )
    assert _rows(later.text)[1:] == []

    # Members get neither.
    for response in (
        await client.post(f"{AML}/cases/{case_id}/export.csv", headers=member.headers),
        await client.get(f"{AML}/reports/{now.year}/{now.month}", headers=member.headers),
    ):
        assert response.status_code == 403
    bad_month = await client.get(f"{AML}/reports/{now.year}/13", headers=reviewer.headers)
    assert bad_month.status_code in (400, 422)
