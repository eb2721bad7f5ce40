"""A small hand-checked event history for the analytics tests: five members who sign up
over three weeks, book, pay, come back (or not), enrol and earn certificates, are awarded
and redeem points; a mentor is paid out. `EXPECTED_*` in the tests are worked out by hand
from the timeline below, in the tests' comments."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg
from taskiq import InMemoryBroker

from dracarys.outbox import Event, consume_batch
from dracarys.platform import Platform
from workers.broker import Delivery
from workers.consumers import CONSUMERS
from workers.tasks import handlers_of

AS_OF = datetime(2026, 2, 20, tzinfo=UTC)

U1, U2, U3, U4, U5, U6, MENTOR = (uuid.UUID(int=n) for n in range(1, 8))
PROGRAM_P, PROGRAM_Q = str(uuid.UUID(int=101)), str(uuid.UUID(int=102))


def at(month: int, day: int, hour: int = 0) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def event(topic: str, when: datetime, **payload: Any) -> Event:
    return Event(
        id=uuid.uuid4(),
        topic=topic,
        payload={k: str(v) if isinstance(v, uuid.UUID) else v for k, v in payload.items()},
        created_at=when,
    )


def paid(user: uuid.UUID, when: datetime) -> Event:
    return event(
        "session.paid",
        when,
        session_id=uuid.uuid4(),
        mentee_id=user,
        mentor_id=MENTOR,
        amount_minor=5000,
        currency="KES",
    )


def captured(user: uuid.UUID, when: datetime, amount_minor: int) -> Event:
    return event(
        "payment.captured",
        when,
        user_id=user,
        charge_id=uuid.uuid4(),
        purpose="session",
        reference="r",
        amount_minor=amount_minor,
        currency="KES",
        escrow_id=None,
    )


def booked(user: uuid.UUID, when: datetime) -> Event:
    return event(
        "session.booked",
        when,
        session_id=uuid.uuid4(),
        booking_id=uuid.uuid4(),
        mentee_id=user,
        mentor_id=MENTOR,
        starts_at=when.isoformat(),
    )


def history() -> list[Event]:
    """The timeline (weeks start on Monday: 5 Jan, 12 Jan and 9 Feb 2026 are Mondays)."""
    return [
        # u1: week of 5 Jan; books and pays the next day, back on 20 Jan (day 15).
        event("user.signed_up", at(1, 5, 10), user_id=U1),
        booked(U1, at(1, 5, 12)),
        paid(U1, at(1, 6)),
        captured(U1, at(1, 6), 5000),
        event("user.logged_in", at(1, 20), user_id=U1, source_ip="10.0.0.1"),
        # u2: week of 5 Jan; seen once the next day, never pays.
        event("user.signed_up", at(1, 7, 9), user_id=U2),
        event("user.logged_in", at(1, 8), user_id=U2, source_ip="10.0.0.2"),
        # u3: Sunday 11 Jan (still the week of 5 Jan); books the next day, pays on 15 Feb.
        event("user.signed_up", at(1, 11, 23), user_id=U3),
        booked(U3, at(1, 12)),
        paid(U3, at(2, 15)),
        captured(U3, at(2, 15), 3000),
        # u4: week of 12 Jan; pays at 09:00 before booking on 13 Jan, back 19 Jan 09:00.
        event("user.signed_up", at(1, 12, 8), user_id=U4),
        paid(U4, at(1, 12, 9)),
        booked(U4, at(1, 13, 10)),
        event("user.logged_in", at(1, 19, 9), user_id=U4, source_ip="10.0.0.4"),
        # u5: Sunday 15 Feb (week of 9 Feb); pays the next day.
        event("user.signed_up", at(2, 15), user_id=U5),
        paid(U5, at(2, 16)),
        # u6: signed up before the stream began (no sign-up event), pays.
        paid(U6, at(1, 9)),
        # Courses: u1 joins program P twice (two cohorts) and earns its certificate; u2
        # joins P and earns a certificate of program Q.
        event(
            "cohort.joined",
            at(1, 6),
            user_id=U1,
            cohort_id=uuid.uuid4(),
            program_id=PROGRAM_P,
            amount_minor=0,
            currency="KES",
        ),
        event(
            "cohort.joined",
            at(1, 7),
            user_id=U1,
            cohort_id=uuid.uuid4(),
            program_id=PROGRAM_P,
            amount_minor=0,
            currency="KES",
        ),
        event(
            "certificate.granted",
            at(1, 10),
            user_id=U1,
            program_id=PROGRAM_P,
            certificate_id=uuid.uuid4(),
            verification_url="/c/1",
        ),
        event(
            "cohort.joined",
            at(1, 7, 10),
            user_id=U2,
            cohort_id=uuid.uuid4(),
            program_id=PROGRAM_P,
            amount_minor=0,
            currency="KES",
        ),
        event(
            "certificate.granted",
            at(1, 8),
            user_id=U2,
            program_id=PROGRAM_Q,
            certificate_id=uuid.uuid4(),
            verification_url="/c/2",
        ),
        # Points: u1 +100 then -20 voided, u2 +50; u1 redeems 30.
        event(
            "points.awarded",
            at(1, 6),
            user_id=U1,
            entry_id=1,
            delta=100,
            reason_code="session",
            balance=100,
            related_entity=None,
            context={},
        ),
        event(
            "points.awarded",
            at(1, 7),
            user_id=U1,
            entry_id=2,
            delta=-20,
            reason_code="void",
            balance=80,
            related_entity=None,
            context={},
        ),
        event(
            "points.awarded",
            at(1, 8),
            user_id=U2,
            entry_id=3,
            delta=50,
            reason_code="lesson",
            balance=50,
            related_entity=None,
            context={},
        ),
        event(
            "points.redeemed",
            at(1, 9),
            user_id=U1,
            redemption_id=uuid.uuid4(),
            target="discount",
            target_ref=None,
            points=30,
            value_minor=300,
            currency="KES",
        ),
        # Payouts to the mentor: two paid, one failed.
        *[
            event(
                topic,
                at(1, 16 + n),
                user_id=MENTOR,
                payout_id=uuid.uuid4(),
                amount_minor=1000,
                currency="KES",
                **extra,
            )
            for n, (topic, extra) in enumerate(
                [
                    ("payout.completed", {"method": "mpesa"}),
                    ("payout.completed", {"method": "mpesa"}),
                    ("payout.failed", {"reason": "closed"}),
                ]
            )
        ],
        # Ratings after sessions: 4, 5 and 3, recommending Dracarys 10, 9 and 3 of 10.
        *[
            event(
                "session.rated",
                when,
                session_id=uuid.uuid4(),
                rater_id=rater,
                rated_id=MENTOR,
                rating=rating,
                recommend=recommend,
            )
            for when, rater, rating, recommend in [
                (at(1, 6, 5), U1, 4, 10),
                (at(1, 12, 5), U3, 5, 9),
                (at(1, 15), U4, 3, 3),
            ]
        ],
        # Not about one person, and not analytics' topic at all.
        event(
            "session.rescheduled",
            at(1, 14),
            session_id=uuid.uuid4(),
            starts_at="2026-01-20T10:00:00Z",
            ends_at="2026-01-20T11:00:00Z",
        ),
        event("email.send", at(1, 14), message_id=uuid.uuid4()),
    ]


ANALYTICS = next(c for c in CONSUMERS if c.name == "analytics.events")


async def deliver(platform: Platform, events: Sequence[Event]) -> int:
    """Hand events to the analytics consumer the way the workers do; returns how many it
    had not processed before."""
    handler, batch_handler = handlers_of(
        ANALYTICS, Delivery(platform=platform, broker=InMemoryBroker())
    )
    batch = [e for e in events if e.topic in ANALYTICS.topics]
    return await consume_batch(
        platform.pool, ANALYTICS.name, batch, handler, batch_handler=batch_handler
    )


async def stream_rows(pool: asyncpg.Pool) -> int:
    value = await pool.fetchval("SELECT count(*) FROM analytics_events")
    return int(value)
