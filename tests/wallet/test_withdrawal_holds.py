"""Withdrawal holds through the wallet's public surface: while one is active a withdrawal
is a 409 naming the wallet and reserves nothing, and the weekly payout skips the held
user; a hold is released only by its own reference; placing one many times at once
leaves one."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import asyncpg

from dracarys.clock import ManualClock
from dracarys.db import transaction
from dracarys.identity import Role
from dracarys.payments.sandbox import DarajaSimulator
from dracarys.platform import Platform
from dracarys.wallet import (
    place_withdrawal_hold,
    release_withdrawal_hold,
    run_weekly_payouts,
    withdrawal_holds,
)
from tests.conftest import FundWallet
from tests.support import AppClient, TestUser

MakeUser = Callable[..., Awaitable[TestUser]]


def _withdrawal(key: str) -> dict[str, object]:
    return {
        "amount_minor": 100_000,
        "currency": "KES",
        "method": "mpesa",
        "destination": "0722000222",
        "idempotency_key": key,
    }


async def test_a_held_wallet_refuses_withdrawals_until_its_own_reference_releases_the_hold(
    client: AppClient,
    pool: asyncpg.Pool,
    clock: ManualClock,
    make_user: MakeUser,
    fund_wallet: FundWallet,
    daraja_sim: DarajaSimulator,
) -> None:
    user = await make_user(kyc_level=2)
    await fund_wallet(user.id, "KES", 1_000_000)
    placed = await asyncio.gather(
        *(_place(pool, clock, user, "compliance-case:1") for _ in range(10))
    )
    assert placed.count(True) == 1
    refused = await client.post(
        f"/api/v1/wallets/{user.id}/withdraw",
        json=_withdrawal("hold-wd-0001"),
        headers=user.headers,
    )
    assert refused.status_code == 409
    assert refused.json()["errors"][0]["field"] == "wallet_id"
    assert await pool.fetchval("SELECT count(*) FROM payouts") == 0

    async with transaction(pool) as conn:
        assert not await release_withdrawal_hold(conn, user.id, "another-case", now=clock.now())
        assert len(await withdrawal_holds(conn, user.id)) == 1
        assert await release_withdrawal_hold(conn, user.id, "compliance-case:1", now=clock.now())
        assert await withdrawal_holds(conn, user.id) == []
    allowed = await client.post(
        f"/api/v1/wallets/{user.id}/withdraw",
        json=_withdrawal("hold-wd-0002"),
        headers=user.headers,
    )
    assert allowed.status_code == 201, allowed.text


async def test_the_weekly_payout_skips_a_held_mentor_and_pays_the_others(
    pool: asyncpg.Pool,
    clock: ManualClock,
    platform: Platform,
    make_user: MakeUser,
    fund_wallet: FundWallet,
    daraja_sim: DarajaSimulator,
) -> None:
    held = await make_user(role=Role.MENTOR, kyc_level=2, phone="+254722000111")
    free = await make_user(role=Role.MENTOR, kyc_level=2, phone="+254722000333")
    for mentor in (held, free):
        await fund_wallet(mentor.id, "KES", 200_000)
    assert await _place(pool, clock, held, "compliance-case:2")
    created = await run_weekly_payouts(platform)
    owners = {r["user_id"] for r in await pool.fetch("SELECT user_id FROM payouts")}
    assert (len(created), owners) == (1, {free.id})


async def _place(pool: asyncpg.Pool, clock: ManualClock, user: TestUser, reference: str) -> bool:
    async with transaction(pool) as conn:
        return await place_withdrawal_hold(
            conn, user.id, "compliance review", reference, now=clock.now()
        )
