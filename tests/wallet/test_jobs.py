"""The wallet's scheduled jobs are registered with cron labels and run through a real
in-memory worker against the services."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

import asyncpg
from taskiq import InMemoryBroker

from dracarys.clock import ManualClock
from dracarys.db import transaction
from dracarys.identity import Role
from dracarys.platform import Platform
from dracarys.wallet.balances.service import balances_of
from dracarys.wallet.escrow import service as escrow
from tests.conftest import FundWallet
from tests.support import TestUser
from workers.runtime import Worker
from workers.tasks import register_tasks

MakeUser = Callable[..., Awaitable[TestUser]]


def test_wallet_jobs_carry_cron_schedules() -> None:
    tasks = register_tasks(InMemoryBroker())
    expected = {
        "wallet.release_due_escrows",
        "wallet.release_due_holdbacks",
        "wallet.weekly_payouts",
        "wallet.retry_payouts",
        "wallet.reconcile_payouts",
        "wallet.settle_stale_mpesa",
        "wallet.fail_unopened_card_deposits",
        "wallet.expire_pending_transfers",
        "wallet.mentor_bonuses",
    }
    assert expected <= set(tasks)
    assert tasks["wallet.weekly_payouts"].labels["schedule"] == [{"cron": "0 6 * * 1"}]


async def test_the_escrow_timeout_job_releases_through_a_worker(
    make_user: MakeUser,
    platform: Platform,
    clock: ManualClock,
    pool: asyncpg.Pool,
    fund_wallet: FundWallet,
) -> None:
    payer = await make_user()
    mentor = await make_user(role=Role.MENTOR)
    await fund_wallet(payer.id, "KES", 5_000)
    async with transaction(pool) as conn:
        held = await escrow.hold_escrow(
            conn,
            settings=platform.settings,
            now=clock.now(),
            payer_id=payer.id,
            mentor_id=mentor.id,
            amount_minor=5_000,
            currency="KES",
            reference="job-1",
            idempotency_key="job-escrow-001",
        )
    worker = Worker(platform, InMemoryBroker())
    await worker.start(relay=False)
    try:
        task = await worker.tasks["wallet.release_due_escrows"].kiq()
        assert (await task.wait_result(timeout=10)).return_value == 0
        clock.advance(timedelta(hours=platform.settings.wallet_escrow_auto_release_hours))
        task = await worker.tasks["wallet.release_due_escrows"].kiq()
        assert (await task.wait_result(timeout=10)).return_value == 1
    finally:
        await worker.stop()
    async with pool.acquire() as conn:
        assert (await balances_of(conn, mentor.id)).balances[0].available_minor > 0
    assert held.status == "held"
