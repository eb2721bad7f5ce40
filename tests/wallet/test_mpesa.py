"""M-Pesa deposits and payouts against the local Daraja simulator: STK push with its
password and formats, callbacks on the secret path, status queries for lost callbacks."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from dracarys.clock import ManualClock
from dracarys.errors import InvalidInput
from dracarys.payments.daraja import (
    account_reference,
    daraja_timestamp,
    normalise_phone,
    stk_password,
)
from dracarys.payments.sandbox import DarajaSimulator
from dracarys.platform import Platform
from dracarys.wallet.deposits import service as deposits
from dracarys.wallet.ledger import service as ledger
from tests.support import AppClient, TestUser
from tests.wallet.conftest import outbox_events
from tests.wallet.simulators import CALLBACK_TOKEN

Client = AppClient
MakeUser = Callable[..., Awaitable[TestUser]]


async def _stk_deposit(client: Client, user: TestUser, amount: int, key: str) -> Any:
    response = await client.post(
        f"/api/v1/wallets/{user.id}/deposits",
        json={
            "method": "mpesa",
            "amount_minor": amount,
            "currency": "KES",
            "idempotency_key": key,
            "phone": "0712 345 678",
        },
        headers=user.headers,
    )
    assert response.status_code == 201, response.text
    return response.json()


async def _kes(client: Client, user: TestUser) -> dict[str, int]:
    response = await client.get(f"/api/v1/wallets/{user.id}/balances", headers=user.headers)
    return next(b for b in response.json()["balances"] if b["currency"] == "KES")


def test_daraja_formats_follow_the_spec() -> None:
    for raw in ("0712345678", "+254712345678", "254712345678", "712345678", "0112345678"):
        assert normalise_phone(raw) in ("254712345678", "254112345678")
    with pytest.raises(InvalidInput):
        normalise_phone("+14155550100")
    moment = datetime(2026, 1, 5, 9, 0, 7, tzinfo=UTC)
    assert daraja_timestamp(moment) == "20260105120007"  # Nairobi is UTC+3
    assert stk_password("174379", "pk", "20260105120007") == "MTc0Mzc5cGsyMDI2MDEwNTEyMDAwNw=="
    assert len(account_reference("DRC-deposit-0123456789abcdef")) == 12


async def test_stk_push_uses_daraja_formats_and_a_duplicate_callback_credits_once(
    client: Client,
    make_user: MakeUser,
    daraja_sim: DarajaSimulator,
    pool: asyncpg.Pool,
) -> None:
    user = await make_user()
    deposit = await _stk_deposit(client, user, 150_000, "stk-dup-0001")
    push = daraja_sim.pushes[deposit["provider_ref"]]
    assert push["PhoneNumber"] == "254712345678"
    assert push["Amount"] == 1500
    assert len(push["AccountReference"]) <= 12
    assert f"/api/v1/webhooks/mpesa/{CALLBACK_TOKEN}/stk" in push["CallBackURL"]
    assert (await _kes(client, user))["pending_in_minor"] == 150_000

    path, payload = daraja_sim.stk_callback(deposit["provider_ref"])
    responses = await asyncio.gather(*(client.post(path, json=payload) for _ in range(4)))
    assert [r.json() for r in responses] == [{"ResultCode": 0, "ResultDesc": "Accepted"}] * 4
    assert (await client.post(path, json=payload)).status_code == 200
    kes = await _kes(client, user)
    assert (kes["available_minor"], kes["pending_in_minor"]) == (150_000, 0)
    assert len(await outbox_events(pool, "deposit.completed")) == 1
    # The same idempotency key replays the first answer without a second push.
    pushes = len(daraja_sim.pushes)
    again = await _stk_deposit(client, user, 150_000, "stk-dup-0001")
    assert again["id"] == deposit["id"]
    assert len(daraja_sim.pushes) == pushes


async def test_an_amount_mismatch_credits_nothing(
    client: Client,
    make_user: MakeUser,
    daraja_sim: DarajaSimulator,
    pool: asyncpg.Pool,
) -> None:
    user = await make_user()
    deposit = await _stk_deposit(client, user, 100_000, "stk-mismatch-1")
    path, payload = daraja_sim.stk_callback(deposit["provider_ref"], amount=10)
    assert (await client.post(path, json=payload)).status_code == 200
    kes = await _kes(client, user)
    assert (kes["available_minor"], kes["pending_in_minor"]) == (0, 0)
    status = (await client.get(f"/api/v1/deposits/{deposit['id']}", headers=user.headers)).json()
    assert status["status"] == "failed"
    assert "amount mismatch" in status["failure_reason"]
    async with pool.acquire() as conn:
        assert (await ledger.check_ledger(conn)).problems == []


async def test_a_wrong_secret_path_changes_nothing(
    client: Client,
    make_user: MakeUser,
    daraja_sim: DarajaSimulator,
    pool: asyncpg.Pool,
) -> None:
    user = await make_user()
    deposit = await _stk_deposit(client, user, 100_000, "stk-wrongpath")
    path, payload = daraja_sim.stk_callback(deposit["provider_ref"])
    forged = path.replace(CALLBACK_TOKEN, "guessed-token")
    response = await client.post(forged, json=payload)
    assert response.status_code == 404
    assert await pool.fetchval("SELECT count(*) FROM provider_callbacks") == 0
    assert (await _kes(client, user))["available_minor"] == 0
    status = (await client.get(f"/api/v1/deposits/{deposit['id']}", headers=user.headers)).json()
    assert status["status"] == "pending"


async def test_a_failed_payment_keeps_daraja_description(
    client: Client,
    make_user: MakeUser,
    daraja_sim: DarajaSimulator,
) -> None:
    user = await make_user()
    deposit = await _stk_deposit(client, user, 100_000, "stk-cancel-01")
    path, payload = daraja_sim.stk_callback(deposit["provider_ref"], result_code=1032)
    assert (await client.post(path, json=payload)).status_code == 200
    status = (await client.get(f"/api/v1/deposits/{deposit['id']}", headers=user.headers)).json()
    assert (status["status"], status["failure_reason"]) == ("failed", "Request cancelled by user")
    assert (await _kes(client, user))["pending_in_minor"] == 0


async def test_a_lost_callback_is_settled_by_the_status_query(
    client: Client,
    make_user: MakeUser,
    daraja_sim: DarajaSimulator,
    platform: Platform,
    clock: ManualClock,
) -> None:
    user = await make_user()
    paid = await _stk_deposit(client, user, 200_000, "stk-lost-0001")
    unpaid = await _stk_deposit(client, user, 50_000, "stk-lost-0002")
    in_flight = await _stk_deposit(client, user, 70_000, "stk-lost-0003")
    daraja_sim.settle_silently(paid["provider_ref"])
    daraja_sim.settle_silently(unpaid["provider_ref"], result_code=1037)
    # Too early: nothing is queried yet.
    assert await deposits.settle_stale_mpesa_deposits(platform) == 0
    clock.advance(timedelta(minutes=3))
    assert await deposits.settle_stale_mpesa_deposits(platform) == 2
    assert await deposits.settle_stale_mpesa_deposits(platform) == 0
    kes = await _kes(client, user)
    assert (kes["available_minor"], kes["pending_in_minor"]) == (200_000, 70_000)
    states = {
        d["id"]: (await client.get(f"/api/v1/deposits/{d['id']}", headers=user.headers)).json()
        for d in (paid, unpaid, in_flight)
    }
    assert [states[d["id"]]["status"] for d in (paid, unpaid, in_flight)] == [
        "completed",
        "failed",
        "pending",
    ]
    # The real callback arriving late changes nothing more.
    path, payload = daraja_sim.stk_callback(paid["provider_ref"])
    assert (await client.post(path, json=payload)).status_code == 200
    assert (await _kes(client, user))["available_minor"] == 200_000


async def test_a_callback_of_another_shape_is_a_422_naming_the_field_and_credits_nothing(
    client: Client, make_user: MakeUser, daraja_sim: DarajaSimulator
) -> None:
    """A ResultCode that is not a code, or an Amount like "33e3333333333333" (found by the
    daraja_callback fuzz target: it overflowed Decimal), never reaches the ledger."""
    user = await make_user()
    deposit = await _stk_deposit(client, user, 100_000, "stk-shape-01")
    path, payload = daraja_sim.stk_callback(deposit["provider_ref"])
    callback = payload["Body"]["stkCallback"]
    wrong_code = {"Body": {"stkCallback": {**callback, "ResultCode": [0]}}}
    refused = await client.post(path, json=wrong_code)
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["field"] == "Body.stkCallback.ResultCode"
    items = [
        {"Name": "Amount", "Value": "33e3333333333333"} if i["Name"] == "Amount" else i
        for i in callback["CallbackMetadata"]["Item"]
    ]
    huge = {"Body": {"stkCallback": {**callback, "CallbackMetadata": {"Item": items}}}}
    answered = await client.post(path, json=huge)
    assert answered.status_code == 200, answered.text
    assert (await _kes(client, user))["available_minor"] == 0
    status = (await client.get(f"/api/v1/deposits/{deposit['id']}", headers=user.headers)).json()
    assert status["status"] == "failed"  # an amount other than the one asked for


async def test_a_push_mpesa_refuses_answers_201_failed_and_a_retry_pushes_nothing(
    client: Client, make_user: MakeUser, daraja_sim: DarajaSimulator, pool: asyncpg.Pool
) -> None:
    """Daraja turns the STK push down (a 400 naming the problem): nothing reached a
    phone, so the deposit fails at once, with M-Pesa's words, and holds nothing back."""
    user = await make_user()
    pushes = len(daraja_sim.pushes)
    daraja_sim.refuse_next_push("Bad Request - Invalid PhoneNumber")
    deposit = await _stk_deposit(client, user, 100_000, "stk-refused-01")
    assert (deposit["status"], deposit["provider_ref"]) == ("failed", None)
    assert deposit["failure_reason"] == (
        "M-Pesa refused the prompt: M-Pesa STK push failed: Bad Request - Invalid PhoneNumber"
    )
    assert len(daraja_sim.pushes) == pushes
    kes = await _kes(client, user)
    assert (kes["available_minor"], kes["pending_in_minor"]) == (0, 0)
    again = await _stk_deposit(client, user, 100_000, "stk-refused-01")
    assert again == deposit
    assert len(daraja_sim.pushes) == pushes
    async with pool.acquire() as conn:
        assert (await ledger.check_ledger(conn)).problems == []
