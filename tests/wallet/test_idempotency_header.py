"""The `Idempotency-Key` header on the wallet's money-moving routes (top-ups, withdrawals,
charges, refunds), beside the body field; and its declaration on every money-moving
operation of the API."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import pytest

from dracarys.clock import ManualClock
from dracarys.identity import Role
from dracarys.payments.sandbox import StripeSimulator
from tests.conftest import FundWallet
from tests.idempotency import KEYED_OPERATIONS, check_idempotent_route
from tests.support import AppClient, TestUser

MakeUser = Callable[..., Awaitable[TestUser]]
Route = tuple[str, dict[str, Any], dict[str, Any], dict[str, str], Callable[[], Awaitable[int]]]


async def _count(pool: asyncpg.Pool, sql: str, *args: Any) -> int:
    value: int = await pool.fetchval(sql, *args)
    return value


async def _charge(client: AppClient, buyer: TestUser) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/payments/charge",
        json={"purpose": "course", "reference": "c-1", "amount_minor": 11_600, "currency": "KES"},
        headers={**buyer.headers, "Idempotency-Key": f"setup-{uuid.uuid4()}"},
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def _paid_card_deposit(
    client: AppClient, stripe_sim: StripeSimulator, user: TestUser, clock: ManualClock
) -> dict[str, Any]:
    response = await client.post(
        f"/api/v1/wallets/{user.id}/deposits",
        json={"method": "stripe", "amount_minor": 30_000, "currency": "USD"},
        headers={**user.headers, "Idempotency-Key": f"setup-{uuid.uuid4()}"},
    )
    assert response.status_code == 201, response.text
    deposit = dict(response.json())
    now = int(clock.now().timestamp())
    body, headers = stripe_sim.signed(stripe_sim.pay(deposit["provider_ref"], now), now)
    paid = await client.post("/api/v1/webhooks/stripe", content=body, headers=headers)
    assert paid.status_code == 200, paid.text
    return deposit


@pytest.mark.parametrize(
    "route", ["top_up", "withdrawal", "charge", "charge_refund", "card_refund"]
)
async def test_every_wallet_money_route_takes_the_key_from_the_header_or_the_body_and_applies_once(
    route: str,
    client: AppClient,
    make_user: MakeUser,
    pool: asyncpg.Pool,
    clock: ManualClock,
    stripe_sim: StripeSimulator,
    daraja_sim: Any,
    fund_wallet: FundWallet,
) -> None:
    user = await make_user(kyc_level=2)
    await fund_wallet(user.id, "KES", 1_000_000)
    admin = await make_user(role=Role.ADMIN)
    if route == "top_up":
        url = f"/api/v1/wallets/{user.id}/deposits"
        body = {"method": "mpesa", "amount_minor": 10_000, "currency": "KES", "phone": "0712345678"}
        changed = {**body, "amount_minor": 20_000}
        headers = user.headers
        sql, arg = "SELECT count(*) FROM wallet_deposits WHERE user_id = $1", user.id
    elif route == "withdrawal":
        url = f"/api/v1/wallets/{user.id}/withdraw"
        body = {
            "amount_minor": 10_000,
            "currency": "KES",
            "method": "bank",
            "destination": "KCB 0011223344",
        }
        changed = {**body, "amount_minor": 20_000}
        headers = user.headers
        sql, arg = "SELECT count(*) FROM payouts WHERE user_id = $1", user.id
    elif route == "charge":
        url = "/api/v1/payments/charge"
        body = {"purpose": "course", "reference": "c-2", "amount_minor": 11_600, "currency": "KES"}
        changed = {**body, "reference": "c-3"}
        headers = user.headers
        sql, arg = "SELECT count(*) FROM wallet_charges WHERE user_id = $1", user.id
    elif route == "charge_refund":
        charge = await _charge(client, user)
        url = f"/api/v1/admin/charges/{charge['id']}/refund"
        body, changed = {"amount_minor": 1_000}, {"amount_minor": 2_000}
        headers = admin.headers
        sql = "SELECT count(*) FROM invoices WHERE kind = 'credit_note' AND user_id = $1"
        arg = user.id
    else:
        deposit = await _paid_card_deposit(client, stripe_sim, user, clock)
        url = f"/api/v1/admin/deposits/{deposit['id']}/refund"
        body, changed = {"amount_minor": 1_000}, {"amount_minor": 2_000}
        headers = admin.headers
        sql = "SELECT count(*) FROM stripe_refunds WHERE deposit_id = $1"
        arg = uuid.UUID(deposit["id"])

    await check_idempotent_route(
        client,
        url,
        body=body,
        changed_body=changed,
        headers=headers,
        effects=lambda: _count(pool, sql, arg),
    )


async def test_every_money_moving_operation_declares_the_idempotency_key_header(
    client: AppClient,
) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    operations = {
        op["operationId"]: op
        for path in schema["paths"].values()
        for method, op in path.items()
        if method == "post"
    }
    for operation_id in KEYED_OPERATIONS:
        parameters = operations[operation_id].get("parameters", [])
        (header,) = [p for p in parameters if p["name"] == "Idempotency-Key"]
        assert header["in"] == "header", operation_id
        assert header["required"] is False, operation_id
        assert header["schema"]["minLength"] == 8, operation_id
        assert "same key" in header["description"], operation_id
    assert not [
        op["operationId"]
        for op in operations.values()
        if op["operationId"] not in KEYED_OPERATIONS
        and any(p["name"] == "Idempotency-Key" for p in op.get("parameters", []))
    ]
