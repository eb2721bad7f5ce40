"""What the wallet page says before a withdrawal (the KYC level, step-up threshold and
daily limit from the wallet policy, with what is left today), a wallet's payouts newest
first, refusals a person can act on, and `payout.failed` when M-Pesa refuses one."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import asyncpg

from dracarys.clock import ManualClock
from tests.conftest import FundWallet
from tests.support import AppClient, TestUser
from tests.wallet.conftest import current_originator, outbox_events
from tests.wallet.simulators import DarajaSimulator

MakeUser = Callable[..., Awaitable[TestUser]]


def _mpesa(amount: int, key: str, destination: str = "0722000333") -> dict[str, Any]:
    return {
        "amount_minor": amount,
        "currency": "KES",
        "method": "mpesa",
        "destination": destination,
        "idempotency_key": key,
    }


async def _policy(client: AppClient, user: TestUser) -> dict[str, Any]:
    response = await client.get(
        f"/api/v1/wallets/{user.id}/withdrawal-policy", headers=user.headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_the_policy_reports_the_configured_rules_and_what_is_left_today(
    client: AppClient,
    make_user: MakeUser,
    daraja_sim: DarajaSimulator,
    fund_wallet: FundWallet,
) -> None:
    unverified = await make_user(kyc_level=1)
    policy = await _policy(client, unverified)
    assert (policy["required_kyc_level"], policy["kyc_level"]) == (2, 1)
    assert policy["limits"] == [
        {
            "currency": "KES",
            "methods": ["mpesa", "bank"],
            "step_up_threshold_minor": 5_000_000,
            "daily_limit_minor": 30_000_000,
            "withdrawn_today_minor": 0,
            "remaining_today_minor": 30_000_000,
        },
        {
            "currency": "USD",
            "methods": ["bank"],
            "step_up_threshold_minor": 50_000,
            "daily_limit_minor": 300_000,
            "withdrawn_today_minor": 0,
            "remaining_today_minor": 300_000,
        },
    ]

    user = await make_user(kyc_level=2)
    await fund_wallet(user.id, "KES", 40_000_000)
    for n in range(7):  # 7 × KES 40,000 of the KES 300,000 daily limit
        sent = await client.post(
            f"/api/v1/wallets/{user.id}/withdraw",
            json=_mpesa(4_000_000, f"policy-wd-{n:04d}"),
            headers=user.headers,
        )
        assert sent.status_code == 201, sent.text
    kes = (await _policy(client, user))["limits"][0]
    assert (kes["withdrawn_today_minor"], kes["remaining_today_minor"]) == (
        28_000_000,
        2_000_000,
    )
    over = await client.post(
        f"/api/v1/wallets/{user.id}/withdraw",
        json=_mpesa(4_000_000, "policy-wd-over"),
        headers=user.headers,
    )
    assert over.status_code == 409
    assert over.json()["errors"][0] == {
        "field": "amount_minor",
        "message": "this would pass the daily withdrawal limit (KES 20,000.00 left today)",
    }
    balances = await client.get(f"/api/v1/wallets/{user.id}/balances", headers=user.headers)
    kes_balance = balances.json()["balances"][0]
    assert (kes_balance["currency"], kes_balance["withdrawing_minor"]) == ("KES", 28_000_000)


async def test_a_wallets_payouts_are_listed_newest_first_for_its_owner_only(
    client: AppClient,
    make_user: MakeUser,
    clock: ManualClock,
    daraja_sim: DarajaSimulator,
    fund_wallet: FundWallet,
) -> None:
    user = await make_user(kyc_level=2)
    stranger = await make_user(kyc_level=2)
    await fund_wallet(user.id, "KES", 1_000_000)
    ids = []
    for n, amount in enumerate((100_000, 250_000)):
        clock.advance(timedelta(seconds=1))
        sent = await client.post(
            f"/api/v1/wallets/{user.id}/withdraw",
            json=_mpesa(amount, f"list-wd-{n:04d}"),
            headers=user.headers,
        )
        assert sent.status_code == 201, sent.text
        ids.append(sent.json()["id"])
    listed = await client.get(f"/api/v1/wallets/{user.id}/payouts", headers=user.headers)
    assert [(p["id"], p["amount_minor"], p["status"]) for p in listed.json()] == [
        (ids[1], 250_000, "sent"),
        (ids[0], 100_000, "sent"),
    ]
    assert all(p["created_at"] for p in listed.json())
    limited = await client.get(
        f"/api/v1/wallets/{user.id}/payouts", params={"limit": 1}, headers=user.headers
    )
    assert [p["id"] for p in limited.json()] == [ids[1]]
    for path in ("payouts", "withdrawal-policy"):
        refused = await client.get(f"/api/v1/wallets/{user.id}/{path}", headers=stranger.headers)
        assert refused.status_code == 404
        assert refused.json()["errors"][0]["field"] == "wallet_id"


async def test_a_number_m_pesa_cannot_pay_is_refused_naming_the_destination(
    client: AppClient, make_user: MakeUser, fund_wallet: FundWallet
) -> None:
    user = await make_user(kyc_level=2)
    await fund_wallet(user.id, "KES", 1_000_000)
    refused = await client.post(
        f"/api/v1/wallets/{user.id}/withdraw",
        json=_mpesa(100_000, "bad-number-1", destination="+44 20 7946 0958"),
        headers=user.headers,
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0] == {
        "field": "destination",
        "message": "M-Pesa needs a valid Kenyan mobile number",
    }
    listed = await client.get(f"/api/v1/wallets/{user.id}/payouts", headers=user.headers)
    assert listed.json() == []


async def test_a_payout_m_pesa_refuses_emits_payout_failed_and_gives_the_money_back(
    client: AppClient,
    make_user: MakeUser,
    pool: asyncpg.Pool,
    daraja_sim: DarajaSimulator,
    fund_wallet: FundWallet,
) -> None:
    user = await make_user(kyc_level=2)
    await fund_wallet(user.id, "KES", 500_000)
    sent = await client.post(
        f"/api/v1/wallets/{user.id}/withdraw",
        json=_mpesa(200_000, "refused-wd-1"),
        headers=user.headers,
    )
    payout = sent.json()
    path, result = daraja_sim.b2c_result(
        await current_originator(pool, payout["id"]), result_code=1
    )
    assert (await client.post(path, json=result)).status_code == 200
    [failed] = await outbox_events(pool, "payout.failed")
    assert (failed["payout_id"], failed["user_id"], failed["amount_minor"]) == (
        payout["id"],
        str(user.id),
        200_000,
    )
    assert "insufficient" in failed["reason"]
    balances = await client.get(f"/api/v1/wallets/{user.id}/balances", headers=user.headers)
    kes = balances.json()["balances"][0]
    assert (kes["available_minor"], kes["withdrawing_minor"]) == (500_000, 0)
