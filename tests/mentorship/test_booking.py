"""Booking: hold the slot, pay into escrow, confirm; no double booking under concurrency;
cancellation and reschedule under the refund policy."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg

from dracarys.clock import ManualClock
from tests.mentorship.conftest import Client, book
from tests.support import Auth, balance, events_of

# The suite's clock starts Monday 2026-01-05 09:00 UTC; Nairobi 09:00 is 06:00 UTC.
WEDNESDAY_9_EAT = datetime(2026, 1, 7, 6, 0, tzinfo=UTC)
PRICE = 200_000


async def test_twenty_mentees_booking_one_slot_concurrently_exactly_one_wins(
    client: Client, auth: Auth, pool: asyncpg.Pool, make_mentor, make_mentee
) -> None:
    mentor = await make_mentor(price_minor=PRICE)
    mentees = [await make_mentee(funds_minor=500_000) for _ in range(20)]

    responses = await asyncio.gather(
        *(book(client, auth(m), mentor.types["one_on_one"], WEDNESDAY_9_EAT) for m in mentees)
    )

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * 19
    for response in responses:
        if response.status_code == 409:
            problem = response.json()
            assert problem["status"] == 409
            assert "taken" in problem["detail"]
    winner = next(m for m, r in zip(mentees, responses, strict=True) if r.status_code == 201)
    assert await pool.fetchval("SELECT count(*) FROM mentor_sessions") == 1
    assert await pool.fetchval("SELECT count(*) FROM session_bookings") == 1
    # Only the winner's money moved (into escrow); the others' wallets are untouched.
    for mentee in mentees:
        available, posted = await balance(pool, mentee.id)
        assert posted == 500_000
        assert available == (500_000 - PRICE if mentee is winner else 500_000)


async def test_booking_holds_payment_in_escrow_and_confirms_with_a_private_room(
    client: Client, auth: Auth, pool: asyncpg.Pool, make_mentor, make_mentee
) -> None:
    mentor = await make_mentor(price_minor=PRICE)
    mentee = await make_mentee()

    response = await book(client, auth(mentee), mentor.types["one_on_one"], WEDNESDAY_9_EAT)

    assert response.status_code == 201, response.text
    booking = response.json()
    assert booking["status"] == "confirmed"
    assert booking["amount_minor"] == PRICE
    escrow = await pool.fetchrow("SELECT * FROM escrows WHERE id = $1", booking["escrow_id"])
    assert escrow["status"] == "held"
    assert escrow["amount_minor"] == PRICE
    assert await balance(pool, mentee.id) == (1_000_000 - PRICE, 1_000_000)
    room = booking["session"]["room_url"]
    assert room.startswith("https://meet.jit.si/dracarys-")
    assert len(room.removeprefix("https://meet.jit.si/dracarys-")) >= 24  # 144 random bits
    paid = await events_of(pool, "session.paid")
    assert paid == [
        {
            "session_id": booking["session"]["id"],
            "mentee_id": str(mentee.id),
            "mentor_id": str(mentor.id),
            "amount_minor": PRICE,
            "currency": "KES",
        }
    ]
    assert len(await events_of(pool, "session.booked")) == 1
    # A second 1:1 booking of the same mentor at the same time is refused too.
    other = await make_mentee()
    assert (
        await book(client, auth(other), mentor.types["one_on_one"], WEDNESDAY_9_EAT)
    ).status_code == 409


async def test_failed_payment_leaves_the_slot_free(
    client: Client, auth: Auth, pool: asyncpg.Pool, make_mentor, make_mentee
) -> None:
    mentor = await make_mentor(price_minor=PRICE)
    broke = await make_mentee(funds_minor=PRICE - 1)

    refused = await book(client, auth(broke), mentor.types["one_on_one"], WEDNESDAY_9_EAT)

    assert refused.status_code == 409
    assert refused.json()["type"].endswith("insufficient-funds")
    assert await pool.fetchval("SELECT count(*) FROM mentor_sessions") == 0
    rich = await make_mentee()
    assert (
        await book(client, auth(rich), mentor.types["one_on_one"], WEDNESDAY_9_EAT)
    ).status_code == 201


async def test_booking_retry_with_the_same_key_returns_the_first_booking(
    client: Client, auth: Auth, pool: asyncpg.Pool, make_mentor, make_mentee
) -> None:
    mentor = await make_mentor(price_minor=PRICE)
    mentee = await make_mentee()
    first = await book(
        client, auth(mentee), mentor.types["one_on_one"], WEDNESDAY_9_EAT, key="retry-key-1"
    )
    again = await book(
        client, auth(mentee), mentor.types["one_on_one"], WEDNESDAY_9_EAT, key="retry-key-1"
    )
    other = await book(
        client,
        auth(mentee),
        mentor.types["one_on_one"],
        WEDNESDAY_9_EAT + timedelta(hours=1),
        key="retry-key-1",
    )

    assert first.status_code == 201
    assert again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert other.status_code == 422
    assert await balance(pool, mentee.id) == (1_000_000 - PRICE, 1_000_000)


async def test_slot_outside_the_schedule_or_inside_the_notice_is_refused(
    client: Client, auth: Auth, make_mentor, make_mentee, clock: ManualClock
) -> None:
    mentor = await make_mentor()
    mentee = await make_mentee()
    evening = WEDNESDAY_9_EAT + timedelta(hours=10)
    misaligned = WEDNESDAY_9_EAT + timedelta(minutes=20)
    clock.set(WEDNESDAY_9_EAT - timedelta(minutes=30))  # inside the 60-minute notice

    for starts_at in (evening, misaligned, WEDNESDAY_9_EAT):
        response = await book(client, auth(mentee), mentor.types["one_on_one"], starts_at)
        assert response.status_code == 422, starts_at
        assert response.json()["errors"][0]["field"] == "starts_at"


async def test_group_session_seats_its_capacity_then_refuses(
    client: Client, auth: Auth, pool: asyncpg.Pool, make_mentor, make_mentee
) -> None:
    mentor = await make_mentor(price_minor=PRICE)
    mentees = [await make_mentee() for _ in range(4)]

    responses = await asyncio.gather(
        *(book(client, auth(m), mentor.types["group"], WEDNESDAY_9_EAT) for m in mentees)
    )

    assert sorted(r.status_code for r in responses) == [201, 201, 201, 409]
    session_ids = {r.json()["session"]["id"] for r in responses if r.status_code == 201}
    assert len(session_ids) == 1
    slots = await client.get(
        f"/api/v1/session-types/{mentor.types['group']}/slots",
        params={"timezone": "UTC", "start_date": "2026-01-07", "days": 1},
        headers=auth(mentor.user),
    )
    assert WEDNESDAY_9_EAT.isoformat().replace("+00:00", "Z") not in [
        s["starts_at"] for s in slots.json()["slots"]
    ]
    # Analytics' fill rate: the first booking opened the slot (one `slot.offered` of three
    # 60-minute seats), and each of the three bookings names that slot and its minutes.
    (session_id,) = session_ids
    assert await events_of(pool, "slot.offered") == [
        {
            "slot_id": session_id,
            "mentor_id": str(mentor.user.id),
            "session_type_id": str(mentor.types["group"]),
            "starts_at": WEDNESDAY_9_EAT.isoformat().replace("+00:00", "Z"),
            "minutes": 60,
            "seats": 3,
        }
    ]
    booked = await events_of(pool, "session.booked")
    assert [(b["slot_id"], b["minutes"]) for b in booked] == [(session_id, 60)] * 3


async def test_mentee_cancelling_before_the_refund_window_gets_everything_back(
    client: Client, auth: Auth, pool: asyncpg.Pool, make_mentor, make_mentee, clock: ManualClock
) -> None:
    mentor = await make_mentor(price_minor=PRICE)
    mentee = await make_mentee()
    booking = (await book(client, auth(mentee), mentor.types["one_on_one"], WEDNESDAY_9_EAT)).json()
    clock.set(WEDNESDAY_9_EAT - timedelta(hours=24))  # exactly at the window's edge

    response = await client.post(
        f"/api/v1/bookings/{booking['id']}/cancel", json={}, headers=auth(mentee)
    )

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled"
    assert response.json()["refunded_minor"] == PRICE
    assert await balance(pool, mentee.id) == (1_000_000, 1_000_000)
    assert await balance(pool, mentor.id) == (0, 0)
    assert await events_of(pool, "session.refunded") == [
        {
            "session_id": booking["session"]["id"],
            "mentee_id": str(mentee.id),
            "amount_minor": PRICE,
            "currency": "KES",
        }
    ]
    # The slot is free again.
    other = await make_mentee()
    assert (
        await book(client, auth(other), mentor.types["one_on_one"], WEDNESDAY_9_EAT)
    ).status_code == 201


async def test_mentee_cancelling_inside_the_refund_window_gets_the_configured_part(
    client: Client, auth: Auth, pool: asyncpg.Pool, make_mentor, make_mentee, clock: ManualClock
) -> None:
    mentor = await make_mentor(price_minor=PRICE)
    mentee = await make_mentee()
    booking = (await book(client, auth(mentee), mentor.types["one_on_one"], WEDNESDAY_9_EAT)).json()
    clock.set(WEDNESDAY_9_EAT - timedelta(hours=23, minutes=59))

    response = await client.post(
        f"/api/v1/bookings/{booking['id']}/cancel", json={}, headers=auth(mentee)
    )

    assert response.status_code == 200, response.text
    half = PRICE // 2  # mentorship_late_refund_bps = 5000
    assert response.json()["refunded_minor"] == half
    assert await balance(pool, mentee.id) == (1_000_000 - half, 1_000_000 - half)
    escrow = await pool.fetchrow("SELECT * FROM escrows WHERE id = $1", booking["escrow_id"])
    assert (escrow["released_minor"], escrow["refunded_minor"]) == (PRICE - half, half)
    # The mentor's share of the kept half reached their wallet (the rest is holdback,
    # commission and VAT, split by the wallet).
    mentor_available, _ = await balance(pool, mentor.id)
    assert 0 < mentor_available < PRICE - half


async def test_mentor_cancelling_refunds_in_full_even_inside_the_window(
    client: Client, auth: Auth, pool: asyncpg.Pool, make_mentor, make_mentee, clock: ManualClock
) -> None:
    mentor = await make_mentor(price_minor=PRICE)
    mentees = [await make_mentee() for _ in range(2)]
    bookings = [
        (await book(client, auth(m), mentor.types["group"], WEDNESDAY_9_EAT)).json()
        for m in mentees
    ]
    clock.set(WEDNESDAY_9_EAT - timedelta(hours=2))

    response = await client.post(
        f"/api/v1/sessions/{bookings[0]['session']['id']}/cancel",
        json={},
        headers=auth(mentor.user),
    )

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled"
    for mentee in mentees:
        assert await balance(pool, mentee.id) == (1_000_000, 1_000_000)
    assert len(await events_of(pool, "session.refunded")) == 2


async def test_cancelling_after_the_start_is_refused(
    client: Client, auth: Auth, make_mentor, make_mentee, clock: ManualClock
) -> None:
    mentor = await make_mentor()
    mentee = await make_mentee()
    booking = (await book(client, auth(mentee), mentor.types["one_on_one"], WEDNESDAY_9_EAT)).json()
    clock.set(WEDNESDAY_9_EAT + timedelta(minutes=5))

    response = await client.post(
        f"/api/v1/bookings/{booking['id']}/cancel", json={}, headers=auth(mentee)
    )

    assert response.status_code == 409


async def test_reschedule_moves_the_session_until_the_refund_window(
    client: Client, auth: Auth, pool: asyncpg.Pool, make_mentor, make_mentee, clock: ManualClock
) -> None:
    mentor = await make_mentor()
    mentee, rival = await make_mentee(), await make_mentee()
    booking = (await book(client, auth(mentee), mentor.types["one_on_one"], WEDNESDAY_9_EAT)).json()
    taken = WEDNESDAY_9_EAT + timedelta(hours=2)
    assert (await book(client, auth(rival), mentor.types["one_on_one"], taken)).status_code == 201
    url = f"/api/v1/bookings/{booking['id']}/reschedule"

    clash = await client.post(url, json={"starts_at": taken.isoformat()}, headers=auth(mentee))
    moved = await client.post(
        url,
        json={"starts_at": (WEDNESDAY_9_EAT + timedelta(days=1)).isoformat()},
        headers=auth(mentee),
    )
    freed = await book(client, auth(rival), mentor.types["one_on_one"], WEDNESDAY_9_EAT)
    clock.set(WEDNESDAY_9_EAT + timedelta(hours=1))
    too_late = await client.post(
        url,
        json={"starts_at": (WEDNESDAY_9_EAT + timedelta(days=2)).isoformat()},
        headers=auth(mentee),
    )

    assert clash.status_code == 409
    assert moved.status_code == 200, moved.text
    assert moved.json()["session"]["starts_at"].startswith("2026-01-08T06:00:00")
    assert too_late.status_code == 409
    # The old time was free again once the session moved.
    assert freed.status_code == 201, freed.text
