"""A hypothesis state machine over deposit / withdraw / hold / post / void / refund /
payout, run against the real services and database: after every step the ledger's
invariants hold and the wallets match a simple model; a rejected operation changes
nothing at all."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import Awaitable
from typing import Any, TypeVar

from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from dracarys.clock import ManualClock
from dracarys.db import Database, transaction
from dracarys.db.pool import create_pool
from dracarys.errors import DomainError
from dracarys.identity import CurrentUser, Role
from dracarys.payments.sandbox import DarajaSimulator
from dracarys.platform import Platform
from dracarys.settings import Settings
from dracarys.wallet.balances.service import balances_of
from dracarys.wallet.deposits import service as deposits
from dracarys.wallet.deposits.models import DepositRequest
from dracarys.wallet.escrow import service as escrow
from dracarys.wallet.ledger import service as ledger
from dracarys.wallet.ledger.models import AccountCode
from dracarys.wallet.payouts import service as payouts
from dracarys.wallet.payouts.models import WithdrawRequest
from dracarys.wallet.policy import mentor_split, split_vat
from tests.support import create_user
from tests.wallet.simulators import CALLBACK_TOKEN

T = TypeVar("T")
_SNAPSHOT_TABLES = (
    "ledger_transfers",
    "ledger_entries",
    "wallet_operations",
    "wallet_deposits",
    "payouts",
    "escrows",
    "mentor_holdbacks",
    "outbox",
)


def test_wallet_operations_keep_every_invariant_and_rejections_change_nothing(
    settings: Settings, database_url: str, daraja_server: tuple[DarajaSimulator, str]
) -> None:
    daraja = daraja_server[0]
    loop = asyncio.new_event_loop()
    pool = loop.run_until_complete(create_pool(database_url, min_size=1, max_size=4))
    clock = ManualClock()
    platform = Platform(
        settings=settings, database=Database(pool=pool, dsn=database_url), clock=clock
    )
    keys = itertools.count()

    def run(work: Awaitable[T]) -> T:
        return loop.run_until_complete(work)

    class WalletMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.payer = run(create_user(pool, settings, clock, kyc_level=2))
            self.mentor = run(create_user(pool, settings, clock, role=Role.MENTOR, kyc_level=2))
            self.available = {self.payer.id: 0, self.mentor.id: 0}
            self.reserved = {self.payer.id: 0, self.mentor.id: 0}
            self.held: dict[uuid.UUID, int] = {}
            self.payouts: dict[uuid.UUID, tuple[uuid.UUID, int]] = {}
            self.holdback = 0

        def actor(self, user_id: uuid.UUID) -> CurrentUser:
            user = self.payer if user_id == self.payer.id else self.mentor
            return CurrentUser(id=user.id, role=user.role, session_id=user.session_id)

        def key(self) -> str:
            return f"machine-key-{next(keys):06d}"

        async def snapshot(self) -> tuple[Any, ...]:
            async with pool.acquire() as conn:
                balances = await conn.fetch("SELECT * FROM ledger_balances ORDER BY account_id")
                counts = [
                    await conn.fetchval(f"SELECT count(*) FROM {t}") for t in _SNAPSHOT_TABLES
                ]
                states = await conn.fetch("SELECT id, status FROM escrows ORDER BY id")
            return tuple(map(tuple, balances)), tuple(counts), tuple(map(tuple, states))

        def rejected(self, work: Awaitable[Any]) -> None:
            before = run(self.snapshot())
            try:
                run(work)
            except DomainError:
                pass
            else:
                raise AssertionError("the operation should have been refused")
            assert run(self.snapshot()) == before

        @rule(shillings=st.integers(1, 400))
        def deposit(self, shillings: int) -> None:
            request = DepositRequest(
                method="mpesa",
                amount_minor=shillings * 100,
                currency="KES",
                phone="0711222333",
            )
            view = run(
                deposits.start_deposit(
                    platform, self.actor(self.payer.id), self.payer.id, request, self.key()
                )
            )
            _, payload = daraja.stk_callback(str(view.provider_ref))
            run(deposits.handle_stk_callback(platform, CALLBACK_TOKEN, payload))
            run(deposits.handle_stk_callback(platform, CALLBACK_TOKEN, payload))  # a duplicate
            self.available[self.payer.id] += shillings * 100

        @rule(who=st.sampled_from(["payer", "mentor"]), amount=st.integers(1, 60_000))
        def withdraw(self, who: str, amount: int) -> None:
            user_id = self.payer.id if who == "payer" else self.mentor.id
            request = WithdrawRequest(
                amount_minor=amount,
                currency="KES",
                method="bank",
                destination="KCB 0011223344",
            )
            work = payouts.request_withdrawal(
                platform, self.actor(user_id), user_id, request, self.key()
            )
            if amount > self.available[user_id]:
                self.rejected(work)
                return
            payout = run(work)
            self.payouts[payout.id] = (user_id, amount)
            self.available[user_id] -= amount
            self.reserved[user_id] += amount

        @precondition(lambda self: bool(self.payouts))
        @rule(data=st.data())
        def payout(self, data: st.DataObject) -> None:
            payout_id = data.draw(st.sampled_from(sorted(self.payouts)))
            user_id, amount = self.payouts.pop(payout_id)
            admin = CurrentUser(id=uuid.uuid4(), role=Role.ADMIN, session_id=uuid.uuid4())
            run(
                payouts.record_bank_transfer(
                    platform, admin, payout_id, "FT-MACHINE", source_ip="127.0.0.1"
                )
            )
            self.reserved[user_id] -= amount

        @rule(amount=st.integers(1, 60_000))
        def hold(self, amount: int) -> None:
            async def work() -> uuid.UUID:
                async with transaction(pool) as conn:
                    view = await escrow.hold_escrow(
                        conn,
                        settings=settings,
                        now=clock.now(),
                        payer_id=self.payer.id,
                        mentor_id=self.mentor.id,
                        amount_minor=amount,
                        currency="KES",
                        reference="machine",
                        idempotency_key=self.key(),
                    )
                return view.id

            if amount > self.available[self.payer.id]:
                self.rejected(work())
                return
            self.held[run(work())] = amount
            self.available[self.payer.id] -= amount
            self.reserved[self.payer.id] += amount

        def settle(self, escrow_id: uuid.UUID, refund: int) -> None:
            amount = self.held.pop(escrow_id)
            self.reserved[self.payer.id] -= amount
            self.available[self.payer.id] += refund
            net, _ = split_vat(amount - refund, 1_600)
            now_share, held_back, _ = mentor_split(net, 7_000, 1_000)
            self.available[self.mentor.id] += now_share
            self.holdback += held_back

        @precondition(lambda self: bool(self.held))
        @rule(data=st.data())
        def post(self, data: st.DataObject) -> None:
            escrow_id = data.draw(st.sampled_from(sorted(self.held)))

            async def work() -> None:
                async with transaction(pool) as conn:
                    await escrow.release_escrow(conn, escrow_id, settings=settings, now=clock.now())

            run(work())
            self.settle(escrow_id, 0)
            run(work())  # releasing again changes nothing

        @precondition(lambda self: bool(self.held))
        @rule(data=st.data())
        def void(self, data: st.DataObject) -> None:
            escrow_id = data.draw(st.sampled_from(sorted(self.held)))

            async def work() -> None:
                async with transaction(pool) as conn:
                    await escrow.refund_escrow(
                        conn, escrow_id, settings=settings, now=clock.now(), fraction_bps=10_000
                    )

            run(work())
            self.settle(escrow_id, self.held[escrow_id])

        @precondition(lambda self: bool(self.held))
        @rule(data=st.data(), share=st.integers(0, 12_000))
        def refund(self, data: st.DataObject, share: int) -> None:
            escrow_id = data.draw(st.sampled_from(sorted(self.held)))
            amount = self.held[escrow_id]
            refund = amount * share // 10_000

            async def work() -> None:
                async with transaction(pool) as conn:
                    await escrow.refund_escrow(
                        conn, escrow_id, settings=settings, now=clock.now(), amount_minor=refund
                    )

            if refund > amount:
                self.rejected(work())
                return
            run(work())
            self.settle(escrow_id, refund)

        @invariant()
        def ledger_is_sound_and_matches_the_model(self) -> None:
            async def check() -> None:
                async with pool.acquire() as conn:
                    report = await ledger.check_ledger(conn)
                    assert report.problems == []
                    for user_id in self.available:
                        balances = await balances_of(conn, user_id)
                        kes = next(b for b in balances.balances if b.currency == "KES")
                        assert kes.available_minor == self.available[user_id]
                        assert kes.pending_out_minor == self.reserved[user_id]
                        assert kes.available_minor >= 0
                    escrow_account = await conn.fetchval(
                        "SELECT id FROM ledger_accounts WHERE code = $1 AND currency = 'KES'",
                        AccountCode.ESCROW.value,
                    )
                    if escrow_account is not None:
                        held = await conn.fetchval(
                            """SELECT coalesce(sum(amount_minor), 0) FROM escrows
                               WHERE status = 'held' AND payer_id = $1""",
                            self.payer.id,
                        )
                        assert held == sum(self.held.values())

            run(check())

    try:
        run_state_machine_as_test(
            WalletMachine,
            settings=settings_for_machine(),
        )
    finally:
        run(pool.close())
        loop.close()


def settings_for_machine() -> hypothesis_settings:
    return hypothesis_settings(
        max_examples=8,
        stateful_step_count=12,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
