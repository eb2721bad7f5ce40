"""Issue 20 items 1, 3 and 5: every event that matters to a person goes through its
workflow — in-app, e-mail and SMS according to their preferences, held through quiet
hours (never a critical one), low-priority e-mail gathered into one daily digest — and
each notification is written, sent and published once, however often its event is
delivered."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Any

import asyncpg
import pytest

from dracarys.clock import ManualClock
from dracarys.identity import KycRejected
from dracarys.mentorship import SessionBooked
from dracarys.notifications import notify, release_deferred, send_digests
from dracarys.notifications.workflows import LOCKED_CATEGORIES, WORKFLOWS, Channel, Priority
from dracarys.outbox import Event, consume_batch
from dracarys.platform import Platform
from dracarys.points import PointsAwarded
from dracarys.trading import SignalPublished
from dracarys.wallet import PaymentCaptured, PayoutCompleted
from tests.notifications.conftest import (
    deliver,
    event_of,
    live_frames,
    mails,
    messages_on,
    set_timezone,
)

NOON = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


async def _switch(pool: asyncpg.Pool, user_id: uuid.UUID, category: str, channel: str) -> None:
    await pool.execute(
        """INSERT INTO notification_preferences (user_id, category, channel, enabled, updated_at)
           VALUES ($1, $2, $3, false, now())""",
        user_id,
        category,
        channel,
    )


async def _quiet(pool: asyncpg.Pool, user_id: uuid.UUID, starts: time, ends: time) -> None:
    await pool.execute(
        """INSERT INTO notification_quiet_hours (user_id, starts_at, ends_at, updated_at)
           VALUES ($1, $2, $3, now())""",
        user_id,
        starts,
        ends,
    )


async def _inbox(pool: asyncpg.Pool, user_id: uuid.UUID) -> list[str]:
    rows = await pool.fetch(
        "SELECT kind FROM notifications WHERE user_id = $1 AND in_app ORDER BY created_at",
        user_id,
    )
    return [r["kind"] for r in rows]


async def test_a_booking_delivers_in_app_and_email_to_both_according_to_their_preferences(
    platform: Platform, make_user, clock: ManualClock
) -> None:
    clock.set(NOON)
    mentee, mentor = await make_user(), await make_user()
    await _switch(platform.pool, mentor.id, "sessions", "email")  # the mentor wants no e-mail
    booked = SessionBooked(
        session_id=uuid.uuid4(),
        booking_id=uuid.uuid4(),
        mentee_id=mentee.id,
        mentor_id=mentor.id,
        starts_at=NOON + timedelta(days=2),
    )

    assert await deliver(platform, [event_of(platform, booked)]) == 1

    assert await _inbox(platform.pool, mentee.id) == ["session_booked"]
    assert await _inbox(platform.pool, mentor.id) == ["session_booked"]
    assert await mails(platform.pool, mentee.id) == ["notify.session_booked"]
    assert await mails(platform.pool, mentor.id) == []
    [frame] = await live_frames(platform, mentee.id)
    assert frame["kind"] == "session_booked"
    assert "Sunday, 6 December 2026, 12:00 UTC" in frame["body"]


async def test_an_event_delivered_again_writes_sends_and_publishes_nothing_more(
    platform: Platform, make_user
) -> None:
    """The bug this replaces: a retried points.notify batch repeated a live award. Two
    consumers with different names stand for a redelivery processed_events cannot catch
    (a batch re-run one event at a time after a failure)."""
    user = await make_user()
    award = PointsAwarded(
        user_id=str(user.id),
        entry_id=str(uuid.uuid4()),
        delta=10,
        reason_code="lesson_completed",
        balance=10,
        context={"lesson_title": "Risk 101"},
    )
    event = event_of(platform, award)
    receipt = event_of(
        platform,
        PaymentCaptured(
            user_id=user.id,
            charge_id=uuid.uuid4(),
            purpose="session",
            reference="S-1",
            amount_minor=250_000,
            currency="KES",
            escrow_id=None,
        ),
    )

    await deliver(platform, [event, receipt], consumer="first")
    await deliver(platform, [receipt], consumer="second")
    await deliver(platform, [event], consumer="third")

    assert sorted(await _inbox(platform.pool, user.id)) == ["payment_receipt", "points_awarded"]
    assert sorted(await mails(platform.pool, user.id)) == [
        "notify.payment_receipt",
        "points.lesson_completed",
    ]
    frames = await live_frames(platform, user.id)
    assert sorted(f["kind"] for f in frames) == ["payment_receipt", "points_awarded"]
    receipt_frame = next(f for f in frames if f["kind"] == "payment_receipt")
    assert receipt_frame["title"] == "Payment received: KES 2,500.00"


async def test_twenty_concurrent_deliveries_of_one_event_make_one_notification_and_one_frame(
    platform: Platform, make_user
) -> None:
    user = await make_user()
    event = event_of(
        platform,
        PayoutCompleted(
            user_id=user.id,
            payout_id=uuid.uuid4(),
            amount_minor=100_000,
            currency="KES",
            method="mpesa",
        ),
    )

    await asyncio.gather(*(deliver(platform, [event], consumer=f"c{n}") for n in range(20)))

    assert await _inbox(platform.pool, user.id) == ["payout_sent"]
    assert len(await live_frames(platform, user.id)) == 1
    assert await messages_on(platform.pool, user.id, "email") == ["notify.payout_sent"]


async def test_a_batch_rolled_back_after_writing_announces_nothing_and_its_retry_once(
    platform: Platform, make_user
) -> None:
    """The live frame waits for the commit: a consumer that wrote the notification and
    then failed (a later event of its batch, a lost connection at commit) must not have
    announced a notification that is not stored, nor announce it twice once retried."""
    user = await make_user()
    event = event_of(
        platform,
        PayoutCompleted(
            user_id=user.id,
            payout_id=uuid.uuid4(),
            amount_minor=100_000,
            currency="KES",
            method="mpesa",
        ),
    )

    async def fails_after_writing(conn: Any, events: Sequence[Event]) -> None:
        await notify(conn, platform, events)
        raise RuntimeError("the worker died before its commit")

    with pytest.raises(RuntimeError, match="before its commit"):
        await consume_batch(
            platform.pool,
            "notifications.workflows",
            [event],
            fails_after_writing,
            batch_handler=fails_after_writing,
        )
    assert await _inbox(platform.pool, user.id) == []
    assert await live_frames(platform, user.id) == []

    await deliver(platform, [event])
    assert await _inbox(platform.pool, user.id) == ["payout_sent"]
    assert len(await live_frames(platform, user.id)) == 1


async def test_quiet_hours_defer_email_until_they_end_in_the_persons_zone(
    platform: Platform, make_user, clock: ManualClock
) -> None:
    # 23:00 in Nairobi (UTC+3) is 20:00 UTC; quiet from 22:00 to 07:00 local.
    clock.set(datetime(2026, 12, 4, 20, 0, tzinfo=UTC))
    user = await make_user()
    await set_timezone(platform.pool, user.id, "Africa/Nairobi")
    await _quiet(platform.pool, user.id, time(22, 0), time(7, 0))
    booked = SessionBooked(
        session_id=uuid.uuid4(),
        booking_id=uuid.uuid4(),
        mentee_id=user.id,
        mentor_id=(await make_user()).id,
        starts_at=clock.now() + timedelta(days=3),
    )

    await deliver(platform, [event_of(platform, booked)])

    assert await _inbox(platform.pool, user.id) == ["session_booked"]  # in-app is silent
    assert await mails(platform.pool, user.id) == []
    due = await platform.pool.fetchval(
        "SELECT due_at FROM notification_deliveries WHERE user_id = $1", user.id
    )
    assert due == datetime(2026, 12, 5, 4, 0, tzinfo=UTC)  # 07:00 in Nairobi

    clock.set(datetime(2026, 12, 5, 3, 59, tzinfo=UTC))
    assert await release_deferred(platform) == 0
    clock.set(datetime(2026, 12, 5, 4, 0, tzinfo=UTC))
    assert await release_deferred(platform) == 1
    assert await release_deferred(platform) == 0
    assert await mails(platform.pool, user.id) == ["notify.session_booked"]


async def test_critical_messages_ignore_quiet_hours_and_sms_goes_to_verified_phones_only(
    platform: Platform, make_user, clock: ManualClock
) -> None:
    clock.set(datetime(2026, 12, 4, 2, 0, tzinfo=UTC))
    verified = await make_user(phone="+254700000001")
    unverified = await make_user(phone="+254700000002")
    await platform.pool.execute(
        "UPDATE users SET phone_verified_at = now() WHERE id = $1", verified.id
    )
    for user in (verified, unverified):
        await _quiet(platform.pool, user.id, time(0, 0), time(6, 0))
        # Account messages are locked on: a stored "off" is not obeyed.
        await _switch(platform.pool, user.id, "account", "sms")
    events = [
        event_of(
            platform,
            KycRejected(
                user_id=user.id, document_id=uuid.uuid4(), doc_type="passport", reason="blurred"
            ),
        )
        for user in (verified, unverified)
    ]

    await deliver(platform, events)

    assert await messages_on(platform.pool, verified.id, "sms") == ["notify.kyc_rejected"]
    assert await messages_on(platform.pool, unverified.id, "sms") == []
    states = await platform.pool.fetch(
        "SELECT user_id, state FROM notification_deliveries WHERE channel = 'sms'"
    )
    assert {(r["user_id"], r["state"]) for r in states} == {
        (verified.id, "sent"),
        (unverified.id, "dropped"),
    }
    assert await _inbox(platform.pool, unverified.id) == ["kyc_rejected"]


async def test_a_signal_reaches_every_follower_and_the_daily_digest_gathers_its_email(
    platform: Platform, make_user, clock: ManualClock
) -> None:
    clock.set(datetime(2026, 12, 4, 5, 0, tzinfo=UTC))
    mentor = await make_user()
    followers = [await make_user() for _ in range(3)]
    for follower in followers:
        await platform.pool.execute(
            """INSERT INTO signal_subscriptions (id, subscriber_id, mentor_id,
                   monthly_price_minor, currency, status, billing_status, started_at)
               VALUES ($1, $2, $3, 0, 'USD', 'active', 'free', now())""",
            uuid.uuid4(),
            follower.id,
            mentor.id,
        )
    await _switch(platform.pool, followers[2].id, "signals", "email")
    signals = [
        SignalPublished(
            signal_id=str(uuid.uuid4()),
            mentor_id=str(mentor.id),
            symbol=symbol,
            side="buy",
            corrects_id=None,
        )
        for symbol in ("EURUSD", "BTCUSD")
    ]

    await deliver(platform, [event_of(platform, s) for s in signals])

    first = followers[0].id
    assert await _inbox(platform.pool, first) == ["signal_published", "signal_published"]
    assert len(await live_frames(platform, first)) == 2
    assert await mails(platform.pool, first) == []  # low priority: no e-mail each
    assert await send_digests(platform) == 0  # 05:00 UTC: before the digest hour

    clock.set(datetime(2026, 12, 4, 9, 0, tzinfo=UTC))
    assert await send_digests(platform) == 2  # not the follower who turned e-mail off
    assert await send_digests(platform) == 0
    assert await mails(platform.pool, first) == ["notify.digest"]
    assert await mails(platform.pool, followers[2].id) == []
    digest = await platform.pool.fetchrow(
        "SELECT day, items FROM notification_digests WHERE user_id = $1", first
    )
    assert (str(digest["day"]), digest["items"]) == ("2026-12-04", 2)

    # The next signal waits for the next day's digest.
    later = SignalPublished(
        signal_id=str(uuid.uuid4()),
        mentor_id=str(mentor.id),
        symbol="XAUUSD",
        side="sell",
        corrects_id=None,
    )
    await deliver(platform, [event_of(platform, later)])
    assert await send_digests(platform) == 0
    clock.set(datetime(2026, 12, 5, 9, 0, tzinfo=UTC))
    assert await send_digests(platform) == 2
    assert await mails(platform.pool, first) == ["notify.digest", "notify.digest"]


async def test_the_daily_digest_waits_for_quiet_hours_to_end_in_the_persons_zone(
    platform: Platform, make_user, clock: ManualClock
) -> None:
    """The digest is a non-critical e-mail like any other: someone quiet until 09:30 in
    Nairobi gets it after 09:30 there, not at the digest hour inside their quiet hours."""
    clock.set(datetime(2026, 12, 4, 4, 0, tzinfo=UTC))  # 07:00 in Nairobi
    mentor, follower = await make_user(), await make_user()
    await set_timezone(platform.pool, follower.id, "Africa/Nairobi")
    await _quiet(platform.pool, follower.id, time(22, 0), time(9, 30))
    await platform.pool.execute(
        """INSERT INTO signal_subscriptions (id, subscriber_id, mentor_id,
               monthly_price_minor, currency, status, billing_status, started_at)
           VALUES ($1, $2, $3, 0, 'USD', 'active', 'free', now())""",
        uuid.uuid4(),
        follower.id,
        mentor.id,
    )
    signal = SignalPublished(
        signal_id=str(uuid.uuid4()),
        mentor_id=str(mentor.id),
        symbol="EURUSD",
        side="buy",
        corrects_id=None,
    )
    await deliver(platform, [event_of(platform, signal)])
    assert await _inbox(platform.pool, follower.id) == ["signal_published"]

    for quiet_hour in (5, 6):  # 08:03 and 09:03 in Nairobi: past the digest hour, still quiet
        clock.set(datetime(2026, 12, 4, quiet_hour, 3, tzinfo=UTC))
        assert await send_digests(platform) == 0
    assert await mails(platform.pool, follower.id) == []

    clock.set(datetime(2026, 12, 4, 7, 3, tzinfo=UTC))  # 10:03 in Nairobi: quiet hours over
    assert await send_digests(platform) == 1
    assert await mails(platform.pool, follower.id) == ["notify.digest"]


async def _follow(pool: asyncpg.Pool, follower_id: uuid.UUID, mentor_id: uuid.UUID) -> None:
    await pool.execute(
        """INSERT INTO signal_subscriptions (id, subscriber_id, mentor_id,
               monthly_price_minor, currency, status, billing_status, started_at)
           VALUES ($1, $2, $3, 0, 'USD', 'active', 'free', now())""",
        uuid.uuid4(),
        follower_id,
        mentor_id,
    )


async def test_people_waiting_beyond_one_page_get_their_digest_behind_those_already_sent_today(
    platform: Platform, make_user, clock: ManualClock
) -> None:
    """The hourly run reads everyone with items waiting, a page at a time. It used to read
    one page (10,000 people, in id order) and skip those already sent today, so once the
    first page's people had new items, whoever sorted after them never got a digest."""
    clock.set(datetime(2026, 12, 4, 9, 0, tzinfo=UTC))
    mentor = await make_user()
    first, second, last = sorted([(await make_user()).id for _ in range(3)])

    async def signal(symbol: str) -> None:
        published = SignalPublished(
            signal_id=str(uuid.uuid4()),
            mentor_id=str(mentor.id),
            symbol=symbol,
            side="buy",
            corrects_id=None,
        )
        await deliver(platform, [event_of(platform, published)])

    for follower in (first, second):
        await _follow(platform.pool, follower, mentor.id)
    await signal("EURUSD")
    assert await send_digests(platform, page_size=2) == 2  # today's digest for both

    await _follow(platform.pool, last, mentor.id)
    clock.set(datetime(2026, 12, 4, 10, 0, tzinfo=UTC))
    await signal("BTCUSD")  # waiting for tomorrow for the first two; today for the last
    assert await send_digests(platform, page_size=2) == 1
    assert await mails(platform.pool, last) == ["notify.digest"]
    assert await mails(platform.pool, first) == ["notify.digest"]


def test_sms_is_sent_only_for_the_critical_events_and_payment_failures_are_locked_on() -> None:
    """Issue 20 items 3 and 5, read off the workflow table: SMS only for a failed payment
    or withdrawal, a KYC decision and a withdrawal sent, each critical (never held by
    quiet hours); failed payments and KYC decisions are in categories nobody can switch
    off."""
    by_sms = {kind for kind, w in WORKFLOWS.items() if Channel.SMS in w.channels}
    assert by_sms == {
        "payment_failed",
        "payout_failed",
        "payout_sent",
        "kyc_approved",
        "kyc_rejected",
    }
    for kind in by_sms:
        assert WORKFLOWS[kind].priority is Priority.CRITICAL, kind
        assert WORKFLOWS[kind].sms is not None, kind
    for kind in ("payment_failed", "payout_failed", "kyc_approved", "kyc_rejected"):
        assert WORKFLOWS[kind].category in LOCKED_CATEGORIES, kind


async def test_the_digest_leaves_out_what_the_person_already_read_in_the_app(
    platform: Platform, make_user, clock: ManualClock
) -> None:
    """The digest catches someone up on what they have not seen: a low-priority item read
    (or archived) in the inbox before the digest hour is not e-mailed, and a person who
    read everything gets no digest at all."""
    clock.set(datetime(2026, 12, 4, 5, 0, tzinfo=UTC))
    mentor, reader, skimmer = await make_user(), await make_user(), await make_user()
    for follower in (reader, skimmer):
        await _follow(platform.pool, follower.id, mentor.id)
    for symbol in ("EURUSD", "BTCUSD"):
        published = SignalPublished(
            signal_id=str(uuid.uuid4()),
            mentor_id=str(mentor.id),
            symbol=symbol,
            side="buy",
            corrects_id=None,
        )
        await deliver(platform, [event_of(platform, published)])
    await platform.pool.execute(
        "UPDATE notifications SET read_at = now() WHERE user_id = $1", reader.id
    )
    await platform.pool.execute(
        "UPDATE notifications SET read_at = now() WHERE user_id = $1 AND title LIKE '%EURUSD%'",
        skimmer.id,
    )

    clock.set(datetime(2026, 12, 4, 9, 0, tzinfo=UTC))
    assert await send_digests(platform) == 1
    assert await mails(platform.pool, reader.id) == []
    assert await mails(platform.pool, skimmer.id) == ["notify.digest"]
    digest = await platform.pool.fetchrow(
        "SELECT items FROM notification_digests WHERE user_id = $1", skimmer.id
    )
    assert digest is not None
    assert digest["items"] == 1
    # Nothing is left waiting for a later digest either.
    assert (
        await platform.pool.fetchval(
            "SELECT count(*) FROM notifications WHERE digest = 'pending' AND user_id = ANY($1)",
            [reader.id, skimmer.id],
        )
        == 0
    )
