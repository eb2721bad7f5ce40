"""After booking: joining and attendance, completion releasing escrow, ratings tied to a
completed session, ICS invitations and the token-authenticated iCal feed, reminders."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg
import icalendar

from dracarys.clock import ManualClock
from dracarys.identity.profiles.service import reputation_score
from dracarys.mentorship import emit_due_reminders
from dracarys.messaging import list_messages
from dracarys.platform import Platform
from tests.mentorship.conftest import Client, book
from tests.support import Auth, balance, events_of
from workers.runtime import Worker

WEDNESDAY_9_EAT = datetime(2026, 1, 7, 6, 0, tzinfo=UTC)
PRICE = 200_000


async def _booked(client: Client, auth: Auth, make_mentor, make_mentee):  # type: ignore[no-untyped-def]
    mentor = await make_mentor(price_minor=PRICE)
    mentee = await make_mentee()
    response = await book(client, auth(mentee), mentor.types["one_on_one"], WEDNESDAY_9_EAT)
    assert response.status_code == 201, response.text
    return mentor, mentee, response.json()


async def test_attendance_is_recorded_once_when_mentor_and_mentee_have_both_joined(
    client: Client, auth: Auth, pool: asyncpg.Pool, make_mentor, make_mentee, clock: ManualClock
) -> None:
    mentor, mentee, booking = await _booked(client, auth, make_mentor, make_mentee)
    url = f"/api/v1/sessions/{booking['session']['id']}/join"
    early = await client.post(url, headers=auth(mentee))
    clock.set(WEDNESDAY_9_EAT - timedelta(minutes=10))

    mentee_join = await client.post(url, headers=auth(mentee))
    attended_after_mentee = await events_of(pool, "session.attended")
    mentor_join = await client.post(url, headers=auth(mentor.user))
    again = await client.post(url, headers=auth(mentee))
    outsider = await client.post(url, headers=auth(await make_mentee()))

    assert early.status_code == 409
    assert mentee_join.status_code == 200
    assert mentee_join.json()["room_url"] == booking["session"]["room_url"]
    assert attended_after_mentee == []
    assert mentor_join.status_code == 200
    assert again.status_code == 200
    assert outsider.status_code == 404
    assert await events_of(pool, "session.attended") == [
        {
            "session_id": booking["session"]["id"],
            "mentor_id": str(mentor.id),
            "mentee_id": str(mentee.id),
        }
    ]


async def test_rating_before_the_session_is_completed_is_refused(
    client: Client, auth: Auth, pool: asyncpg.Pool, make_mentor, make_mentee, clock: ManualClock
) -> None:
    mentor, mentee, booking = await _booked(client, auth, make_mentor, make_mentee)
    session_url = f"/api/v1/sessions/{booking['session']['id']}"
    clock.set(WEDNESDAY_9_EAT + timedelta(minutes=30))  # under way, not completed

    early = await client.post(f"{session_url}/ratings", json={"rating": 5}, headers=auth(mentee))
    complete_early = await client.post(f"{session_url}/complete", headers=auth(mentor.user))
    stranger = await client.post(
        f"{session_url}/ratings", json={"rating": 1}, headers=auth(await make_mentee())
    )

    assert early.status_code == 409
    assert early.json()["errors"][0]["field"] == "session_id"
    assert complete_early.status_code == 409
    assert stranger.status_code == 404
    assert await pool.fetchval("SELECT count(*) FROM session_reviews") == 0
    assert await events_of(pool, "session.rated") == []


async def test_completion_pays_the_mentor_and_both_sides_rate_once(
    client: Client,
    auth: Auth,
    pool: asyncpg.Pool,
    platform: Platform,
    make_mentor,
    make_mentee,
    clock: ManualClock,
) -> None:
    mentor, mentee, booking = await _booked(client, auth, make_mentor, make_mentee)
    session_id = booking["session"]["id"]
    clock.set(WEDNESDAY_9_EAT + timedelta(hours=1))

    completed = await client.post(
        f"/api/v1/sessions/{session_id}/complete", headers=auth(mentor.user)
    )
    assert completed.status_code == 200, completed.text
    assert completed.json()["status"] == "completed"
    escrow = await pool.fetchrow("SELECT * FROM escrows WHERE id = $1", booking["escrow_id"])
    assert escrow["status"] == "released"
    assert escrow["released_minor"] == PRICE
    assert (await balance(pool, mentee.id))[1] == 1_000_000 - PRICE
    assert (await balance(pool, mentor.id))[0] > 0
    assert len(await events_of(pool, "session.completed")) == 1

    by_mentee = await client.post(
        f"/api/v1/sessions/{session_id}/ratings",
        json={"rating": 4, "comment": "Clear on risk sizing", "recommend": 9},
        headers=auth(mentee),
    )
    by_mentor = await client.post(
        f"/api/v1/sessions/{session_id}/ratings", json={"rating": 5}, headers=auth(mentor.user)
    )
    twice = await client.post(
        f"/api/v1/sessions/{session_id}/ratings", json={"rating": 1}, headers=auth(mentee)
    )
    out_of_range = await client.post(
        f"/api/v1/sessions/{session_id}/ratings", json={"rating": 6}, headers=auth(mentee)
    )
    recommend_out_of_range = await client.post(
        f"/api/v1/sessions/{session_id}/ratings",
        json={"rating": 3, "recommend": 11},
        headers=auth(mentee),
    )

    assert by_mentee.status_code == 201, by_mentee.text
    assert by_mentee.json()["rated_id"] == str(mentor.id)
    assert by_mentor.status_code == 201
    assert by_mentor.json()["rated_id"] == str(mentee.id)
    assert twice.status_code == 409
    assert out_of_range.status_code == 422
    assert recommend_out_of_range.status_code == 422
    assert recommend_out_of_range.json()["errors"][0]["field"] == "recommend"
    rated = await events_of(pool, "session.rated")
    # The mentee answered the NPS question (the mentor did not): it rides on the event
    # analytics reads, and is kept with the review.
    assert {(e["rater_id"], e["rated_id"], e["rating"], e["recommend"]) for e in rated} == {
        (str(mentee.id), str(mentor.id), 4, 9),
        (str(mentor.id), str(mentee.id), 5, None),
    }
    # Each names the session's mentor (notifications tells the mentor of a mentee's).
    assert {e["mentor_id"] for e in rated} == {str(mentor.id)}
    assert (
        await pool.fetchval("SELECT recommend FROM session_reviews WHERE rater_id = $1", mentee.id)
        == 9
    )

    # Identity consumes `session.rated` into the mentor's rating average and reputation.
    worker = Worker(platform)
    await worker.start()
    try:
        for _ in range(200):
            row = await pool.fetchrow(
                "SELECT rating_count, rating_sum FROM mentor_profiles WHERE user_id = $1", mentor.id
            )
            if row["rating_count"] == 1:
                break
            await asyncio.sleep(0.05)
    finally:
        await worker.stop()
    assert (row["rating_count"], row["rating_sum"]) == (1, 4)
    reputation = await pool.fetchval("SELECT reputation_score FROM users WHERE id = $1", mentor.id)
    assert reputation == reputation_score(rating_count=1, rating_sum=4, endorsements=0)
    reviews = await client.get(f"/api/v1/mentors/{mentor.id}/reviews")
    assert [(r["rating"], r["comment"]) for r in reviews.json()] == [(4, "Clear on risk sizing")]


async def test_ics_invitation_and_private_calendar_feed(
    client: Client, auth: Auth, make_mentor, make_mentee
) -> None:
    mentor, mentee, booking = await _booked(client, auth, make_mentor, make_mentee)
    session_id = booking["session"]["id"]

    invite = await client.get(f"/api/v1/sessions/{session_id}/invite.ics", headers=auth(mentee))
    outsider = await client.get(
        f"/api/v1/sessions/{session_id}/invite.ics", headers=auth(await make_mentee())
    )
    assert invite.status_code == 200
    assert invite.headers["content-type"].startswith("text/calendar")
    calendar = icalendar.Calendar.from_ical(invite.content)
    (event,) = calendar.walk("VEVENT")
    assert event.decoded("dtstart") == WEDNESDAY_9_EAT
    assert event.decoded("dtend") == WEDNESDAY_9_EAT + timedelta(hours=1)
    assert str(event["location"]) == booking["session"]["room_url"]
    assert str(calendar["method"]) == "REQUEST"
    assert str(event["organizer"]) == f"mailto:{mentor.user.email}"
    assert str(event["attendee"]) == f"mailto:{mentee.email}"
    assert outsider.status_code == 404

    link = (await client.post("/api/v1/calendar/feed-link", headers=auth(mentee))).json()["url"]
    path = link.split("://", 1)[1].split("/", 1)[1]
    feed = await client.get(f"/{path}")  # no bearer token: calendar apps cannot send one
    assert feed.status_code == 200
    uids = [str(e["uid"]) for e in icalendar.Calendar.from_ical(feed.content).walk("VEVENT")]
    assert uids == [f"{session_id}@dracarys"]
    mentor_link = (
        await client.post("/api/v1/calendar/feed-link", headers=auth(mentor.user))
    ).json()
    mentor_path = mentor_link["url"].split("://", 1)[1].split("/", 1)[1]
    assert (await client.get(f"/{mentor_path}")).status_code == 200

    # A new link revokes the old one; a guessed token finds nothing.
    await client.post("/api/v1/calendar/feed-link", headers=auth(mentee))
    assert (await client.get(f"/{path}")).status_code == 404
    assert (await client.get("/api/v1/calendar/feeds/not-a-token.ics")).status_code == 404


async def test_reminders_go_out_24_hours_and_1_hour_before_exactly_once(
    client: Client,
    auth: Auth,
    pool: asyncpg.Pool,
    platform: Platform,
    make_mentor,
    make_mentee,
    clock: ManualClock,
) -> None:
    mentor, mentee, booking = await _booked(client, auth, make_mentor, make_mentee)
    # The mentee reads Swahili (issue 20 item 8): their reminders are in Swahili.
    await pool.execute(
        """INSERT INTO user_profiles (user_id, language) VALUES ($1, 'sw')
           ON CONFLICT (user_id) DO UPDATE SET language = 'sw'""",
        mentee.id,
    )

    clock.set(WEDNESDAY_9_EAT - timedelta(hours=25))
    assert await emit_due_reminders(platform) == 0
    clock.set(WEDNESDAY_9_EAT - timedelta(hours=23))
    first = await asyncio.gather(emit_due_reminders(platform), emit_due_reminders(platform))
    assert sum(first) == 2  # mentor and mentee, once between the two concurrent runs
    assert await emit_due_reminders(platform) == 0
    clock.set(WEDNESDAY_9_EAT - timedelta(minutes=50))
    assert await emit_due_reminders(platform) == 2
    assert await emit_due_reminders(platform) == 0

    reminders = await events_of(pool, "session.reminder")
    assert sorted((r["lead"], r["user_id"]) for r in reminders) == sorted(
        [
            ("24h", str(mentor.id)),
            ("24h", str(mentee.id)),
            ("1h", str(mentor.id)),
            ("1h", str(mentee.id)),
        ]
    )
    assert {r["session_id"] for r in reminders} == {booking["session"]["id"]}
    async with pool.acquire() as conn:
        messages = await list_messages(conn, platform.settings, channel="email")
    reminders_sent = [
        (m.recipient, m.content.subject, m.content.text)
        for m in messages
        if m.content is not None and m.template == "mentorship.session_reminder"
    ]
    english = [(s, t) for r, s, t in reminders_sent if r == mentor.user.email]
    swahili = [(s, t) for r, s, t in reminders_sent if r == mentee.email]
    assert len(english) == len(swahili) == 2
    assert sorted(s.rsplit(" starts ", 1)[1] for s, _ in english) == ["in 1 hour", "in 24 hours"]
    assert all(s.startswith("Reminder: ") for s, _ in english)
    assert "Wednesday, " in english[0][1]
    assert sorted(s.rsplit(" kinaanza ", 1)[1] for s, _ in swahili) == [
        "baada ya saa 1",
        "baada ya saa 24",
    ]
    assert all(s.startswith("Kikumbusho: ") for s, _ in swahili)
    assert "Jumatano, " in swahili[0][1]
