"""A 1:1 session's time and mentor are its two parties' and staff's business: strangers,
other mentees, other mentors and observers get 404 wherever the session, its booking, its
escrow, its invitation or its review could name them; the slot list shows only free time
and the calendar feed only the feed owner's own sessions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import icalendar
import pytest

from dracarys.clock import ManualClock
from dracarys.identity import Role
from tests.mentorship.conftest import Client, book
from tests.support import Auth

WEDNESDAY_9_EAT = datetime(2026, 1, 7, 6, 0, tzinfo=UTC)
THURSDAY_9_EAT = WEDNESDAY_9_EAT + timedelta(days=1)


@pytest.fixture
async def one_on_one(client: Client, auth: Auth, make_mentor, make_mentee, make_user):  # type: ignore[no-untyped-def]
    """A booked 1:1 session, its two parties, and the outsiders: a stranger, a mentee with a
    1:1 of their own with the same mentor, another mentor and an observer."""
    mentor = await make_mentor()
    mentee = await make_mentee()
    booked = await book(client, auth(mentee), mentor.types["one_on_one"], WEDNESDAY_9_EAT)
    assert booked.status_code == 201, booked.text
    outsiders = {
        "stranger": await make_mentee(),
        "other_mentee": await make_mentee(),
        "other_mentor": (await make_mentor()).user,
        "observer": await make_user(role=Role.OBSERVER),
    }
    own = await book(
        client, auth(outsiders["other_mentee"]), mentor.types["one_on_one"], THURSDAY_9_EAT
    )
    assert own.status_code == 201, own.text
    booking = booked.json()
    reads = {
        "session": f"/api/v1/sessions/{booking['session']['id']}",
        "booking": f"/api/v1/bookings/{booking['id']}",
        "invitation": f"/api/v1/sessions/{booking['session']['id']}/invite.ics",
        "escrow": f"/api/v1/escrows/{booking['escrow_id']}",
    }
    return mentor, mentee, outsiders, reads


@pytest.mark.parametrize("what", ["session", "booking", "invitation", "escrow"])
async def test_reading_someone_elses_one_on_one_is_404_for_strangers_mentees_mentors_observers(
    client: Client, auth: Auth, one_on_one, what: str
) -> None:
    mentor, _, outsiders, reads = one_on_one
    for who, user in outsiders.items():
        response = await client.get(reads[what], headers=auth(user))
        assert response.status_code == 404, (who, response.text)
        assert str(mentor.id) not in response.text


async def test_rating_someone_elses_one_on_one_is_404(
    client: Client, auth: Auth, one_on_one
) -> None:
    _, _, outsiders, reads = one_on_one
    for who, user in outsiders.items():
        rating = await client.post(
            f"{reads['session']}/ratings", json={"rating": 1}, headers=auth(user)
        )
        # Observers are read-only: refused before any session is looked at.
        assert rating.status_code == (403 if who == "observer" else 404), (who, rating.text)


async def test_a_one_on_one_stays_readable_by_its_two_parties_and_staff(
    client: Client, auth: Auth, one_on_one, make_user
) -> None:
    mentor, mentee, _, reads = one_on_one
    for party in (mentee, mentor.user):
        for what, url in reads.items():
            response = await client.get(url, headers=auth(party))
            assert response.status_code == 200, (what, response.text)
    admin = await make_user(role=Role.ADMIN)
    for what in ("session", "booking", "escrow"):
        assert (await client.get(reads[what], headers=admin.headers)).status_code == 200, what


async def test_the_slot_list_shows_a_booked_one_on_one_only_as_time_no_longer_offered(
    client: Client, auth: Auth, make_mentor, make_mentee
) -> None:
    mentor = await make_mentor()
    mentee = await make_mentee()
    before = await client.get(
        f"/api/v1/session-types/{mentor.types['one_on_one']}/slots"
        "?timezone=UTC&start_date=2026-01-07&days=1"
    )
    booked = await book(client, auth(mentee), mentor.types["one_on_one"], WEDNESDAY_9_EAT)
    assert booked.status_code == 201, booked.text
    after = await client.get(
        f"/api/v1/session-types/{mentor.types['one_on_one']}/slots"
        "?timezone=UTC&start_date=2026-01-07&days=1"
    )
    starts = {s["starts_at"] for s in after.json()["slots"]}
    assert {s["starts_at"] for s in before.json()["slots"]} - starts == {"2026-01-07T06:00:00Z"}
    for slot in after.json()["slots"]:
        assert set(slot) == {"starts_at", "ends_at", "spots_left"}
    assert str(mentee.id) not in after.text
    assert booked.json()["session"]["id"] not in after.text


async def test_a_calendar_feed_holds_only_its_owners_sessions(
    client: Client, auth: Auth, make_mentor, make_mentee
) -> None:
    mentor = await make_mentor()
    mentee, other = await make_mentee(), await make_mentee()
    booked = await book(client, auth(mentee), mentor.types["one_on_one"], WEDNESDAY_9_EAT)
    assert booked.status_code == 201, booked.text
    link = (await client.post("/api/v1/calendar/feed-link", headers=auth(other))).json()["url"]
    feed = await client.get("/" + link.split("://", 1)[1].split("/", 1)[1])
    assert feed.status_code == 200
    assert icalendar.Calendar.from_ical(feed.content).walk("VEVENT") == []
    assert booked.json()["session"]["id"] not in feed.text


async def test_public_reviews_name_neither_the_rater_nor_the_session(
    client: Client, auth: Auth, make_mentor, make_mentee, clock: ManualClock
) -> None:
    mentor = await make_mentor()
    mentee = await make_mentee()
    booked = await book(client, auth(mentee), mentor.types["one_on_one"], WEDNESDAY_9_EAT)
    session_id = booked.json()["session"]["id"]
    clock.set(WEDNESDAY_9_EAT + timedelta(hours=1))
    completed = await client.post(
        f"/api/v1/sessions/{session_id}/complete", headers=auth(mentor.user)
    )
    assert completed.status_code == 200, completed.text
    for rater in (mentee, mentor.user):
        rated = await client.post(
            f"/api/v1/sessions/{session_id}/ratings",
            json={"rating": 5, "comment": "Good"},
            headers=auth(rater),
        )
        assert rated.status_code == 201, rated.text

    for rated_id in (mentor.id, mentee.id):
        reviews = await client.get(f"/api/v1/mentors/{rated_id}/reviews")
        assert reviews.status_code == 200
        (review,) = reviews.json()
        assert review["rating"] == 5
        assert set(review) == {"rated_id", "rating", "comment", "created_at"}
        assert session_id not in reviews.text
        other_party = mentee.id if rated_id == mentor.id else mentor.id
        assert str(other_party) not in reviews.text
