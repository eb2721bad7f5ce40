"""Property: any sequence of bookings (1:1 and group), mentee cancellations, clock moves and
completions keeps every wallet equal to a simple model of the refund policy, never seats
two live sessions of one mentor at once, and leaves the ledger balanced."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from dracarys.clock import ManualClock
from dracarys.db import Database
from dracarys.db.pool import create_pool
from dracarys.errors import DomainError
from dracarys.identity import CurrentUser, Role
from dracarys.mentorship.bookings.models import BookingInput
from dracarys.mentorship.bookings.service import book_session, cancel_booking
from dracarys.mentorship.schedules.models import (
    ScheduleInput,
    SessionKind,
    SessionTypeInput,
    WeeklyHours,
)
from dracarys.mentorship.schedules.service import create_schedule, create_session_type
from dracarys.mentorship.sessions.service import complete_session
from dracarys.platform import Platform
from dracarys.settings import Settings
from dracarys.wallet.ledger.service import check_ledger
from tests.support import balance, create_user, fund_wallet, vet

SLOTS = [datetime(2026, 1, 7, 6 + h, 0, tzinfo=UTC) for h in range(3)]
PRICE = 90_001  # odd, so the late refund rounds
FUNDS = 1_000_000
MENTEES = 3
GROUP_CAPACITY = 2

operations = st.lists(
    st.one_of(
        st.tuples(
            st.just("book"),
            st.integers(0, MENTEES - 1),
            st.integers(0, len(SLOTS) - 1),
            st.sampled_from(["one_on_one", "group"]),
        ),
        st.tuples(st.just("cancel"), st.integers(0, MENTEES - 1), st.integers(0, len(SLOTS) - 1)),
        st.tuples(st.just("advance"), st.sampled_from([3, 10, 20])),
        st.tuples(st.just("complete"), st.integers(0, len(SLOTS) - 1)),
    ),
    min_size=1,
    max_size=10,
)


@dataclass
class Model:
    posted: list[int] = field(default_factory=lambda: [FUNDS] * MENTEES)
    pending: list[int] = field(default_factory=lambda: [0] * MENTEES)
    # slot → (kind, session id, {mentee: booking id}, completed)
    sessions: dict[int, tuple[str, uuid.UUID, dict[int, uuid.UUID], bool]] = field(
        default_factory=dict
    )


async def _scenario(database_url: str, app_settings: Settings, ops: list[tuple[Any, ...]]) -> None:
    clock = ManualClock()
    pool = await create_pool(database_url, min_size=1, max_size=4)
    try:
        platform = Platform(
            settings=app_settings, database=Database(pool=pool, dsn=database_url), clock=clock
        )
        mentor_user = await create_user(pool, app_settings, clock, role=Role.MENTOR, kyc_level=2)
        mentor = CurrentUser(id=mentor_user.id, role=Role.MENTOR, session_id=uuid.uuid4())
        await pool.execute(
            "INSERT INTO mentor_profiles (user_id, updated_at) VALUES ($1, now())", mentor.id
        )
        await vet(platform, mentor.id)
        await create_schedule(
            platform,
            mentor,
            ScheduleInput(
                name="hours",
                timezone="EAT",
                weekly_hours=[WeeklyHours(weekday=2, start="09:00", end="12:00")],
            ),
        )
        types = {
            kind: (
                await create_session_type(
                    platform,
                    mentor,
                    SessionTypeInput(
                        title=kind,
                        kind=SessionKind(kind),
                        duration_minutes=60,
                        price_minor=PRICE,
                        capacity=capacity,
                    ),
                )
            ).id
            for kind, capacity in (("one_on_one", 1), ("group", GROUP_CAPACITY))
        }
        mentees = []
        for _ in range(MENTEES):
            user = await create_user(pool, app_settings, clock)
            await fund_wallet(pool, user.id, "KES", FUNDS, clock.now())
            mentees.append(CurrentUser(id=user.id, role=Role.MENTEE, session_id=uuid.uuid4()))
        model = Model()

        for op in ops:
            now = clock.now()
            if op[0] == "advance":
                clock.advance(timedelta(hours=op[1]))
            elif op[0] == "book":
                _, who, slot, kind = op
                live = model.sessions.get(slot)
                expect = now + timedelta(minutes=60) <= SLOTS[slot] and (
                    live is None
                    or (
                        kind == "group"
                        and live[0] == "group"
                        and not live[3]
                        and who not in live[2]
                        and len(live[2]) < GROUP_CAPACITY
                    )
                )
                try:
                    booking = await book_session(
                        platform,
                        mentees[who],
                        BookingInput(
                            session_type_id=types[kind],
                            starts_at=SLOTS[slot],
                        ),
                        f"k-{uuid.uuid4()}",
                    )
                except DomainError:
                    assert not expect, op
                    continue
                assert expect, op
                if live is None:
                    live = (kind, booking.session.id, {}, False)
                    model.sessions[slot] = live
                live[2][who] = booking.id
                model.pending[who] += PRICE
            elif op[0] == "cancel":
                _, who, slot = op
                live = model.sessions.get(slot)
                if live is None or who not in live[2] or live[3]:
                    continue
                try:
                    cancelled = await cancel_booking(platform, mentees[who], live[2][who])
                except DomainError:
                    assert now >= SLOTS[slot], op
                    continue
                assert now < SLOTS[slot], op
                early = SLOTS[slot] - now >= timedelta(hours=24)
                refund = PRICE if early else PRICE * 5_000 // 10_000
                assert cancelled.refunded_minor == refund
                model.pending[who] -= PRICE
                model.posted[who] -= PRICE - refund
                del live[2][who]
                if not live[2]:
                    del model.sessions[slot]
            elif op[0] == "complete":
                live = model.sessions.get(op[1])
                if live is None or live[3]:
                    continue
                try:
                    await complete_session(platform, mentor, live[1])
                except DomainError:
                    assert now < SLOTS[op[1]] + timedelta(hours=1), op
                    continue
                model.sessions[op[1]] = (live[0], live[1], live[2], True)
                for who in live[2]:
                    model.pending[who] -= PRICE
                    model.posted[who] -= PRICE

            for i, mentee in enumerate(mentees):
                assert await balance(pool, mentee.id) == (
                    model.posted[i] - model.pending[i],
                    model.posted[i],
                ), (op, i)
        overlapping = await pool.fetchval(
            """SELECT count(*) FROM mentor_sessions a JOIN mentor_sessions b
                 ON a.mentor_id = b.mentor_id AND a.id < b.id
                WHERE a.mentor_id = $1 AND a.status <> 'cancelled' AND b.status <> 'cancelled'
                  AND tstzrange(a.starts_at, a.ends_at) && tstzrange(b.starts_at, b.ends_at)""",
            mentor.id,
        )
        assert overlapping == 0
        async with pool.acquire() as conn:
            assert (await check_ledger(conn)).ok
    finally:
        await pool.close()


@hypothesis_settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=operations)
def test_wallets_follow_the_refund_policy_model_under_any_booking_sequence(
    database_url: str, settings: Settings, ops: list[tuple[Any, ...]]
) -> None:
    asyncio.run(_scenario(database_url, settings, ops))
