"""Availability: schedules in their own zone, slots in the viewer's zone, DST, overrides,
abbreviations."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from dracarys.clock import ManualClock
from dracarys.errors import InvalidInput
from dracarys.mentorship.availability import Schedule, generate_slots, resolve_timezone
from tests.mentorship.conftest import Client, book, weekly
from tests.support import Auth

NEW_YORK = ZoneInfo("America/New_York")
NAIROBI = ZoneInfo("Africa/Nairobi")


async def _slots(
    client: Client, headers: dict[str, str], type_id: object, tz: str, start: str, days: int
) -> list[datetime]:
    response = await client.get(
        f"/api/v1/session-types/{type_id}/slots",
        params={"timezone": tz, "start_date": start, "days": days},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["timezone"] == resolve_timezone(tz).key
    return [datetime.fromisoformat(s["starts_at"]) for s in response.json()["slots"]]


async def test_new_york_slots_follow_dst_while_nairobi_slots_never_shift(
    client: Client, auth: Auth, make_mentor, clock: ManualClock
) -> None:
    # US clocks spring forward on Sunday 2026-03-08; East Africa has no DST.
    clock.set(datetime(2026, 3, 1, 0, 0, tzinfo=UTC))
    new_york = await make_mentor(timezone="America/New_York", hours=weekly("09:00", "11:00"))
    nairobi = await make_mentor(timezone="Africa/Nairobi", hours=weekly("09:00", "11:00"))
    viewer = auth(new_york.user)

    ny_in_eat = await _slots(client, viewer, new_york.types["one_on_one"], "EAT", "2026-03-02", 14)
    nbo_in_eat = await _slots(client, viewer, nairobi.types["one_on_one"], "EAT", "2026-03-02", 14)
    nbo_in_ny = await _slots(
        client, viewer, nairobi.types["one_on_one"], "America/New_York", "2026-03-02", 14
    )

    # Ten weekdays, two one-hour slots each.
    assert len(ny_in_eat) == len(nbo_in_eat) == 20
    # The New York mentor always starts at 09:00 and 10:00 New York time...
    assert {s.astimezone(NEW_YORK).strftime("%H:%M") for s in ny_in_eat} == {"09:00", "10:00"}
    # ...which a Nairobi viewer sees at 17:00 before the change and 16:00 after it.
    before = [s for s in ny_in_eat if s.date() < date(2026, 3, 8)]
    after = [s for s in ny_in_eat if s.date() > date(2026, 3, 8)]
    assert {s.strftime("%H:%M %z") for s in before} == {"17:00 +0300", "18:00 +0300"}
    assert {s.strftime("%H:%M %z") for s in after} == {"16:00 +0300", "17:00 +0300"}
    # Nairobi's slots are 06:00 and 07:00 UTC on every day, either side of the change.
    assert {s.astimezone(UTC).strftime("%H:%M") for s in nbo_in_eat} == {"06:00", "07:00"}
    assert {s.strftime("%H:%M") for s in nbo_in_eat} == {"09:00", "10:00"}
    # A New York viewer sees those same instants an hour later in local time after the change.
    ny_before = {s.strftime("%H:%M %z") for s in nbo_in_ny if s.date() < date(2026, 3, 8)}
    ny_after = {s.strftime("%H:%M %z") for s in nbo_in_ny if s.date() > date(2026, 3, 8)}
    assert ny_before == {"01:00 -0500", "02:00 -0500"}
    assert ny_after == {"02:00 -0400", "03:00 -0400"}
    assert sorted(s.astimezone(UTC) for s in nbo_in_ny) == sorted(
        s.astimezone(UTC) for s in nbo_in_eat
    )


def test_fall_back_night_yields_every_real_hour_once() -> None:
    # 2026-11-01 01:00 happens twice in New York; a 00:00–03:00 window is four real hours.
    schedule = Schedule("America/New_York", [{"weekday": 6, "start": "00:00", "end": "03:00"}])
    start = datetime(2026, 11, 1, 0, 0, tzinfo=NEW_YORK).astimezone(UTC)
    slots = generate_slots(
        schedule, start=start, end=start + timedelta(hours=6), duration=timedelta(hours=1)
    )

    assert [s.astimezone(UTC).hour for s, _ in slots] == [4, 5, 6, 7]
    assert len({s for s, _ in slots}) == 4


def test_spring_forward_gap_does_not_invent_a_missing_hour() -> None:
    # 2026-03-08 02:00–03:00 does not exist in New York: 01:00–04:00 is two real hours.
    schedule = Schedule("America/New_York", [{"weekday": 6, "start": "01:00", "end": "04:00"}])
    start = datetime(2026, 3, 8, 0, 0, tzinfo=UTC)
    slots = generate_slots(
        schedule, start=start, end=start + timedelta(days=1), duration=timedelta(hours=1)
    )

    assert [s.astimezone(NEW_YORK).strftime("%H:%M %z") for s, _ in slots] == [
        "01:00 -0500",
        "03:00 -0400",
    ]


async def test_date_overrides_replace_a_days_hours_or_block_it(
    client: Client, auth: Auth, make_mentor
) -> None:
    mentor = await make_mentor(
        hours=weekly("09:00", "11:00"),
        overrides=[
            {"date": "2026-01-07", "intervals": []},
            {"date": "2026-01-08", "intervals": [{"start": "14:00", "end": "15:00"}]},
        ],
    )

    slots = await _slots(
        client, auth(mentor.user), mentor.types["one_on_one"], "Africa/Nairobi", "2026-01-06", 3
    )

    assert [s.strftime("%d %H:%M") for s in slots] == ["06 09:00", "06 10:00", "08 14:00"]


async def test_a_booked_slot_leaves_the_list_and_the_notice_period_hides_near_ones(
    client: Client, auth: Auth, make_mentor, make_mentee, clock: ManualClock
) -> None:
    mentor = await make_mentor(hours=weekly("09:00", "12:00"), min_notice_minutes=120)
    mentee = await make_mentee()
    # Monday 05 Jan 09:30 Nairobi: 09:00 has passed, 10:00 and 11:00 are within two hours.
    clock.set(datetime(2026, 1, 5, 9, 30, tzinfo=NAIROBI))
    first = await _slots(client, auth(mentee), mentor.types["one_on_one"], "EAT", "2026-01-05", 2)
    assert [s.strftime("%d %H:%M") for s in first] == ["06 09:00", "06 10:00", "06 11:00"]

    response = await book(client, auth(mentee), mentor.types["one_on_one"], first[1])
    assert response.status_code == 201, response.text

    later = await _slots(client, auth(mentee), mentor.types["one_on_one"], "EAT", "2026-01-05", 2)
    assert [s.strftime("%d %H:%M") for s in later] == ["06 09:00", "06 11:00"]
    # The mentor's 1:1 booking also blocks the group type at that hour (one calendar).
    group = await _slots(client, auth(mentee), mentor.types["group"], "EAT", "2026-01-05", 2)
    assert [s.strftime("%d %H:%M") for s in group] == ["06 09:00", "06 11:00"]


def test_timezone_abbreviations_map_to_iana_zones_and_unknown_names_fail() -> None:
    assert resolve_timezone("EAT").key == "Africa/Nairobi"
    assert resolve_timezone("est").key == "America/New_York"
    assert resolve_timezone("Europe/London").key == "Europe/London"
    with pytest.raises(InvalidInput):
        resolve_timezone("Mars/Olympus")


async def test_schedule_with_unknown_zone_or_backwards_hours_is_refused(
    client: Client, auth: Auth, make_mentor
) -> None:
    mentor = await make_mentor()
    bad_zone = await client.post(
        "/api/v1/schedules",
        json={"name": "x", "timezone": "Nowhere/City", "weekly_hours": []},
        headers=auth(mentor.user),
    )
    backwards = await client.post(
        "/api/v1/schedules",
        json={
            "name": "x",
            "timezone": "EAT",
            "weekly_hours": [{"weekday": 0, "start": "12:00", "end": "09:00"}],
        },
        headers=auth(mentor.user),
    )
    assert bad_zone.status_code == 422
    assert bad_zone.json()["errors"][0]["field"] == "timezone"
    assert backwards.status_code == 422
    assert backwards.json()["errors"][0]["field"] == "weekly_hours"


async def test_a_session_type_can_use_its_own_schedule_instead_of_the_default(
    client: Client, auth: Auth, make_mentor
) -> None:
    mentor = await make_mentor(hours=weekly("09:00", "11:00"))
    headers = auth(mentor.user)
    saturday = await client.post(
        "/api/v1/schedules",
        json={
            "name": "Saturday clinic",
            "timezone": "Europe/London",
            "weekly_hours": [{"weekday": 5, "start": "10:00", "end": "12:00"}],
        },
        headers=headers,
    )
    clinic = await client.post(
        "/api/v1/session-types",
        json={
            "title": "Clinic",
            "kind": "workshop",
            "duration_minutes": 120,
            "price_minor": 0,
            "capacity": 20,
            "schedule_id": saturday.json()["id"],
        },
        headers=headers,
    )
    schedules = await client.get(f"/api/v1/mentors/{mentor.id}/schedules", headers=headers)

    assert clinic.status_code == 201, clinic.text
    # The first schedule stays the default.
    assert [s["is_default"] for s in schedules.json()] == [True, False]
    slots = await _slots(client, headers, clinic.json()["id"], "EAT", "2026-01-05", 14)
    assert [s.strftime("%a %d %H:%M") for s in slots] == ["Sat 10 13:00", "Sat 17 13:00"]
