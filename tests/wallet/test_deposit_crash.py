"""A top-up's process killed with SIGKILL. An M-Pesa one killed between Daraja taking the
STK push in and the deposit recording its answer (found by the chaos test): the phone
shows the prompt; a retry must not push a second one, and the prompt the customer pays
must credit the wallet once. Killed before the push left, the deposit gets no prompt and
fails after the deadline, crediting nothing. A card one killed after Stripe made its
checkout: the retry gets that same checkout. The kill points are made exact by the
simulators, which hold a call and tell the test it arrived."""

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
from dracarys.payments.daraja import account_reference
from dracarys.payments.sandbox import DarajaSimulator, HeldCall, StripeSimulator
from dracarys.platform import Platform
from dracarys.settings import Settings
from dracarys.wallet.balances.service import balances_of
from dracarys.wallet.deposits import service as deposits
from dracarys.wallet.ledger import service as ledger
from tests.support import AppClient, TestUser
from tests.wallet.simulators import provider_env

MakeUser = Callable[..., Awaitable[TestUser]]
OAUTH = "/oauth/v1/generate"
STK_PUSH = "/mpesa/stkpush/v1/processrequest"
AMOUNT = 150_000

# The process that dies: an API process serving the top-up, on the test's clock.
_DEPOSITING_PROCESS = textwrap.dedent(
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
    from dracarys.wallet.deposits import service
    from dracarys.wallet.deposits.models import DepositRequest

    async def main():
        now, user_id, session_id, key, body = sys.argv[1:]
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
        request = msgspec.json.decode(body, type=DepositRequest)
        view = await service.start_deposit(platform, actor, actor.id, request, key)
        print("deposit answered", view.status, flush=True)

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


def _body() -> dict[str, Any]:
    return {"method": "mpesa", "amount_minor": AMOUNT, "currency": "KES", "phone": "0712345678"}


async def _deposit_in_a_process_killed_when(
    env: dict[str, str],
    clock: ManualClock,
    user: TestUser,
    key: str,
    held: HeldCall,
    body: dict[str, Any] | None = None,
) -> None:
    """Serve the top-up in its own process; SIGKILL it once Daraja holds its call."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _DEPOSITING_PROCESS,
        clock.now().isoformat(),
        str(user.id),
        str(user.session_id),
        key,
        msgspec.json.encode(body or _body()).decode(),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while not held.arrived.is_set():
            if process.returncode is not None:
                output = await process.stdout.read() if process.stdout else b""
                raise AssertionError(f"the process ended before the kill point: {output!r}")
            assert time.monotonic() < deadline, "the kill point was never reached"
            await asyncio.sleep(0.02)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGKILL)
        output, _ = await process.communicate()
    held.released.set()
    assert process.returncode == -signal.SIGKILL, output.decode()
    assert b"deposit answered" not in output


def _prompts(daraja_sim: DarajaSimulator, deposit_id: str) -> list[str]:
    """The STK pushes (checkout ids) the customer's phone got for this deposit."""
    reference = account_reference(f"DRC{uuid.UUID(deposit_id).hex[:9]}")
    return [c for c, push in daraja_sim.pushes.items() if push["AccountReference"] == reference]


async def _retry(client: AppClient, user: TestUser, key: str) -> dict[str, Any]:
    again = await client.post(
        f"/api/v1/wallets/{user.id}/deposits",
        json=_body(),
        headers={**user.headers, "Idempotency-Key": key},
    )
    assert again.status_code == 201, again.text
    body: dict[str, Any] = again.json()
    return body


async def _kes(pool: asyncpg.Pool, user: TestUser) -> tuple[int, int]:
    async with pool.acquire() as conn:
        balances = await balances_of(conn, user.id)
    kes = next((b for b in balances.balances if b.currency == "KES"), None)
    return (0, 0) if kes is None else (kes.available_minor, kes.pending_in_minor)


async def test_killed_after_daraja_took_the_push_a_retry_pushes_no_second_prompt_and_the_paid_one_credits_once(  # noqa: E501
    client: AppClient,
    make_user: MakeUser,
    clock: ManualClock,
    pool: asyncpg.Pool,
    daraja_sim: DarajaSimulator,
    child_env: dict[str, str],
) -> None:
    user = await make_user()
    key = "topup-crash-after-push"
    # M-Pesa takes the push in and prompts the phone; the process dies awaiting the answer.
    held = daraja_sim.hold(STK_PUSH, act="accept")
    await _deposit_in_a_process_killed_when(child_env, clock, user, key, held)

    deposit = await _retry(client, user, key)
    assert deposit["status"] == "pending"
    assert await _retry(client, user, key) == deposit
    [prompt] = _prompts(daraja_sim, deposit["id"])
    # The customer pays the one prompt; M-Pesa calls back (twice, as it may).
    path, payload = daraja_sim.stk_callback(prompt)
    for _ in range(2):
        assert (await client.post(path, json=payload)).status_code == 200
    assert await _kes(pool, user) == (AMOUNT, 0)
    read = await client.get(f"/api/v1/deposits/{deposit['id']}", headers=user.headers)
    assert (read.json()["status"], read.json()["provider_ref"]) == ("completed", prompt)
    assert _prompts(daraja_sim, deposit["id"]) == [prompt]
    async with pool.acquire() as conn:
        assert (await ledger.check_ledger(conn)).problems == []


async def test_killed_before_the_push_left_the_deposit_gets_no_prompt_and_fails_after_the_deadline(
    client: AppClient,
    make_user: MakeUser,
    clock: ManualClock,
    pool: asyncpg.Pool,
    platform: Platform,
    daraja_sim: DarajaSimulator,
    child_env: dict[str, str],
) -> None:
    user = await make_user()
    key = "topup-crash-before-push"
    # The process dies fetching its Daraja token: the deposit is on record, no push left.
    held = daraja_sim.hold(OAUTH, act="nothing")
    await _deposit_in_a_process_killed_when(child_env, clock, user, key, held)

    deposit = await _retry(client, user, key)
    assert (deposit["status"], deposit["provider_ref"]) == ("pending", None)
    assert _prompts(daraja_sim, deposit["id"]) == []
    assert await _kes(pool, user) == (0, AMOUNT)
    clock.advance(deposits.MPESA_PROMPT_LOST_AFTER - timedelta(seconds=1))
    assert await deposits.settle_stale_mpesa_deposits(platform) == 0
    clock.advance(timedelta(seconds=2))
    assert await deposits.settle_stale_mpesa_deposits(platform) == 1
    read = await client.get(f"/api/v1/deposits/{deposit['id']}", headers=user.headers)
    assert read.json()["status"] == "failed"
    assert "no M-Pesa prompt" in read.json()["failure_reason"]
    assert await _kes(pool, user) == (0, 0)
    assert _prompts(daraja_sim, deposit["id"]) == []
    async with pool.acquire() as conn:
        assert (await ledger.check_ledger(conn)).problems == []


async def test_killed_after_stripe_made_the_checkout_a_retry_gets_the_same_page_and_pays_once(
    client: AppClient,
    make_user: MakeUser,
    clock: ManualClock,
    pool: asyncpg.Pool,
    stripe_sim: StripeSimulator,
    child_env: dict[str, str],
) -> None:
    """A card top-up is committed before Stripe is asked (as M-Pesa's are): killed while
    Stripe's answer was on its way, the deposit is on record without its session, and the
    retry gets the session Stripe made (its idempotency key derives from the deposit)."""
    user = await make_user()
    key = "card-topup-crash-after-session"
    card = {"method": "stripe", "amount_minor": AMOUNT, "currency": "KES"}
    held = stripe_sim.hold("checkout/sessions", act="accept")
    await _deposit_in_a_process_killed_when(child_env, clock, user, key, held, card)
    recorded = await pool.fetchrow(
        "SELECT status, provider_ref FROM wallet_deposits WHERE user_id = $1", user.id
    )
    assert recorded is not None
    assert (recorded["status"], recorded["provider_ref"]) == ("pending", None)

    again = await client.post(
        f"/api/v1/wallets/{user.id}/deposits",
        json=card,
        headers={**user.headers, "Idempotency-Key": key},
    )
    assert again.status_code == 201, again.text
    deposit = again.json()
    [session] = [
        s for s in stripe_sim.sessions.values() if s["client_reference_id"] == deposit["id"]
    ]
    assert (deposit["provider_ref"], deposit["checkout_url"]) == (session["id"], session["url"])
    now = int(clock.now().timestamp())
    body, headers = stripe_sim.signed(stripe_sim.pay(session["id"], now), now)
    for _ in range(2):
        answer = await client.post("/api/v1/webhooks/stripe", content=body, headers=headers)
        assert answer.status_code == 200, answer.text
    assert await _kes(pool, user) == (AMOUNT, 0)
    async with pool.acquire() as conn:
        assert (await ledger.check_ledger(conn)).problems == []
