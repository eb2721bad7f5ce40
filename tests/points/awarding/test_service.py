"""Money-tied awards (paid session, referral, first deposit) stay pending until the
refund window closes, then post; a refund voids them, or claws back what already posted."""

from __future__ import annotations

from datetime import timedelta

from dracarys.clock import ManualClock
from dracarys.platform import Platform
from dracarys.points.awarding import service as awarding
from dracarys.points.ledger import service as ledger
from tests.points.conftest import balance_of, entries, ledger_sum, send
from tests.support import events_of


async def _pending(platform: Platform, user) -> int:
    return int(
        await platform.pool.fetchval("SELECT pending FROM points_balances WHERE user_id = $1", user)
    )


async def test_pending_points_post_when_the_window_closes_not_before(
    platform: Platform, clock: ManualClock, user_factory
) -> None:
    user = await user_factory()
    await send(platform, "deposit.completed", user_id=user, deposit_id="d1", first_deposit=True)
    clock.advance(timedelta(days=13))
    assert await awarding.post_due_pending(platform) == 0
    assert (await balance_of(platform.pool, user), await _pending(platform, user)) == (0, 500)
    clock.advance(timedelta(days=1, seconds=1))
    assert await awarding.post_due_pending(platform) == 1
    assert await awarding.post_due_pending(platform) == 0  # posting twice posts once
    assert (await balance_of(platform.pool, user), await _pending(platform, user)) == (500, 0)
    [entry] = await entries(platform.pool, user)
    assert (entry["reason_code"], entry["rule_code"], entry["rule_version"]) == (
        "first_deposit",
        "first_deposit",
        1,
    )


async def test_refund_voids_pending_points_of_that_payment(
    platform: Platform, clock: ManualClock, user_factory
) -> None:
    mentee, mentor, referrer = (
        await user_factory(),
        await user_factory(role="mentor"),
        await user_factory(kyc_level=2),
    )
    await send(
        platform,
        "session.paid",
        session_id="s1",
        mentee_id=mentee,
        mentor_id=mentor,
        amount_minor=500_000,
        currency="KES",
    )
    await send(
        platform,
        "session.paid",
        session_id="s2",
        mentee_id=mentee,
        mentor_id=mentor,
        amount_minor=200_000,
        currency="KES",
    )
    await send(
        platform, "referral.completed", referrer_id=referrer, referee_id=mentee, session_id="s1"
    )
    await send(
        platform,
        "session.refunded",
        session_id="s1",
        mentee_id=mentee,
        amount_minor=500_000,
        currency="KES",
    )
    assert await _pending(platform, mentee) == 100  # only s2 remains
    assert await _pending(platform, referrer) == 0  # the referral rode on s1
    clock.advance(timedelta(days=15))
    await awarding.post_due_pending(platform)
    assert await balance_of(platform.pool, mentee) == 100
    assert await balance_of(platform.pool, referrer) == 0
    statuses = await platform.pool.fetch(
        "SELECT money_ref, status, void_reason FROM points_pending ORDER BY money_ref, status"
    )
    assert sorted((r["money_ref"], r["status"]) for r in statuses) == [
        ("s1", "voided"),
        ("s1", "voided"),
        ("s2", "posted"),
    ]


async def test_refund_issued_voids_a_pending_first_deposit_award(
    platform: Platform, user_factory
) -> None:
    user = await user_factory()
    await send(platform, "deposit.completed", user_id=user, deposit_id="d1", first_deposit=True)
    await send(
        platform, "refund.issued", user_id=user, related_id="d1", amount_minor=100, currency="KES"
    )
    assert await _pending(platform, user) == 0
    # A later re-sent deposit event does not bring the voided award back.
    await send(platform, "deposit.completed", user_id=user, deposit_id="d1", first_deposit=True)
    assert await _pending(platform, user) == 0


async def test_refund_after_posting_claws_back_but_never_below_zero(
    platform: Platform, clock: ManualClock, user_factory
) -> None:
    user = await user_factory()
    await send(platform, "deposit.completed", user_id=user, deposit_id="d1", first_deposit=True)
    clock.advance(timedelta(days=15))
    await awarding.post_due_pending(platform)
    # Spend most of it first.
    async with platform.pool.acquire() as conn, conn.transaction():
        await ledger.adjust(
            conn,
            platform,
            user_id=user,
            change=-450,
            reason_code="redemption",
            related_entity=None,
            key="spend",
            source_ip=None,
        )
    await send(
        platform, "refund.issued", user_id=user, related_id="d1", amount_minor=100, currency="KES"
    )
    await send(
        platform, "refund.issued", user_id=user, related_id="d1", amount_minor=100, currency="KES"
    )
    assert await balance_of(platform.pool, user) == 0
    assert await ledger_sum(platform.pool, user) == 0
    rows = await entries(platform.pool, user)
    assert [e["delta"] for e in rows] == [500, -450, -50]
    # The clawback (once, however often the refund is delivered) reaches the outbox with
    # the points it took, for analytics' fraud rate.
    assert await events_of(platform.pool, "points.clawed_back") == [
        {
            "user_id": str(user),
            "entry_id": str(rows[-1]["id"]),
            "points": 50,
            "reason_code": "refund_clawback",
            # The first deposit earns once per member: the award names no entity.
            "related_entity": None,
        }
    ]


async def test_a_voided_award_gives_its_monthly_cap_room_back(
    platform: Platform, user_factory
) -> None:
    mentee, mentor = await user_factory(), await user_factory(role="mentor")
    # 5% of KES 100,000 = 5,000 points: the whole monthly cap in one session.
    await send(
        platform,
        "session.paid",
        session_id="big",
        mentee_id=mentee,
        mentor_id=mentor,
        amount_minor=10_000_000,
        currency="KES",
    )
    await send(
        platform,
        "session.paid",
        session_id="next",
        mentee_id=mentee,
        mentor_id=mentor,
        amount_minor=200_000,
        currency="KES",
    )
    assert await _pending(platform, mentee) == 5_000  # "next" was capped
    await send(
        platform,
        "session.refunded",
        session_id="big",
        mentee_id=mentee,
        amount_minor=10_000_000,
        currency="KES",
    )
    await send(
        platform,
        "session.paid",
        session_id="later",
        mentee_id=mentee,
        mentor_id=mentor,
        amount_minor=200_000,
        currency="KES",
    )
    assert await _pending(platform, mentee) == 100
