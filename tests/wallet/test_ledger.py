"""The double-entry ledger: conservation, no overdraft and idempotency under concurrency,
two-phase transfers, append-only rows."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import timedelta

import asyncpg
import pytest

from dracarys.clock import ManualClock
from dracarys.db import transaction
from dracarys.errors import Conflict, InvalidInput
from dracarys.wallet.ledger import service as ledger
from dracarys.wallet.ledger.models import AccountCode, TransferKind, TransferSpec
from dracarys.wallet.ledger.service import InsufficientFunds
from tests.wallet.conftest import open_wallets


async def test_ten_thousand_concurrent_transfers_conserve_money_and_never_overdraw(
    pool: asyncpg.Pool, clock: ManualClock
) -> None:
    now = clock.now()
    wallets = await open_wallets(pool, 100, "KES", now, fund_minor=10_000)
    usd_wallets = await open_wallets(pool, 4, "USD", now, fund_minor=500)
    hot = wallets[:3]
    rng = random.Random(8)
    plan: list[tuple[int, int, int]] = []
    for _ in range(10_000):
        if rng.random() < 0.2:
            # Hot traffic: alternately drain and refill the three hot wallets.
            a, b = rng.choice(hot), rng.choice(wallets)
            debit, credit = (a, b) if rng.random() < 0.5 else (b, a)
        else:
            debit, credit = rng.sample(wallets, 2)
        if debit == credit:
            credit = wallets[(wallets.index(debit) + 1) % len(wallets)]
        plan.append((debit, credit, rng.randint(1, 900)))
    queue: asyncio.Queue[tuple[int, int, int]] = asyncio.Queue()
    for item in plan:
        queue.put_nowait(item)
    outcomes = {"ok": 0, "insufficient": 0}

    async def worker() -> None:
        while not queue.empty():
            debit, credit, amount = queue.get_nowait()
            try:
                async with transaction(pool) as conn:
                    await ledger.create_transfer(
                        conn,
                        TransferSpec(
                            idempotency_key=str(uuid.uuid4()),
                            code="p2p",
                            debit_account_id=debit,
                            credit_account_id=credit,
                            amount_minor=amount,
                            currency="KES",
                        ),
                        now=now,
                    )
                outcomes["ok"] += 1
            except InsufficientFunds:
                outcomes["insufficient"] += 1

    await asyncio.gather(*(worker() for _ in range(50)))

    assert outcomes["ok"] + outcomes["insufficient"] == 10_000
    assert outcomes["ok"] > 5_000
    async with pool.acquire() as conn:
        check = await ledger.check_ledger(conn)
        assert check.problems == []
        assert check.totals == {"KES": 0, "USD": 0}
        total = 0
        for w in wallets:
            balance = await ledger.balance_of(conn, w)
            assert balance.available_minor >= 0
            total += balance.posted_minor
        assert total == 100 * 10_000
        assert sum([(await ledger.balance_of(conn, w)).posted_minor for w in usd_wallets]) == 2000
        transfers = await conn.fetchval("SELECT count(*) FROM ledger_transfers WHERE code = 'p2p'")
        assert transfers == outcomes["ok"]


async def test_two_hundred_concurrent_withdrawals_of_60_from_100_exactly_one_succeeds(
    pool: asyncpg.Pool, clock: ManualClock
) -> None:
    now = clock.now()
    [wallet] = await open_wallets(pool, 1, "KES", now, fund_minor=100)
    async with transaction(pool) as conn:
        clearing = await ledger.platform_account(conn, AccountCode.PAYOUT_CLEARING, "KES", now)

    async def withdraw() -> bool:
        try:
            async with transaction(pool) as conn:
                await ledger.create_transfer(
                    conn,
                    TransferSpec(
                        idempotency_key=str(uuid.uuid4()),
                        code="withdrawal",
                        kind=TransferKind.PENDING,
                        debit_account_id=wallet,
                        credit_account_id=clearing,
                        amount_minor=60,
                        currency="KES",
                    ),
                    now=now,
                )
            return True
        except InsufficientFunds:
            return False

    results = await asyncio.gather(*(withdraw() for _ in range(200)))
    assert sum(results) == 1
    async with pool.acquire() as conn:
        balance = await ledger.balance_of(conn, wallet)
        assert (balance.available_minor, balance.debits_pending) == (40, 60)
        assert (await ledger.check_ledger(conn)).problems == []


async def test_fifty_concurrent_requests_with_one_key_make_one_transfer_and_a_changed_body_is_422(
    pool: asyncpg.Pool, clock: ManualClock
) -> None:
    now = clock.now()
    source, target = await open_wallets(pool, 2, "KES", now, fund_minor=1_000)

    def spec(amount: int) -> TransferSpec:
        return TransferSpec(
            idempotency_key="same-key-0001",
            code="p2p",
            debit_account_id=source,
            credit_account_id=target,
            amount_minor=amount,
            currency="KES",
        )

    async def send() -> uuid.UUID:
        async with transaction(pool) as conn:
            return (await ledger.create_transfer(conn, spec(250), now=now)).id

    ids = await asyncio.gather(*(send() for _ in range(50)))
    assert len(set(ids)) == 1
    async with transaction(pool) as conn:
        with pytest.raises(InvalidInput) as refused:
            await ledger.create_transfer(conn, spec(251), now=now)
    assert refused.value.status == 422
    async with pool.acquire() as conn:
        assert (await ledger.balance_of(conn, target)).posted_minor == 1_250
        assert (await ledger.balance_of(conn, source)).posted_minor == 750


async def test_posting_less_than_pending_releases_the_rest_and_a_pending_resolves_once(
    pool: asyncpg.Pool, clock: ManualClock
) -> None:
    now = clock.now()
    payer, payee = await open_wallets(pool, 2, "USD", now, fund_minor=1_000)
    async with transaction(pool) as conn:
        hold = await ledger.create_transfer(
            conn,
            TransferSpec(
                idempotency_key="hold-1",
                code="hold",
                kind=TransferKind.PENDING,
                debit_account_id=payer,
                credit_account_id=payee,
                amount_minor=600,
                currency="USD",
            ),
            now=now,
        )
        assert (await ledger.balance_of(conn, payer)).available_minor == 400
        await ledger.post_pending(
            conn, hold.id, idempotency_key="post-1", code="post", now=now, amount_minor=450
        )
    async with transaction(pool) as conn:
        payer_balance = await ledger.balance_of(conn, payer)
        assert (payer_balance.available_minor, payer_balance.debits_pending) == (550, 0)
        assert (await ledger.balance_of(conn, payee)).posted_minor == 1_450
        # A retry of the same post is a replay, not a second effect.
        again = await ledger.post_pending(
            conn, hold.id, idempotency_key="post-1", code="post", now=now, amount_minor=450
        )
        assert again.amount_minor == 450
    async with transaction(pool) as conn:
        with pytest.raises(Conflict):
            await ledger.void_pending(conn, hold.id, idempotency_key="void-1", code="v", now=now)
    async with pool.acquire() as conn:
        assert (await ledger.check_ledger(conn)).problems == []


async def test_concurrent_post_and_void_of_one_pending_transfer_only_one_wins(
    pool: asyncpg.Pool, clock: ManualClock
) -> None:
    now = clock.now()
    payer, payee = await open_wallets(pool, 2, "KES", now, fund_minor=100)
    async with transaction(pool) as conn:
        hold = await ledger.create_transfer(
            conn,
            TransferSpec(
                idempotency_key="hold-race",
                code="hold",
                kind=TransferKind.PENDING,
                debit_account_id=payer,
                credit_account_id=payee,
                amount_minor=100,
                currency="KES",
            ),
            now=now,
        )

    async def resolve(i: int) -> str:
        try:
            async with transaction(pool) as conn:
                if i % 2:
                    await ledger.post_pending(
                        conn, hold.id, idempotency_key=f"r{i}", code="p", now=now
                    )
                    return "posted"
                await ledger.void_pending(conn, hold.id, idempotency_key=f"r{i}", code="v", now=now)
                return "voided"
        except Conflict:
            return "refused"

    outcomes = await asyncio.gather(*(resolve(i) for i in range(20)))
    assert outcomes.count("refused") == 19
    async with pool.acquire() as conn:
        assert (await ledger.check_ledger(conn)).problems == []
        total = sum([(await ledger.balance_of(conn, a)).posted_minor for a in (payer, payee)])
        assert total == 200


async def test_pending_transfer_times_out_and_can_no_longer_be_posted(
    pool: asyncpg.Pool, clock: ManualClock
) -> None:
    payer, payee = await open_wallets(pool, 2, "KES", clock.now(), fund_minor=100)
    async with transaction(pool) as conn:
        hold = await ledger.create_transfer(
            conn,
            TransferSpec(
                idempotency_key="hold-timeout",
                code="hold",
                kind=TransferKind.PENDING,
                debit_account_id=payer,
                credit_account_id=payee,
                amount_minor=70,
                currency="KES",
                timeout_s=60,
            ),
            now=clock.now(),
        )
    clock.advance(timedelta(seconds=61))
    async with transaction(pool) as conn:
        with pytest.raises(Conflict, match="timed out"):
            await ledger.post_pending(
                conn, hold.id, idempotency_key="late", code="p", now=clock.now()
            )
    async with transaction(pool) as conn:
        assert await ledger.expire_pending_transfers(conn, now=clock.now()) == 1
        assert await ledger.expire_pending_transfers(conn, now=clock.now()) == 0
        assert (await ledger.balance_of(conn, payer)).available_minor == 100


async def test_ledger_rows_are_append_only_and_balances_are_bounded_by_the_database(
    pool: asyncpg.Pool, clock: ManualClock
) -> None:
    [wallet] = await open_wallets(pool, 1, "KES", clock.now(), fund_minor=10)
    async with pool.acquire() as conn:
        for statement in (
            "UPDATE ledger_transfers SET amount_minor = 1",
            "DELETE FROM ledger_entries",
            "UPDATE ledger_accounts SET flags = 0",
            "TRUNCATE ledger_transfers CASCADE",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(statement)
        # Even a buggy writer cannot push a wallet below zero.
        with pytest.raises(asyncpg.CheckViolationError):
            await conn.execute(
                "UPDATE ledger_balances SET debits_posted = 11 WHERE account_id = $1", wallet
            )


async def test_a_transfer_between_currencies_is_refused(
    pool: asyncpg.Pool, clock: ManualClock
) -> None:
    [kes] = await open_wallets(pool, 1, "KES", clock.now(), fund_minor=10)
    [usd] = await open_wallets(pool, 1, "USD", clock.now(), fund_minor=10)
    async with transaction(pool) as conn:
        with pytest.raises(InvalidInput, match="currency"):
            await ledger.create_transfer(
                conn,
                TransferSpec(
                    idempotency_key="x-currency",
                    code="p2p",
                    debit_account_id=kes,
                    credit_account_id=usd,
                    amount_minor=5,
                    currency="KES",
                ),
                now=clock.now(),
            )
