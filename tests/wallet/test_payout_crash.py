"""A withdrawal's process killed with SIGKILL at each point between recording its M-Pesa
attempt and recording Daraja's acceptance; the platform, started again, finishes it: the
payout ends paid exactly once or refunded exactly once, the reserved money is released or
paid, and the ledger holds. The kill points are made exact by the Daraja simulator (which
holds a call and tells the test it arrived) and by a row lock the test holds."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import textwrap
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import msgspec
import pytest

from dracarys.clock import ManualClock
from dracarys.payments.sandbox import DarajaSimulator, HeldCall, StripeSimulator
from dracarys.platform import Platform
from dracarys.settings import Settings
from dracarys.wallet.balances.service import balances_of
from dracarys.wallet.ledger import service as ledger
from dracarys.wallet.payouts import mpesa
from tests.conftest import FundWallet
from tests.support import AppClient, TestUser
from tests.wallet.conftest import current_originator, outbox_events, refreshed
from tests.wallet.simulators import provider_env

MakeUser = Callable[..., Awaitable[TestUser]]
OAUTH = "/oauth/v1/generate"
B2C = "/mpesa/b2c/v3/paymentrequest"
AMOUNT = 100_000
FUNDS = 300_000

# The process that dies: an API process serving the withdrawal, on the test's clock.
_WITHDRAWING_PROCESS = textwrap.dedent(
    """
    import asyncio, sys, uuid
    from datetime import datetime
    import msgspec
    from dracarys.clock import ManualClock
    from dracarys.db import Database
    from dracarys.db.pool import create_pool
    from dracarys.identity import CurrentUser, Role
    from dracarys.platform import Platform
    from dracarys.settings import load_settings
    from dracarys.wallet.payouts import service as payouts
    from dracarys.wallet.payouts.models import WithdrawRequest

    async def main():
        now, user_id, session_id, body = sys.argv[1:]
        settings = load_settings()
        pool = await create_pool(settings.database_url, min_size=1, max_size=2)
        platform = Platform(
            settings=settings,
            database=Database(pool=pool, dsn=settings.database_url),
            clock=ManualClock(datetime.fromisoformat(now)),
        )
        actor = CurrentUser(
            id=uuid.UUID(user_id), role=Role.MENTEE, session_id=uuid.UUID(session_id)
        )
        request = msgspec.json.decode(body, type=WithdrawRequest)
        view = await payouts.request_withdrawal(
            platform, actor, actor.id, request, request.idempotency_key
        )
        print("withdrawal answered", view.status, flush=True)

    asyncio.run(main())
    """
)


@pytest.fixture
def child_env(
    settings: Settings,
    database_url: str,
    tmp_path: Path,
    stripe_server: tuple[StripeSimulator, str],
    daraja_server: tuple[DarajaSimulator, str],
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env.update(
        DATABASE_URL=database_url,
        DRACARYS_ENV="test",
        DRACARYS_DATA_DIR=str(tmp_path),
        DRACARYS_SECRET_KEY=settings.secret_key,
        DRACARYS_LOG_LEVEL="WARNING",
        DRACARYS_SEED_DEMO="false",
        **provider_env(*stripe_server, *daraja_server),
    )
    return env


def _body(key: str) -> dict[str, Any]:
    return {
        "amount_minor": AMOUNT,
        "currency": "KES",
        "method": "mpesa",
        "destination": "0722000222",
        "idempotency_key": key,
    }


async def _until(check: Callable[[], Awaitable[bool]], process: asyncio.subprocess.Process) -> None:
    deadline = time.monotonic() + 60
    while not await check():
        if process.returncode is not None:
            output = await process.stdout.read() if process.stdout else b""
            raise AssertionError(f"the process ended before the kill point: {output.decode()}")
        assert time.monotonic() < deadline, "the kill point was never reached"
        await asyncio.sleep(0.02)


def _arrived_now(held: HeldCall) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return held.arrived.is_set()

    return check


async def _withdraw_in_a_process_killed(
    env: dict[str, str],
    clock: ManualClock,
    user: TestUser,
    key: str,
    kill_point: Callable[[asyncio.subprocess.Process], Awaitable[None]],
) -> None:
    """Serve the withdrawal in its own process; SIGKILL it at `kill_point` (which returns
    there, or kills it itself)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _WITHDRAWING_PROCESS,
        clock.now().isoformat(),
        str(user.id),
        str(user.session_id),
        msgspec.json.encode(_body(key)).decode(),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        await kill_point(process)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGKILL)
        output, _ = await process.communicate()
    assert process.returncode == -signal.SIGKILL, output.decode()
    assert b"withdrawal answered" not in output


async def _payout_of(pool: asyncpg.Pool, user: TestUser) -> uuid.UUID:
    payout_id: uuid.UUID = await pool.fetchval("SELECT id FROM payouts WHERE user_id = $1", user.id)
    return payout_id


async def _state(pool: asyncpg.Pool, payout_id: uuid.UUID) -> tuple[str, int]:
    row = await pool.fetchrow("SELECT status, attempts FROM payouts WHERE id = $1", payout_id)
    return row["status"], row["attempts"]


async def _kes(pool: asyncpg.Pool, user: TestUser) -> tuple[int, int]:
    async with pool.acquire() as conn:
        balances = await balances_of(conn, user.id)
    kes = next(b for b in balances.balances if b.currency == "KES")
    return kes.available_minor, kes.pending_out_minor


async def _a_retry_says_sending(client: AppClient, user: TestUser, key: str) -> None:
    """The user asks again (same key) and reads the payout: the truth, never `sent`."""
    again = await client.post(
        f"/api/v1/wallets/{user.id}/withdraw", json=_body(key), headers=user.headers
    )
    assert again.status_code == 201, again.text
    read = await client.get(f"/api/v1/payouts/{again.json()['id']}", headers=user.headers)
    assert again.json()["status"] == read.json()["status"] == "sending"


async def _reconcile(
    client: AppClient, platform: Platform, clock: ManualClock, daraja_sim: DarajaSimulator
) -> None:
    """The restarted platform's cron, past the deadline: ask Daraja, take in its answer."""
    clock.advance(timedelta(seconds=platform.settings.wallet_payout_reconcile_after_s + 1))
    assert await mpesa.reconcile_payouts_in_flight(platform) == 1
    results = daraja_sim.take_status_results()
    assert len(results) == 1
    for path, answer in results:
        assert (await client.post(path, json=answer)).status_code == 200


async def _paid_exactly_once(
    pool: asyncpg.Pool, daraja_sim: DarajaSimulator, user: TestUser, payout_id: uuid.UUID
) -> None:
    assert (await _state(pool, payout_id))[0] == "completed"
    assert len(daraja_sim.paid_b2c(str(payout_id))) == 1
    assert await _kes(pool, user) == (FUNDS - AMOUNT, 0)
    assert [e["payout_id"] for e in await outbox_events(pool, "payout.completed")] == [
        str(payout_id)
    ]
    async with pool.acquire() as conn:
        assert (await ledger.check_ledger(conn)).problems == []


async def test_killed_after_recording_the_attempt_before_the_request_left_it_is_sent_again_once(
    client: AppClient,
    make_user: MakeUser,
    clock: ManualClock,
    pool: asyncpg.Pool,
    platform: Platform,
    daraja_sim: DarajaSimulator,
    child_env: dict[str, str],
    fund_wallet: FundWallet,
) -> None:
    user = await make_user(kyc_level=2)
    await fund_wallet(user.id, "KES", FUNDS)
    # The process dies fetching its Daraja token: the attempt is on record, no request left.
    held = daraja_sim.hold(OAUTH, act="nothing")
    await _withdraw_in_a_process_killed(
        child_env, clock, user, "crash-before-send", lambda p: _until(_arrived_now(held), p)
    )
    held.released.set()
    payout_id = await _payout_of(pool, user)
    assert await _state(pool, payout_id) == ("sending", 1)
    assert daraja_sim.b2c_sent_for(str(payout_id)) == []
    assert await _kes(pool, user) == (FUNDS - AMOUNT, AMOUNT)
    await _a_retry_says_sending(client, user, "crash-before-send")
    assert await mpesa.retry_due_payouts(platform) == 0  # never resent unasked

    await _reconcile(client, platform, clock, daraja_sim)  # M-Pesa: no such transaction
    assert await _state(pool, payout_id) == ("queued", 1)
    clock.advance(timedelta(minutes=3))
    assert await mpesa.retry_due_payouts(platform) == 1
    [second] = daraja_sim.b2c_sent_for(str(payout_id))
    assert second == await current_originator(pool, payout_id)
    path, result = daraja_sim.b2c_result(second)
    assert (await client.post(path, json=result)).status_code == 200
    await _paid_exactly_once(pool, daraja_sim, user, payout_id)


async def test_killed_while_mpesa_took_and_paid_the_request_it_is_completed_never_resent(
    client: AppClient,
    make_user: MakeUser,
    clock: ManualClock,
    pool: asyncpg.Pool,
    platform: Platform,
    daraja_sim: DarajaSimulator,
    child_env: dict[str, str],
    fund_wallet: FundWallet,
) -> None:
    user = await make_user(kyc_level=2)
    await fund_wallet(user.id, "KES", FUNDS)
    # M-Pesa takes the B2C request in and pays it; the process dies awaiting the answer.
    held = daraja_sim.hold(B2C, act="pay")
    await _withdraw_in_a_process_killed(
        child_env, clock, user, "crash-mpesa-paid", lambda p: _until(_arrived_now(held), p)
    )
    held.released.set()
    payout_id = await _payout_of(pool, user)
    assert await _state(pool, payout_id) == ("sending", 1)
    assert len(daraja_sim.paid_b2c(str(payout_id))) == 1
    await _a_retry_says_sending(client, user, "crash-mpesa-paid")
    clock.advance(timedelta(hours=1))
    assert await mpesa.retry_due_payouts(platform) == 0

    await _reconcile(client, platform, clock, daraja_sim)  # M-Pesa: completed
    assert len(daraja_sim.b2c_sent_for(str(payout_id))) == 1
    await _paid_exactly_once(pool, daraja_sim, user, payout_id)
    user = refreshed(user, platform.settings, clock)
    read = await client.get(f"/api/v1/payouts/{payout_id}", headers=user.headers)
    assert read.json()["status"] == "completed"


async def test_killed_after_daraja_accepted_before_the_acceptance_was_committed_it_completes(
    client: AppClient,
    make_user: MakeUser,
    clock: ManualClock,
    pool: asyncpg.Pool,
    platform: Platform,
    daraja_sim: DarajaSimulator,
    child_env: dict[str, str],
    fund_wallet: FundWallet,
) -> None:
    user = await make_user(kyc_level=2)
    await fund_wallet(user.id, "KES", FUNDS)
    held = daraja_sim.hold(B2C, act="accept")

    async def kill_point(process: asyncio.subprocess.Process) -> None:
        # Daraja's acceptance reaches the process, which then waits for the payout's row
        # (held here) to record it: it dies with the answer in hand, uncommitted.
        await _until(_arrived_now(held), process)
        payout_id = await _payout_of(pool, user)
        async with pool.acquire() as conn:
            locked = conn.transaction()
            await locked.start()
            await conn.execute("SELECT 1 FROM payouts WHERE id = $1 FOR UPDATE", payout_id)
            held.released.set()

            async def waits_for_the_row() -> bool:
                waiting = await pool.fetchval(
                    """SELECT count(*) FROM pg_stat_activity
                       WHERE datname = current_database() AND wait_event_type = 'Lock'"""
                )
                return bool(waiting)

            await _until(waits_for_the_row, process)
            process.send_signal(signal.SIGKILL)
            await process.wait()
            await locked.rollback()

    await _withdraw_in_a_process_killed(child_env, clock, user, "crash-after-accept", kill_point)
    payout_id = await _payout_of(pool, user)
    assert await _state(pool, payout_id) == ("sending", 1)
    [originator] = daraja_sim.b2c_sent_for(str(payout_id))
    await _a_retry_says_sending(client, user, "crash-after-accept")

    # M-Pesa's result arrives for the attempt whose acceptance was never recorded.
    path, result = daraja_sim.b2c_result(originator)
    for _ in range(2):
        assert (await client.post(path, json=result)).status_code == 200
    clock.advance(timedelta(hours=1))
    assert await mpesa.reconcile_payouts_in_flight(platform) == 0
    assert await mpesa.retry_due_payouts(platform) == 0
    assert daraja_sim.b2c_sent_for(str(payout_id)) == [originator]
    await _paid_exactly_once(pool, daraja_sim, user, payout_id)


async def test_killed_before_the_request_left_then_refused_to_the_end_it_is_refunded_once(
    client: AppClient,
    make_user: MakeUser,
    clock: ManualClock,
    pool: asyncpg.Pool,
    platform: Platform,
    daraja_sim: DarajaSimulator,
    child_env: dict[str, str],
    fund_wallet: FundWallet,
) -> None:
    user = await make_user(kyc_level=2)
    await fund_wallet(user.id, "KES", FUNDS)
    held = daraja_sim.hold(OAUTH, act="nothing")
    await _withdraw_in_a_process_killed(
        child_env, clock, user, "crash-then-refused", lambda p: _until(_arrived_now(held), p)
    )
    held.released.set()
    payout_id = await _payout_of(pool, user)
    assert await _state(pool, payout_id) == ("sending", 1)

    await _reconcile(client, platform, clock, daraja_sim)  # M-Pesa: no such transaction
    daraja_sim.b2c_failures_to_inject = 100  # every later send is refused
    for _ in range(platform.settings.wallet_payout_max_attempts):
        clock.advance(timedelta(hours=2))
        await mpesa.retry_due_payouts(platform)
    daraja_sim.b2c_failures_to_inject = 0
    assert await _state(pool, payout_id) == ("failed", platform.settings.wallet_payout_max_attempts)
    assert daraja_sim.paid_b2c(str(payout_id)) == []
    assert await _kes(pool, user) == (FUNDS, 0)
    refunds = await pool.fetchval(
        "SELECT count(*) FROM ledger_transfers WHERE code = 'payout_failed' AND reference = $1",
        str(payout_id),
    )
    assert refunds == 1
    assert await outbox_events(pool, "payout.completed") == []
    async with pool.acquire() as conn:
        assert (await ledger.check_ledger(conn)).problems == []
