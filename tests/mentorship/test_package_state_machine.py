"""A hypothesis state machine over buying packages, booking from them, cancelling (in time
and late, by the mentee or the mentor) and closing, run against the real services and
database: after every step the ledger's invariants hold, every session's share is where
a simple model says (held in its escrow, released, or back in the wallet), the mentee's
wallet matches the model, and a refused operation changes nothing at all."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from dracarys.clock import ManualClock
from dracarys.db import Database
from dracarys.db.pool import create_pool
from dracarys.errors import DomainError
from dracarys.identity import CurrentUser, Role
from dracarys.mentorship.bookings import service as bookings
from dracarys.mentorship.bookings.models import BookingInput
from dracarys.mentorship.packages import service as packages
from dracarys.mentorship.packages.models import PackageInput, PurchaseInput
from dracarys.mentorship.schedules.models import (
    ScheduleInput,
    SessionKind,
    SessionTypeInput,
    WeeklyHours,
)
from dracarys.mentorship.schedules.service import create_schedule, create_session_type
from dracarys.platform import Platform
from dracarys.settings import Settings
from dracarys.wallet.balances.service import balances_of
from dracarys.wallet.ledger import service as ledger
from tests.support import create_user, fund_wallet

T = TypeVar("T")
MONDAY_9 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
NOW = MONDAY_9 + timedelta(hours=3)
# Open 09:00–12:00 UTC on weekdays; it is Monday noon: Tuesday's slots start within 24
# hours (a cancellation is late), Wednesday's and Thursday's more than a day away.
SLOTS = [MONDAY_9 + timedelta(days=day, hours=hour) for day in (1, 2, 3) for hour in (0, 1, 2)]
PRICES = (500_000, 300_001)  # three sessions each; the second splits unevenly
FUNDS = 1_200_000
_SNAPSHOT = (
    "SELECT (SELECT count(*) FROM package_purchases), (SELECT count(*) FROM package_credits),"
    " (SELECT count(*) FROM session_bookings), (SELECT count(*) FROM escrows),"
    " (SELECT count(*) FROM ledger_transfers), (SELECT count(*) FROM outbox),"
    " (SELECT string_agg(status || refunded_minor, ',' ORDER BY purchase_id, position)"
    "  FROM package_credits)"
)


@dataclass
class Credit:
    amount: int
    status: str = "available"
    refunded: int = 0


@dataclass
class Booked:
    purchase_id: uuid.UUID
    position: int
    slot: datetime
    live: bool = True


def test_packages_keep_every_money_invariant_and_refusals_change_nothing(
    settings: Settings, database_url: str
) -> None:
    loop = asyncio.new_event_loop()
    pool = loop.run_until_complete(create_pool(database_url, min_size=1, max_size=4))
    clock = ManualClock(NOW)
    platform = Platform(
        settings=settings, database=Database(pool=pool, dsn=database_url), clock=clock
    )
    keys = itertools.count()
    late_bps = settings.mentorship_late_refund_bps

    def run(work: Awaitable[T]) -> T:
        return loop.run_until_complete(work)

    def actor(user: Any) -> CurrentUser:
        return CurrentUser(id=user.id, role=user.role, session_id=user.session_id)

    class PackageMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.mentee = run(create_user(pool, settings, clock))
            self.mentor = run(create_user(pool, settings, clock, role=Role.MENTOR, kyc_level=2))
            run(fund_wallet(pool, self.mentee.id, "KES", FUNDS, clock.now()))
            mentor = actor(self.mentor)
            schedule = run(
                create_schedule(
                    platform,
                    mentor,
                    ScheduleInput(
                        name="Mornings",
                        timezone="UTC",
                        weekly_hours=[
                            WeeklyHours(weekday=d, start="09:00", end="12:00") for d in range(5)
                        ],
                    ),
                )
            )
            self.type_id = run(
                create_session_type(
                    platform,
                    mentor,
                    SessionTypeInput(
                        title="Review",
                        kind=SessionKind.ONE_ON_ONE,
                        duration_minutes=60,
                        price_minor=200_000,
                        schedule_id=schedule.id,
                        min_notice_minutes=0,
                    ),
                )
            ).id
            self.offers = [
                run(
                    packages.create_package(
                        platform,
                        mentor,
                        PackageInput(
                            session_type_id=self.type_id,
                            title=f"Three for {price}",
                            sessions=3,
                            price_minor=price,
                        ),
                    )
                ).id
                for price in PRICES
            ]
            self.available = FUNDS
            self.purchases: dict[uuid.UUID, list[Credit]] = {}
            self.closed: set[uuid.UUID] = set()
            self.bookings: dict[uuid.UUID, Booked] = {}

        def key(self) -> str:
            return f"machine-key-{next(keys):06d}"

        async def snapshot(self) -> tuple[Any, ...]:
            async with pool.acquire() as conn:
                return tuple(await conn.fetchrow(_SNAPSHOT))

        def refused(self, work: Awaitable[Any]) -> None:
            before = run(self.snapshot())
            try:
                run(work)
            except DomainError:
                pass
            else:
                raise AssertionError("the operation should have been refused")
            assert run(self.snapshot()) == before

        @rule(which=st.sampled_from([0, 1]))
        def buy(self, which: int) -> None:
            work = packages.buy_package(
                platform, actor(self.mentee), self.offers[which], PurchaseInput(), self.key()
            )
            if PRICES[which] > self.available:
                self.refused(work)
                return
            bought = run(work)
            self.available -= PRICES[which]
            self.purchases[bought.id] = [Credit(c.amount_minor) for c in bought.credits]
            assert sum(c.amount for c in self.purchases[bought.id]) == PRICES[which]

        @rule(data=st.data(), slot=st.sampled_from(SLOTS))
        def book(self, data: st.DataObject, slot: datetime) -> None:
            if not self.purchases:
                return
            purchase_id = data.draw(st.sampled_from(sorted(self.purchases)))
            credits = self.purchases[purchase_id]
            taken = {b.slot for b in self.bookings.values() if b.live}
            free = next((i for i, c in enumerate(credits) if c.status == "available"), None)
            work = bookings.book_session(
                platform,
                actor(self.mentee),
                BookingInput(
                    session_type_id=self.type_id,
                    starts_at=slot,
                    package_purchase_id=purchase_id,
                ),
                self.key(),
            )
            if purchase_id in self.closed or free is None or slot in taken:
                self.refused(work)
                return
            booking = run(work)
            assert booking.amount_minor == credits[free].amount
            credits[free].status = "booked"
            self.bookings[booking.id] = Booked(purchase_id, free, slot)

        @rule(data=st.data(), by_mentor=st.booleans())
        def cancel(self, data: st.DataObject, by_mentor: bool) -> None:
            live = sorted(b for b, v in self.bookings.items() if v.live)
            if not live:
                return
            booking_id = data.draw(st.sampled_from(live))
            booked = self.bookings[booking_id]
            credit = self.purchases[booked.purchase_id][booked.position]
            who = self.mentor if by_mentor else self.mentee
            run(bookings.cancel_booking(platform, actor(who), booking_id))
            booked.live = False
            in_time = by_mentor or booked.slot - clock.now() >= timedelta(hours=24)
            if in_time and booked.purchase_id not in self.closed:
                credit.status = "available"
            elif in_time:
                credit.status, credit.refunded = "refunded", credit.refunded + credit.amount
                self.available += credit.amount
            else:
                part = credit.amount * late_bps // 10_000
                credit.status, credit.refunded = "spent", credit.refunded + part
                self.available += part

        @rule(data=st.data())
        def close(self, data: st.DataObject) -> None:
            if not self.purchases:
                return
            purchase_id = data.draw(st.sampled_from(sorted(self.purchases)))
            run(packages.close_purchase(platform, actor(self.mentee), purchase_id))
            if purchase_id in self.closed:
                return
            self.closed.add(purchase_id)
            for credit in self.purchases[purchase_id]:
                if credit.status == "available":
                    credit.status, credit.refunded = "refunded", credit.refunded + credit.amount
                    self.available += credit.amount

        @rule()
        def close_someone_elses(self) -> None:
            if self.purchases:
                stranger = CurrentUser(id=uuid.uuid4(), role=Role.MENTEE, session_id=uuid.uuid4())
                self.refused(packages.close_purchase(platform, stranger, sorted(self.purchases)[0]))

        @invariant()
        def money_is_where_the_model_says(self) -> None:
            async def check() -> None:
                async with pool.acquire() as conn:
                    assert (await ledger.check_ledger(conn)).problems == []
                    balances = await balances_of(conn, self.mentee.id)
                    kes = next(b for b in balances.balances if b.currency == "KES")
                    assert kes.available_minor == self.available
                    for purchase_id, credits in self.purchases.items():
                        rows = await conn.fetch(
                            """SELECT c.status, c.amount_minor, c.refunded_minor,
                                      e.status AS escrow, e.refunded_minor AS escrow_refunded
                               FROM package_credits c LEFT JOIN escrows e ON e.id = c.escrow_id
                               WHERE c.purchase_id = $1 ORDER BY c.position""",
                            purchase_id,
                        )
                        assert [r["status"] for r in rows] == [c.status for c in credits]
                        for row, credit in zip(rows, credits, strict=True):
                            assert row["refunded_minor"] == credit.refunded
                            if credit.amount == 0:
                                assert row["escrow"] is None
                            elif credit.status in ("available", "booked"):
                                assert row["escrow"] == "held"
                            else:
                                assert row["escrow_refunded"] == credit.refunded
                        status = await conn.fetchval(
                            "SELECT status FROM package_purchases WHERE id = $1", purchase_id
                        )
                        assert status == ("closed" if purchase_id in self.closed else "active")

            run(check())

    try:
        run_state_machine_as_test(
            PackageMachine,
            settings=hypothesis_settings(
                max_examples=8,
                stateful_step_count=14,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
            ),
        )
    finally:
        run(pool.close())
        loop.close()
