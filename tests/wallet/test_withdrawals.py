"""Withdrawals and payouts: KYC, step-up and daily-limit rules, M-Pesa B2C results,
retries with backoff, failures returned to the wallet, bank transfers recorded by admins."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import asyncpg
import pyotp

from dracarys.clock import ManualClock
from dracarys.crypto import seal, totp_secret_key
from dracarys.db import transaction
from dracarys.identity import Role
from dracarys.identity import store as identity_store
from dracarys.payments.sandbox import DarajaSimulator
from dracarys.platform import Platform
from dracarys.wallet.balances.service import balances_of
from dracarys.wallet.ledger import service as ledger
from dracarys.wallet.payouts import mpesa
from tests.conftest import FundWallet
from tests.support import AppClient, TestUser
from tests.wallet.conftest import current_originator, outbox_events, refreshed

Client = AppClient
MakeUser = Callable[..., Awaitable[TestUser]]


def _withdrawal(amount: int, key: str, **extra: Any) -> dict[str, Any]:
    return {
        "amount_minor": amount,
        "currency": "KES",
        "method": "mpesa",
        "destination": "0722000222",
        "idempotency_key": key,
        **extra,
    }


async def _kes(client: Client, user: TestUser) -> tuple[int, int]:
    response = await client.get(f"/api/v1/wallets/{user.id}/balances", headers=user.headers)
    row = next(b for b in response.json()["balances"] if b["currency"] == "KES")
    return row["available_minor"], row["pending_out_minor"]


async def _enrol_totp(platform: Platform, user: TestUser, clock: ManualClock) -> str:
    """Two-factor sign-in turned on for `user` (as enrolling does); → the TOTP secret."""
    secret = pyotp.random_base32()
    async with transaction(platform.pool) as conn:
        sealed = seal(totp_secret_key(platform.settings), secret.encode(), user.id.bytes)
        await identity_store.set_totp_secret(conn, user.id, sealed)
        await identity_store.enable_totp(conn, user.id, clock.now())
    return secret


async def test_withdrawal_needs_kyc_step_up_above_threshold_and_stays_in_the_daily_limit(
    client: Client,
    make_user: MakeUser,
    clock: ManualClock,
    pool: asyncpg.Pool,
    daraja_sim: DarajaSimulator,
    fund_wallet: FundWallet,
) -> None:
    unverified = await make_user(kyc_level=1)
    await fund_wallet(unverified.id, "KES", 100_000)
    refused = await client.post(
        f"/api/v1/wallets/{unverified.id}/withdraw",
        json=_withdrawal(10_000, "wd-kyc-00001"),
        headers=unverified.headers,
    )
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["field"] == "kyc_level"

    user = await make_user(kyc_level=2)
    other = await make_user(kyc_level=2)
    await fund_wallet(user.id, "KES", 40_000_000)
    not_owner = await client.post(
        f"/api/v1/wallets/{user.id}/withdraw",
        json=_withdrawal(10_000, "wd-owner-001"),
        headers=other.headers,
    )
    assert not_owner.status_code == 403
    big = await client.post(
        f"/api/v1/wallets/{user.id}/withdraw",
        json=_withdrawal(5_000_000, "wd-big-00001"),
        headers=user.headers,
    )
    assert big.status_code == 403
    assert big.json()["errors"][0]["field"] == "totp_code"
    fractional = await client.post(
        f"/api/v1/wallets/{user.id}/withdraw",
        json=_withdrawal(10_050, "wd-frac-0001"),
        headers=user.headers,
    )
    assert fractional.status_code == 422
    for n in range(7):  # 7 × 40,000 = 280,000 of the 300,000 daily limit
        ok = await client.post(
            f"/api/v1/wallets/{user.id}/withdraw",
            json=_withdrawal(4_000_000, f"wd-day-{n:05d}"),
            headers=user.headers,
        )
        assert ok.status_code == 201, ok.text
    over = await client.post(
        f"/api/v1/wallets/{user.id}/withdraw",
        json=_withdrawal(4_000_000, "wd-day-over1"),
        headers=user.headers,
    )
    assert over.status_code == 409
    assert "daily withdrawal limit" in over.json()["detail"]
    assert await _kes(client, user) == (40_000_000 - 28_000_000, 28_000_000)
    clock.advance(timedelta(days=1))
    user = refreshed(user, client.app.state.platform.settings, clock)
    next_day = await client.post(
        f"/api/v1/wallets/{user.id}/withdraw",
        json=_withdrawal(4_000_000, "wd-day-next1"),
        headers=user.headers,
    )
    assert next_day.status_code == 201


async def test_fifty_concurrent_withdrawals_with_one_key_make_one_payout_and_a_new_body_is_422(
    client: Client,
    make_user: MakeUser,
    clock: ManualClock,
    pool: asyncpg.Pool,
    daraja_sim: DarajaSimulator,
    fund_wallet: FundWallet,
) -> None:
    user = await make_user(kyc_level=2)
    await fund_wallet(user.id, "KES", 1_000_000)
    body = _withdrawal(100_000, "wd-race-key-1")
    responses = await asyncio.gather(
        *(
            client.post(f"/api/v1/wallets/{user.id}/withdraw", json=body, headers=user.headers)
            for _ in range(50)
        )
    )
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    assert await pool.fetchval("SELECT count(*) FROM payouts WHERE user_id = $1", user.id) == 1
    assert (
        await pool.fetchval("SELECT count(*) FROM ledger_transfers WHERE code = 'withdrawal'") == 1
    )
    assert len(daraja_sim.b2c_sent_for(responses[0].json()["id"])) == 1
    changed = await client.post(
        f"/api/v1/wallets/{user.id}/withdraw",
        json={**body, "amount_minor": 100_100},
        headers=user.headers,
    )
    assert changed.status_code == 422
    assert changed.json()["errors"][0]["field"] == "idempotency_key"
    assert await _kes(client, user) == (900_000, 100_000)


async def test_a_failed_b2c_result_returns_the_money_and_a_success_completes_once(
    client: Client,
    make_user: MakeUser,
    clock: ManualClock,
    pool: asyncpg.Pool,
    daraja_sim: DarajaSimulator,
    fund_wallet: FundWallet,
) -> None:
    user = await make_user(kyc_level=2)
    await fund_wallet(user.id, "KES", 500_000)
    first = (
        await client.post(
            f"/api/v1/wallets/{user.id}/withdraw",
            json=_withdrawal(200_000, "wd-b2c-fail1"),
            headers=user.headers,
        )
    ).json()
    second = (
        await client.post(
            f"/api/v1/wallets/{user.id}/withdraw",
            json=_withdrawal(100_000, "wd-b2c-ok001"),
            headers=user.headers,
        )
    ).json()
    assert (first["status"], second["status"]) == ("sent", "sent")
    path, failure = daraja_sim.b2c_result(
        await current_originator(pool, first["id"]), result_code=2001
    )
    assert (await client.post(path, json=failure)).status_code == 200
    path, success = daraja_sim.b2c_result(await current_originator(pool, second["id"]))
    for _ in range(3):
        assert (await client.post(path, json=success)).status_code == 200
    assert await _kes(client, user) == (400_000, 0)
    rows = {r["id"]: r for r in await pool.fetch("SELECT id, status, failure_reason FROM payouts")}
    assert rows[uuid.UUID(first["id"])]["failure_reason"].startswith("The balance")
    assert len(await outbox_events(pool, "payout.completed")) == 1


async def test_unreachable_daraja_is_retried_with_backoff_then_gives_the_money_back(
    client: Client,
    make_user: MakeUser,
    clock: ManualClock,
    pool: asyncpg.Pool,
    daraja_sim: DarajaSimulator,
    platform: Platform,
    fund_wallet: FundWallet,
) -> None:
    user = await make_user(kyc_level=2)
    await fund_wallet(user.id, "KES", 300_000)
    daraja_sim.b2c_failures_to_inject = 1
    retried = (
        await client.post(
            f"/api/v1/wallets/{user.id}/withdraw",
            json=_withdrawal(100_000, "wd-retry-001"),
            headers=user.headers,
        )
    ).json()
    assert (retried["status"], retried["attempts"]) == ("queued", 1)
    assert await mpesa.retry_due_payouts(platform) == 0  # backoff not over yet
    clock.advance(timedelta(minutes=3))
    assert await mpesa.retry_due_payouts(platform) == 1
    assert len(daraja_sim.b2c_sent_for(retried["id"])) == 1

    daraja_sim.b2c_failures_to_inject = 100
    doomed = (
        await client.post(
            f"/api/v1/wallets/{user.id}/withdraw",
            json=_withdrawal(50_000, "wd-doomed-01"),
            headers=refreshed(user, platform.settings, clock).headers,
        )
    ).json()
    for _ in range(platform.settings.wallet_payout_max_attempts + 1):
        clock.advance(timedelta(hours=2))
        await mpesa.retry_due_payouts(platform)
    daraja_sim.b2c_failures_to_inject = 0
    status = await pool.fetchrow(
        "SELECT status, attempts FROM payouts WHERE id = $1", uuid.UUID(doomed["id"])
    )
    assert (status["status"], status["attempts"]) == (
        "failed",
        platform.settings.wallet_payout_max_attempts,
    )
    async with pool.acquire() as conn:
        balances = await balances_of(conn, user.id)
        kes = next(b for b in balances.balances if b.currency == "KES")
        assert (kes.available_minor, kes.pending_out_minor) == (200_000, 100_000)
        assert (await ledger.check_ledger(conn)).problems == []


async def test_bank_withdrawal_waits_for_an_admin_to_record_the_transfer(
    client: Client,
    make_user: MakeUser,
    clock: ManualClock,
    pool: asyncpg.Pool,
    fund_wallet: FundWallet,
) -> None:
    user = await make_user(kyc_level=3)
    admin = await make_user(role=Role.ADMIN)
    await fund_wallet(user.id, "USD", 50_000)
    payout = (
        await client.post(
            f"/api/v1/wallets/{user.id}/withdraw",
            json={
                "amount_minor": 20_000,
                "currency": "USD",
                "method": "bank",
                "destination": "KCB 1234567890",
                "idempotency_key": "wd-bank-0001",
            },
            headers=user.headers,
        )
    ).json()
    assert payout["status"] == "awaiting_bank_transfer"
    assert (
        await client.post(
            f"/api/v1/admin/payouts/{payout['id']}/bank-transfer",
            json={"bank_reference": "FT2601051234"},
            headers=user.headers,
        )
    ).status_code == 403
    for _ in range(2):
        done = await client.post(
            f"/api/v1/admin/payouts/{payout['id']}/bank-transfer",
            json={"bank_reference": "FT2601051234"},
            headers=admin.headers,
        )
        assert done.status_code == 200, done.text
        assert done.json()["status"] == "completed"
    assert len(await outbox_events(pool, "payout.completed")) == 1


async def test_a_large_withdrawal_passes_with_a_fresh_totp_code_once(
    client: Client,
    make_user: MakeUser,
    clock: ManualClock,
    pool: asyncpg.Pool,
    platform: Platform,
    daraja_sim: DarajaSimulator,
    fund_wallet: FundWallet,
) -> None:
    user = await make_user(kyc_level=2)
    await fund_wallet(user.id, "KES", 20_000_000)
    secret = await _enrol_totp(platform, user, clock)
    code = pyotp.TOTP(secret).at(clock.now())
    wrong = await client.post(
        f"/api/v1/wallets/{user.id}/withdraw",
        json=_withdrawal(6_000_000, "wd-totp-0000", totp_code=f"{(int(code) + 1) % 10**6:06d}"),
        headers=user.headers,
    )
    assert wrong.status_code == 403
    ok = await client.post(
        f"/api/v1/wallets/{user.id}/withdraw",
        json=_withdrawal(6_000_000, "wd-totp-0001", totp_code=code),
        headers=user.headers,
    )
    assert ok.status_code == 201, ok.text
    replayed = await client.post(
        f"/api/v1/wallets/{user.id}/withdraw",
        json=_withdrawal(6_000_000, "wd-totp-0002", totp_code=code),
        headers=user.headers,
    )
    assert replayed.status_code == 403
    assert await _kes(client, user) == (14_000_000, 6_000_000)


async def test_a_large_withdrawal_passes_with_the_token_post_me_step_up_gave(
    client: Client,
    make_user: MakeUser,
    clock: ManualClock,
    pool: asyncpg.Pool,
    platform: Platform,
    daraja_sim: DarajaSimulator,
    fund_wallet: FundWallet,
) -> None:
    user = await make_user(kyc_level=2)
    other = await make_user(kyc_level=2)
    await fund_wallet(user.id, "KES", 20_000_000)
    secret = await _enrol_totp(platform, user, clock)
    stepped_up = await client.post(
        "/api/v1/me/step-up",
        json={"code": pyotp.TOTP(secret).at(clock.now())},
        headers=user.headers,
    )
    assert stepped_up.status_code == 200, stepped_up.text
    token = stepped_up.json()["step_up_token"]

    nothing = await client.post(
        f"/api/v1/wallets/{user.id}/withdraw",
        json=_withdrawal(6_000_000, "wd-token-0000"),
        headers=user.headers,
    )
    assert nothing.status_code == 403
    assert nothing.json()["extra"] == {"step_up_required": True}
    assert nothing.json()["errors"][0]["field"] == "totp_code"
    ok = await client.post(
        f"/api/v1/wallets/{user.id}/withdraw",
        json=_withdrawal(6_000_000, "wd-token-0001", step_up_token=token),
        headers=user.headers,
    )
    assert ok.status_code == 201, ok.text
    # A retry with the same key answers as the first time, with or without the token.
    for proof in ({}, {"step_up_token": token}):
        again = await client.post(
            f"/api/v1/wallets/{user.id}/withdraw",
            json=_withdrawal(6_000_000, "wd-token-0001", **proof),
            headers=user.headers,
        )
        assert again.status_code == 201, again.text
        assert again.json()["id"] == ok.json()["id"]
    # The token is this session's: another user's session cannot use it.
    await fund_wallet(other.id, "KES", 20_000_000)
    await _enrol_totp(platform, other, clock)
    borrowed = await client.post(
        f"/api/v1/wallets/{other.id}/withdraw",
        json=_withdrawal(6_000_000, "wd-token-0002", step_up_token=token),
        headers=other.headers,
    )
    assert borrowed.status_code == 403
    assert borrowed.json()["errors"][0]["field"] == "step_up_token"
    # It lives five minutes.
    clock.advance(timedelta(minutes=5))
    expired = await client.post(
        f"/api/v1/wallets/{user.id}/withdraw",
        json=_withdrawal(6_000_000, "wd-token-0003", step_up_token=token),
        headers=user.headers,
    )
    assert expired.status_code == 403
    assert expired.json()["extra"] == {"step_up_required": True}
    assert await _kes(client, user) == (14_000_000, 6_000_000)


async def test_a_queue_timeout_resends_the_payout_after_the_backoff(
    client: Client,
    make_user: MakeUser,
    clock: ManualClock,
    pool: asyncpg.Pool,
    platform: Platform,
    daraja_sim: DarajaSimulator,
    fund_wallet: FundWallet,
) -> None:
    user = await make_user(kyc_level=2)
    await fund_wallet(user.id, "KES", 100_000)
    payout = (
        await client.post(
            f"/api/v1/wallets/{user.id}/withdraw",
            json=_withdrawal(100_000, "wd-timeout-01"),
            headers=user.headers,
        )
    ).json()
    path, timeout = daraja_sim.b2c_queue_timeout(await current_originator(pool, payout["id"]))
    assert "/b2c/timeout" in path
    for _ in range(2):
        assert (await client.post(path, json=timeout)).status_code == 200
    row = await pool.fetchrow(
        "SELECT status, attempts, next_attempt_at FROM payouts WHERE id = $1",
        uuid.UUID(payout["id"]),
    )
    # One send so far, queued again once (the repeated time-out changed nothing).
    assert (row["status"], row["attempts"]) == ("queued", 1)
    assert row["next_attempt_at"] == clock.now() + timedelta(minutes=2)
    clock.advance(timedelta(minutes=5))
    assert await mpesa.retry_due_payouts(platform) == 1
    assert await mpesa.retry_due_payouts(platform) == 0
    path, success = daraja_sim.b2c_result(await current_originator(pool, payout["id"]))
    assert (await client.post(path, json=success)).status_code == 200
    assert await _kes(client, refreshed(user, platform.settings, clock)) == (0, 0)
    assert len(await outbox_events(pool, "payout.completed")) == 1


async def test_a_b2c_result_paying_another_amount_is_held_until_an_admin_settles_it(
    client: Client,
    make_user: MakeUser,
    clock: ManualClock,
    pool: asyncpg.Pool,
    daraja_sim: DarajaSimulator,
    fund_wallet: FundWallet,
) -> None:
    user = await make_user(kyc_level=2)
    admin = await make_user(role=Role.ADMIN)
    await fund_wallet(user.id, "KES", 500_000)
    refunded, paid = [
        (
            await client.post(
                f"/api/v1/wallets/{user.id}/withdraw",
                json=_withdrawal(amount, key),
                headers=user.headers,
            )
        ).json()
        for amount, key in ((200_000, "wd-review-01"), (100_000, "wd-review-02"))
    ]
    # M-Pesa says it paid KES 1,500 for a KES 2,000 payout, and KES 900 for KES 1,000.
    for payout, shillings in ((refunded, 1_500), (paid, 900)):
        originator = await current_originator(pool, payout["id"])
        path, result = daraja_sim.b2c_result(originator, paid_amount=shillings)
        for _ in range(2):
            assert (await client.post(path, json=result)).status_code == 200
    rows = {
        str(r["id"]): r
        for r in await pool.fetch("SELECT id, status, review_reason, provider_receipt FROM payouts")
    }
    assert rows[refunded["id"]]["status"] == "needs_review"
    assert "KES 1,500.00 paid for a payout of KES 2,000.00" in rows[refunded["id"]]["review_reason"]
    assert rows[refunded["id"]]["provider_receipt"]
    # Neither finished nor refunded: the money stays reserved.
    assert await _kes(client, user) == (200_000, 300_000)
    assert len(await outbox_events(pool, "payout.needs_review")) == 2
    assert await outbox_events(pool, "payout.completed") == []

    queue = "/api/v1/admin/payouts/queue"
    waiting = await client.get(queue, headers=admin.headers)
    assert {p["id"] for p in waiting.json()} == {refunded["id"], paid["id"]}
    assert (await client.get(queue, headers=user.headers)).status_code == 403

    decide = f"/api/v1/admin/payouts/{refunded['id']}/review"
    failed = {"outcome": "failed", "note": "M-Pesa reversed the transfer"}
    assert (await client.post(decide, json=failed, headers=user.headers)).status_code == 403
    bad = await client.post(decide, json={"outcome": "lost", "note": "x"}, headers=admin.headers)
    assert bad.status_code == 422
    for _ in range(2):
        settled = await client.post(decide, json=failed, headers=admin.headers)
        assert settled.status_code == 200, settled.text
        assert settled.json()["status"] == "failed"
    assert await _kes(client, user) == (400_000, 100_000)
    other_way = await client.post(
        decide, json={"outcome": "completed", "note": "changed my mind"}, headers=admin.headers
    )
    assert other_way.status_code == 409

    done = await client.post(
        f"/api/v1/admin/payouts/{paid['id']}/review",
        json={"outcome": "completed", "note": "the full amount reached the mentor"},
        headers=admin.headers,
    )
    assert done.json()["status"] == "completed"
    assert "resolved completed" in done.json()["review_reason"]
    assert await _kes(client, user) == (400_000, 0)
    assert len(await outbox_events(pool, "payout.completed")) == 1
    assert (await client.get(queue, headers=admin.headers)).json() == []
    # A late duplicate of M-Pesa's result changes nothing once settled.
    path, result = daraja_sim.b2c_result(
        await current_originator(pool, paid["id"]), paid_amount=900
    )
    assert (await client.post(path, json=result)).status_code == 200
    assert await _kes(client, user) == (400_000, 0)
