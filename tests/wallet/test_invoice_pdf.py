"""A customer's invoices as the wallet page lists them, and each one's PDF: a real PDF
naming its number, downloadable by its customer (and staff) only."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from dracarys.identity import Role
from tests.conftest import FundWallet
from tests.support import AppClient, TestUser

MakeUser = Callable[..., Awaitable[TestUser]]


async def _buy(client: AppClient, buyer: TestUser, reference: str) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/payments/charge",
        json={
            "purpose": "course",
            "reference": reference,
            "amount_minor": 11_600,
            "currency": "KES",
            "idempotency_key": f"buy-{reference}",
        },
        headers=buyer.headers,
    )
    assert response.status_code == 201, response.text
    charge: dict[str, Any] = response.json()
    return charge


async def test_the_invoice_pdf_is_a_pdf_naming_its_number_for_its_customer(
    client: AppClient, make_user: MakeUser, fund_wallet: FundWallet
) -> None:
    buyer = await make_user()
    await fund_wallet(buyer.id, "KES", 50_000)
    charge = await _buy(client, buyer, "course-risk-101")
    [listed] = (await client.get("/api/v1/invoices", headers=buyer.headers)).json()
    assert (listed["id"], listed["number"], listed["gross_minor"]) == (
        charge["invoice_id"],
        charge["invoice_number"],
        11_600,
    )
    pdf = await client.get(f"/api/v1/invoices/{listed['id']}/pdf", headers=buyer.headers)
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    assert listed["number"].encode() in pdf.content
    assert pdf.content.rstrip().endswith(b"%%EOF")
    assert f'filename="{listed["number"]}.pdf"' in pdf.headers["content-disposition"]


async def test_another_users_invoice_is_not_found_and_not_listed(
    client: AppClient, make_user: MakeUser, fund_wallet: FundWallet
) -> None:
    buyer = await make_user()
    stranger = await make_user()
    admin = await make_user(role=Role.ADMIN)
    await fund_wallet(buyer.id, "KES", 50_000)
    charge = await _buy(client, buyer, "course-options-1")
    url = f"/api/v1/invoices/{charge['invoice_id']}/pdf"
    refused = await client.get(url, headers=stranger.headers)
    assert refused.status_code == 404
    assert refused.json()["errors"][0]["field"] == "invoice_id"
    assert charge["invoice_number"].encode() not in refused.content
    assert (await client.get("/api/v1/invoices", headers=stranger.headers)).json() == []
    assert (await client.get(url)).status_code == 401
    assert (await client.get(url, headers=admin.headers)).content.startswith(b"%PDF-")
