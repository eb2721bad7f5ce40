"""The reads the session pages need: the cancellation quote (the refund a cancellation
would give, by the computation the cancellation itself uses), a mentor's week of sessions
with each mentee's seat and attendance, and recording links for booked sessions."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import asyncpg

from dracarys.clock import ManualClock
from tests.mentorship.conftest import Client, book
from tests.support import Auth, balance

# The suite's clock starts Monday 2026-01-05 09:00 UTC; Nairobi 09:00 is 06:00 UTC.
WEDNESDAY_9_EAT = datetime(2026, 1, 7, 6, 0, tzinfo=UTC)
PRICE = 200_001  # odd: a half refund rounds, and the quote must round as the refund does


async def test_the_quote_says_what_the_cancellation_then_refunds_and_changes_nothing(
    client: Client, auth: Auth, pool: asyncpg.Pool, make_mentor, make_mentee, clock: ManualClock
) -> None:
    mentor = await make_mentor(price_minor=PRICE)
    mentee = await make_mentee()
    booking = (await book(client, auth(mentee), mentor.types["one_on_one"], WEDNESDAY_9_EAT)).json()

    early = await client.get(f"/api/v1/bookings/{booking['id']}/cancellation", headers=auth(mentee))
    assert early.status_code == 200, early.text
    assert early.json()["refund_minor"] == PRICE
    assert early.json()["refund_bps"] == 10_000
    assert "24 hours or more" in early.json()["policy"]
    assert early.json()["full_refund_until"] == "2026-01-06T06:00:00Z"

    clock.set(WEDNESDAY_9_EAT - timedelta(hours=3))
    late = await client.get(f"/api/v1/bookings/{booking['id']}/cancellation", headers=auth(mentee))
    quote = late.json()
    assert (quote["paid_minor"], quote["refund_minor"], quote["currency"]) == (
        PRICE,
        PRICE * 5_000 // 10_000,
        "KES",
    )
    assert "less than 24 hours" in quote["policy"]
    # Reading the quote moved nothing.
    assert await balance(pool, mentee.id) == (1_000_000 - PRICE, 1_000_000)

    cancelled = await client.post(
        f"/api/v1/bookings/{booking['id']}/cancel", json={}, headers=auth(mentee)
    )
    assert cancelled.json()["refunded_minor"] == quote["refund_minor"]
    refunded = quote["refund_minor"]
    assert await balance(pool, mentee.id) == (
        1_000_000 - PRICE + refunded,
        1_000_000 - PRICE + refunded,
    )
    again = await client.get(f"/api/v1/bookings/{booking['id']}/cancellation", headers=auth(mentee))
    assert again.status_code == 409


async def test_the_mentor_is_quoted_a_full_refund_and_strangers_see_no_booking(
    client: Client, auth: Auth, make_mentor, make_mentee, clock: ManualClock
) -> None:
    mentor = await make_mentor(price_minor=PRICE)
    mentee = await make_mentee()
    stranger = await make_mentee()
    booking = (await book(client, auth(mentee), mentor.types["one_on_one"], WEDNESDAY_9_EAT)).json()
    clock.set(WEDNESDAY_9_EAT - timedelta(hours=1))

    by_mentor = await client.get(
        f"/api/v1/bookings/{booking['id']}/cancellation", headers=auth(mentor.user)
    )
    assert by_mentor.json()["refund_minor"] == PRICE
    assert (
        await client.get(f"/api/v1/bookings/{booking['id']}/cancellation", headers=auth(stranger))
    ).status_code == 404
    clock.set(WEDNESDAY_9_EAT + timedelta(minutes=1))
    started = await client.get(
        f"/api/v1/bookings/{booking['id']}/cancellation", headers=auth(mentee)
    )
    assert started.status_code == 409
    assert "started" in started.json()["detail"]


async def test_a_mentors_week_lists_their_sessions_in_their_zone_with_attendance(
    client: Client, auth: Auth, make_mentor, make_mentee, clock: ManualClock
) -> None:
    mentor = await make_mentor(price_minor=PRICE, timezone="Africa/Nairobi")
    mentee = await make_mentee()
    booking = (await book(client, auth(mentee), mentor.types["one_on_one"], WEDNESDAY_9_EAT)).json()
    next_week = WEDNESDAY_9_EAT + timedelta(days=7)
    await book(client, auth(mentee), mentor.types["one_on_one"], next_week)

    week = await client.get("/api/v1/mentor/sessions", headers=auth(mentor.user))
    assert week.status_code == 200, week.text
    body = week.json()
    assert (body["timezone"], body["start_date"], body["days"]) == (
        "Africa/Nairobi",
        "2026-01-05",
        7,
    )
    assert [s["session"]["id"] for s in body["sessions"]] == [booking["session"]["id"]]
    entry = body["sessions"][0]
    assert entry["session"]["room_url"].startswith("https://")
    assert entry["session"]["session_type_id"] == str(mentor.types["one_on_one"])
    [seat] = entry["attendees"]
    assert (seat["mentee_id"], seat["status"], seat["attended_at"]) == (
        str(mentee.id),
        "confirmed",
        None,
    )
    assert seat["name"]

    clock.set(WEDNESDAY_9_EAT - timedelta(minutes=5))
    for who in (mentee, mentor.user):
        joined = await client.post(
            f"/api/v1/sessions/{booking['session']['id']}/join", headers=auth(who)
        )
        assert joined.status_code == 200, joined.text
    week = (await client.get("/api/v1/mentor/sessions", headers=auth(mentor.user))).json()
    assert week["sessions"][0]["attendees"][0]["attended_at"] is not None

    following = await client.get(
        "/api/v1/mentor/sessions",
        params={"start_date": str(date(2026, 1, 12))},
        headers=auth(mentor.user),
    )
    assert [s["session"]["starts_at"] for s in following.json()["sessions"]] == [
        "2026-01-14T06:00:00Z"
    ]
    refused = await client.get("/api/v1/mentor/sessions", headers=auth(mentee))
    assert refused.status_code == 403


async def test_a_booked_session_takes_a_recording_link_its_mentee_then_sees(
    client: Client, auth: Auth, make_mentor, make_mentee
) -> None:
    mentor = await make_mentor(price_minor=PRICE)
    mentee = await make_mentee()
    booking = (await book(client, auth(mentee), mentor.types["one_on_one"], WEDNESDAY_9_EAT)).json()
    session_id = booking["session"]["id"]
    url = "https://video.example.com/rec/123"

    with_lesson = await client.put(
        f"/api/v1/sessions/{session_id}/recording",
        json={"recording_url": url, "lesson_id": booking["id"]},
        headers=auth(mentor.user),
    )
    assert with_lesson.status_code == 422
    by_mentee = await client.put(
        f"/api/v1/sessions/{session_id}/recording",
        json={"recording_url": url},
        headers=auth(mentee),
    )
    assert by_mentee.status_code == 404
    saved = await client.put(
        f"/api/v1/sessions/{session_id}/recording",
        json={"recording_url": url},
        headers=auth(mentor.user),
    )
    assert saved.status_code == 200, saved.text
    mine = (await client.get("/api/v1/bookings", headers=auth(mentee))).json()
    assert mine[0]["session"]["recording_url"] == url


async def test_a_cancellation_confirming_a_refund_the_deadline_has_since_changed_is_refused(
    client: Client, auth: Auth, pool: asyncpg.Pool, make_mentor, make_mentee, clock: ManualClock
) -> None:
    mentor = await make_mentor(price_minor=PRICE)
    mentee = await make_mentee()
    booking = (await book(client, auth(mentee), mentor.types["one_on_one"], WEDNESDAY_9_EAT)).json()
    clock.set(WEDNESDAY_9_EAT - timedelta(hours=24))
    shown = (
        await client.get(f"/api/v1/bookings/{booking['id']}/cancellation", headers=auth(mentee))
    ).json()
    assert shown["refund_minor"] == PRICE
    clock.advance(timedelta(seconds=1))  # the full-refund deadline passes before the click

    refused = await client.post(
        f"/api/v1/bookings/{booking['id']}/cancel",
        json={"expected_refund_minor": shown["refund_minor"]},
        headers=auth(mentee),
    )

    assert refused.status_code == 409, refused.text
    assert (
        "the refund is now KES 1,000.00, not the KES 2,000.01 you were shown"
        in (refused.json()["detail"])
    )
    assert await balance(pool, mentee.id) == (1_000_000 - PRICE, 1_000_000)
    requoted = (
        await client.get(f"/api/v1/bookings/{booking['id']}/cancellation", headers=auth(mentee))
    ).json()
    accepted = await client.post(
        f"/api/v1/bookings/{booking['id']}/cancel",
        json={"expected_refund_minor": requoted["refund_minor"]},
        headers=auth(mentee),
    )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["refunded_minor"] == PRICE // 2
