"""A hypothesis state machine over award / redeem / expire / refund / post-pending on a
real database: after every step each balance equals the sum of its ledger entries, the
balance_after chain is unbroken, pending totals match pending rows, nothing is negative."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import timedelta
from typing import Any

import msgspec
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from dracarys.clock import ManualClock
from dracarys.db import Database, transaction
from dracarys.db.pool import create_pool
from dracarys.errors import Conflict
from dracarys.platform import Platform
from dracarys.points import reconcile
from dracarys.points.awarding import service as awarding
from dracarys.points.expiry import service as expiry
from dracarys.points.models import Award
from dracarys.points.redemption import service as redemption
from dracarys.points.redemption.models import ConvertPointsInput, Target
from dracarys.points.reports import store as reports_store
from dracarys.points.reports.models import LedgerChecks
from tests.conftest import make_settings
from tests.points.conftest import new_user

RULES = ["lesson_completed", "assessment_passed", "social_share", "social_follow", "email_click"]


class PointsMachine(RuleBasedStateMachine):
    database_url: str = ""
    tmp_path: Any = None

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.clock = ManualClock()
        settings_ = make_settings(self.database_url, self.tmp_path)
        pool = self.loop.run_until_complete(create_pool(self.database_url, min_size=1, max_size=4))
        self.platform = Platform(
            settings=msgspec.structs.replace(settings_, points_rules_cache_s=0),
            database=Database(pool=pool, dsn=self.database_url),
            clock=self.clock,
        )
        self.users: list[uuid.UUID] = []
        self.deposits: list[str] = []

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    @initialize()
    def make_users(self) -> None:
        for _ in range(2):
            user = self.run(new_user(self.platform.pool, self.platform.settings, kyc_level=2))
            self.users.append(user)

    @rule(who=st.integers(0, 1), rule_code=st.sampled_from(RULES), entity=st.integers(0, 6))
    def award(self, who: int, rule_code: str, entity: int) -> None:
        async def work() -> None:
            async with transaction(self.platform.pool) as conn:
                await awarding.award(
                    conn,
                    self.platform,
                    Award(
                        user_id=self.users[who], rule_code=rule_code, related_entity=f"e{entity}"
                    ),
                )

        self.run(work())

    @rule(who=st.integers(0, 1), points=st.integers(1, 400))
    def redeem(self, who: int, points: int) -> None:
        body = ConvertPointsInput(points=points, target=Target.DISCOUNT)
        with contextlib.suppress(Conflict):  # not enough points: refused whole
            self.run(
                redemption.convert_points(
                    self.platform,
                    self.users[who],
                    body,
                    None,
                    idempotency_key=f"key-{uuid.uuid4()}",
                )
            )

    @rule(who=st.integers(0, 1))
    def deposit(self, who: int) -> None:
        deposit_id = f"d{len(self.deposits)}"
        self.deposits.append(deposit_id)

        async def work() -> None:
            async with transaction(self.platform.pool) as conn:
                await awarding.award(
                    conn,
                    self.platform,
                    Award(user_id=self.users[who], rule_code="first_deposit", money_ref=deposit_id),
                )

        self.run(work())

    @precondition(lambda self: bool(self.deposits))
    @rule(index=st.integers(0, 20))
    def refund(self, index: int) -> None:
        deposit_id = self.deposits[index % len(self.deposits)]

        async def work() -> None:
            async with transaction(self.platform.pool) as conn:
                await awarding.void_for_refund(conn, self.platform, deposit_id, "refund.issued")

        self.run(work())

    @rule(days=st.integers(1, 200))
    def time_passes_and_jobs_run(self, days: int) -> None:
        self.clock.advance(timedelta(days=days))
        self.run(awarding.post_due_pending(self.platform))
        self.run(expiry.expire_points(self.platform))

    @invariant()
    def balances_equal_ledger_sums_and_are_not_negative(self) -> None:
        if not self.users:
            return
        rows = self.run(
            self.platform.pool.fetch(
                """SELECT u.id, coalesce(b.balance, 0) AS balance,
                      (SELECT coalesce(sum(delta), 0) FROM points_ledger l
                       WHERE l.user_id = u.id) AS total
               FROM users u LEFT JOIN points_balances b ON b.user_id = u.id"""
            )
        )
        for r in rows:
            assert r["balance"] == r["total"]
            assert r["balance"] >= 0

        async def checks() -> LedgerChecks:
            async with self.platform.pool.acquire() as conn:
                return await reports_store.ledger_checks(conn)

        found = self.run(checks())
        assert found == LedgerChecks(
            balance_mismatches=[], chain_breaks=0, negative_balances=0, pending_mismatches=0
        )

    def teardown(self) -> None:
        report = self.run(reconcile(self.platform))
        assert report["consistent"]
        self.run(self.platform.pool.close())
        self.loop.close()


def test_points_state_machine_keeps_balance_equal_to_entries(
    database_url: str, tmp_path: Any
) -> None:
    PointsMachine.database_url = database_url
    PointsMachine.tmp_path = tmp_path
    machine = PointsMachine.TestCase
    machine.settings = settings(
        max_examples=12,
        stateful_step_count=25,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    machine().runTest()
