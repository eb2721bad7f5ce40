"""LTV against CAC by weekly cohort, session fill rate and utilisation, mentor response
time, the points fraud rate and payout latency, over a small history of their own
(below), each expected number worked out by hand in the comments. The events carry the
payloads their producers emit (mentorship's `slot.offered` and `session.booked`, social's
`affiliate.commission_accrued`, the wallet's `promo.redeemed`, `withdrawal.requested` and
payouts, points' awards, chat's `mentor.responded`) and reach the stream through the
analytics consumer, as in production."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

from dracarys.analytics.kpis.models import KpiReport
from dracarys.analytics.kpis.service import kpi_report
from dracarys.analytics.mentors.service import mentor_numbers
from dracarys.clock import ManualClock
from dracarys.identity import Role
from dracarys.outbox import Event
from dracarys.platform import Platform
from tests.analytics.fixture import AS_OF, MENTOR, at, deliver, event
from tests.support import AppClient

A, B, C = (uuid.UUID(int=n) for n in range(201, 204))
SLOT_1, SLOT_2, SLOT_3, UNSEEN_SLOT = (uuid.UUID(int=n) for n in range(301, 305))
P1, P2, P3, P4, P5 = (uuid.UUID(int=n) for n in range(401, 406))


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


def commission(referee: uuid.UUID, when: datetime, amount_minor: int) -> Event:
    return event(
        "affiliate.commission_accrued",
        when,
        commission_id=uuid.uuid4(),
        affiliate_id=MENTOR,
        referee_id=referee,
        payment_id=uuid.uuid4(),
        amount_minor=amount_minor,
        currency="KES",
    )


def promo(user: uuid.UUID, when: datetime, amount_minor: int, currency: str, by: str) -> Event:
    return event(
        "promo.redeemed",
        when,
        user_id=user,
        used_for=f"booking:{uuid.uuid4()}",
        kind="fixed",
        amount_minor=amount_minor,
        currency=currency,
        funded_by=by,
    )


def offered(slot: uuid.UUID, seats: int, minutes: int) -> Event:
    return event(
        "slot.offered",
        at(1, 8),
        slot_id=slot,
        mentor_id=MENTOR,
        session_type_id=uuid.uuid4(),
        starts_at=at(1, 20).isoformat(),
        minutes=minutes,
        seats=seats,
    )


def booked(mentee: uuid.UUID, slot: uuid.UUID | None, minutes: int | None) -> Event:
    sized = {} if slot is None else {"slot_id": slot, "minutes": minutes}
    return event(
        "session.booked",
        at(1, 9),
        session_id=slot or uuid.uuid4(),
        booking_id=uuid.uuid4(),
        mentee_id=mentee,
        mentor_id=MENTOR,
        starts_at=at(1, 20).isoformat(),
        **sized,
    )


def award(user: uuid.UUID, delta: int, reason: str) -> Event:
    return event(
        "points.awarded",
        at(1, 10),
        user_id=user,
        entry_id=str(uuid.uuid4()),
        delta=delta,
        reason_code=reason,
        balance=max(delta, 0),
        related_entity=None,
        context={},
    )


def payout(topic: str, payout_id: uuid.UUID, when: datetime) -> Event:
    extra = {"reason": "closed"} if topic == "payout.failed" else {}
    return event(
        topic,
        when,
        user_id=MENTOR,
        payout_id=payout_id,
        amount_minor=1000,
        currency="KES",
        method="mpesa",
        **extra,
    )


def responded(kind: str, seconds: int) -> Event:
    answered = at(1, 12, 12)
    return event(
        "mentor.responded",
        answered,
        mentor_id=MENTOR,
        mentee_id=A,
        conversation_id=uuid.uuid4(),
        kind=kind,
        requested_at=(answered - timedelta(seconds=seconds)).isoformat(),
        seconds=seconds,
    )


def history() -> list[Event]:
    noon = at(1, 21, 10)
    return [
        # Cohorts (weeks start on Monday): A and B in the week of 5 Jan, C of 12 Jan.
        event("user.signed_up", at(1, 5, 10), user_id=A),
        event("user.signed_up", at(1, 7), user_id=B),
        event("user.signed_up", at(1, 13), user_id=C),
        captured(A, at(1, 6), 10_000),
        captured(B, at(1, 8), 5_000),
        captured(C, at(1, 14), 4_000),
        commission(A, at(1, 6), 1_000),
        commission(C, at(1, 14), 600),
        promo(A, at(1, 6), 500, "KES", "promo"),
        promo(A, at(1, 6), 100, "USD", "promo"),
        promo(B, at(1, 8), 300, "KES", "points"),
        promo(C, at(1, 14), 200, "KES", "promo"),
        # Slots: three seats of 60 minutes, one of 30, one of 45 nobody booked.
        offered(SLOT_1, 3, 60),
        offered(SLOT_2, 1, 30),
        offered(SLOT_3, 1, 45),
        booked(A, SLOT_1, 60),
        booked(B, SLOT_1, 60),
        booked(C, SLOT_2, 30),
        booked(C, UNSEEN_SLOT, 60),
        booked(A, None, None),
        # Points: 100 and 300 issued; 50 clawed back, 20 expired.
        award(A, 100, "session"),
        award(B, 300, "lesson"),
        award(A, -50, "refund_clawback"),
        award(B, -20, "expired"),
        # Payouts: P1 paid in 2 minutes, P2 in an hour, P3 in 10 minutes; P4 failed; P5
        # was requested before the stream began.
        *(payout("withdrawal.requested", p, noon) for p in (P1, P2, P3, P4)),
        payout("payout.completed", P1, noon + timedelta(minutes=2)),
        payout("payout.completed", P2, noon + timedelta(hours=1)),
        payout("payout.completed", P3, noon + timedelta(minutes=10)),
        payout("payout.failed", P4, noon + timedelta(minutes=5)),
        payout("payout.completed", P5, noon),
        # The mentor answered three message requests and two messages.
        *(responded("message_request", s) for s in (1_800, 60, 7_200)),
        *(responded("message", s) for s in (300, 100)),
    ]


async def report(platform: Platform, clock: ManualClock) -> KpiReport:
    await deliver(platform, history())
    clock.set(AS_OF)
    return await kpi_report(platform)


async def test_ltv_and_cac_by_weekly_cohort_count_commissions_and_given_promotions(
    platform: Platform, clock: ManualClock
) -> None:
    kpis = await report(platform, clock)

    rows = [
        (
            r.week,
            r.currency,
            r.members,
            r.paid_minor,
            r.ltv_minor,
            r.commission_minor,
            r.promo_minor,
            r.cac_minor,
            r.ltv_to_cac,
        )
        for r in kpis.acquisition
    ]
    assert rows == [
        # Week of 5 Jan, A and B: paid 10,000 + 5,000 = 15,000, LTV 7,500; commission
        # 1,000 (A's); promotions 500 (A's; B's code was bought with points, no cost);
        # CAC (1,000 + 500) / 2 = 750; 7,500 / 750 = 10.
        (date(2026, 1, 5), "KES", 2, 15_000, 7_500, 1_000, 500, 750, 10.0),
        # The same cohort in USD: nothing paid, A's 100 USD promotion: CAC 100 / 2 = 50.
        (date(2026, 1, 5), "USD", 2, 0, 0, 0, 100, 50, 0.0),
        # Week of 12 Jan, C: paid 4,000; 600 commission and 200 promotion: CAC 800, 5x.
        (date(2026, 1, 12), "KES", 1, 4_000, 4_000, 600, 200, 800, 5.0),
    ]


async def test_fill_rate_and_utilisation_count_booked_seats_and_minutes_of_offered_slots(
    platform: Platform, clock: ManualClock
) -> None:
    sessions = (await report(platform, clock)).sessions

    # Offered: 3 slots, 3 + 1 + 1 = 5 seats, 3x60 + 30 + 45 = 255 seat minutes. Booked of
    # them: two seats of slot 1 and slot 2's (the booking of a slot never offered in the
    # stream and the one without a slot are left out) = 3 seats, 60 + 60 + 30 = 150 min.
    assert (
        sessions.slots_offered,
        sessions.seats_offered,
        sessions.seats_booked,
        sessions.minutes_offered,
        sessions.minutes_booked,
    ) == (3, 5, 3, 255, 150)
    assert sessions.fill_rate == 3 / 5
    assert sessions.utilisation == 150 / 255


async def test_mentor_response_time_per_kind_and_the_mentors_own_numbers(
    platform: Platform, clock: ManualClock
) -> None:
    kpis = await report(platform, clock)

    # Message requests: 60, 1,800, 7,200 s: median 1,800, p95 (position 1.9 up) 7,200.
    # Messages: 100 and 300: median 200, p95 (position 0.95 up) 300.
    assert [(r.kind, r.answers, r.median_seconds, r.p95_seconds) for r in kpis.response_times] == [
        ("message", 2, 200.0, 300),
        ("message_request", 3, 1_800.0, 7_200),
    ]
    # The mentor sees the same of their own, and their slots' fill: 3 of 5 seats (the
    # booking of a slot never offered is left out).
    own = await mentor_numbers(platform, MENTOR)
    assert (own.seats_offered, own.seats_booked, own.fill_rate) == (5, 3, 0.6)
    assert [(r.kind, r.median_seconds) for r in own.response_times] == [
        ("message", 200.0),
        ("message_request", 1_800.0),
    ]


async def test_fraud_rate_and_payout_latency(platform: Platform, clock: ManualClock) -> None:
    kpis = await report(platform, clock)

    # Issued 100 + 300 = 400; reversed 50 (the clawback; expiry is no fraud): 50 / 400.
    assert (kpis.points.issued, kpis.points.reversed) == (400, 50)
    assert kpis.points.fraud_rate == 0.125
    # Voided still counts every negative award: 50 + 20.
    assert kpis.points.voided == 70
    # Completed P1, P2, P3, P5 = 4, failed P4 = 1: accuracy 4 / 5. Timed (requested and
    # completed in the stream): P1 120 s, P3 600 s, P2 3,600 s; median 600; the 95 %
    # position of three, (3 - 1) x 0.95 = 1.9, rounds up to the largest: 3,600.
    payouts = kpis.payouts
    assert (payouts.completed, payouts.failed, payouts.accuracy) == (4, 1, 0.8)
    assert (payouts.timed, payouts.latency_median_seconds, payouts.latency_p95_seconds) == (
        3,
        600.0,
        3600,
    )


async def test_the_kpi_api_carries_the_new_figures(
    platform: Platform, clock: ManualClock, client: AppClient, make_user
) -> None:
    await deliver(platform, history())
    clock.set(AS_OF)
    admin = await make_user(role=Role.ADMIN)

    body = (await client.get("/api/v1/analytics/kpis", headers=admin.headers)).json()

    assert body["sessions"]["fill_rate"] == 0.6
    assert body["payouts"]["latency_p95_seconds"] == 3600
    assert [r["cac_minor"] for r in body["acquisition"]] == [750, 50, 800]


async def test_the_kpis_csv_has_ltv_against_cac_by_cohort_and_the_fraud_rate(
    platform: Platform, clock: ManualClock, client: AppClient, make_user
) -> None:
    await deliver(platform, history())
    clock.set(AS_OF)
    admin = await make_user(role=Role.ADMIN)

    response = await client.get("/api/v1/analytics/kpis.csv", headers=admin.headers)

    assert response.status_code == 200, response.text
    lines = response.text.splitlines()
    # 50 reversed of 400 issued (see the fraud rate above).
    assert {"points_reversed,50", "points_fraud_rate,0.1250"} <= set(lines)
    header = "week,currency,members,paid_minor,ltv_minor,commission_minor,promo_minor,"
    start = lines.index(header + "cac_minor,ltv_to_cac")
    # The rows of the LTV/CAC test above, worked out there.
    assert lines[start + 1 :] == [
        "2026-01-05,KES,2,15000,7500,1000,500,750,10.0",
        "2026-01-05,USD,2,0,0,0,100,50,0.0",
        "2026-01-12,KES,1,4000,4000,600,200,800,5.0",
    ]
