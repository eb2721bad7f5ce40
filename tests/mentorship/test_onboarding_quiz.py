"""The onboarding quiz: answers kept and shown again to be changed, answers outside the
quiz's lists refused naming the field (leaving the saved answers as they were), only
members take it, mentors matched with the reasons they matched, and programs suggested
from the answers with a reason for each."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import pytest

from dracarys.db import transaction
from dracarys.identity import Role
from dracarys.identity.profiles.service import record_rating
from dracarys.platform import Platform
from tests.mentorship.conftest import Client, MakeUser, Mentor, weekly
from tests.support import Auth, TestUser

ANSWERS: dict[str, Any] = {
    "style": "swing_trader",
    "experience": "beginner",
    "markets": ["forex"],
    "goals": ["risk_management"],
    "budget_minor": 300_000,
    "currency": "KES",
    "timezone": "Africa/Nairobi",
    "languages": ["en", "sw"],
    "weekly_hours": 2,
}


async def _save(client: Client, auth: Auth, user: TestUser, answers: dict[str, Any]) -> Any:
    return await client.put("/api/v1/matches/quiz", json=answers, headers=auth(user))


async def _saved(client: Client, auth: Auth, user: TestUser) -> dict[str, Any]:
    response = await client.get("/api/v1/matches/quiz", headers=auth(user))
    assert response.status_code == 200, response.text
    saved: dict[str, Any] = response.json()
    return saved


async def test_saved_answers_are_shown_again_and_a_new_set_replaces_them(
    client: Client, auth: Auth, make_mentee
) -> None:
    mentee = await make_mentee()
    before = await _saved(client, auth, mentee)
    first = await _save(client, auth, mentee, ANSWERS)
    after_first = await _saved(client, auth, mentee)
    changed = {**ANSWERS, "experience": "intermediate", "markets": ["crypto", "options"]}
    second = await _save(client, auth, mentee, changed)
    after_second = await _saved(client, auth, mentee)

    assert before == {"answers": None, "updated_at": None}
    assert first.status_code == 204, first.text
    assert after_first["answers"] == ANSWERS
    assert after_first["updated_at"] is not None
    assert second.status_code == 204, second.text
    assert after_second["answers"] == changed


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("experience", "expert"),
        ("markets", ["tulips"]),
        ("goals", ["consistency"]),
        ("style", "yolo"),
        ("languages", ["xx"]),
        ("currency", "ABC"),
        ("timezone", "Mars/Olympus_Mons"),
        ("budget_minor", -1),
        ("weekly_hours", 0),
        ("favourite_colour", "blue"),
    ],
)
async def test_an_answer_outside_the_quiz_is_a_422_naming_it_and_changes_nothing(
    client: Client, auth: Auth, make_mentee, field: str, value: object
) -> None:
    mentee = await make_mentee()
    assert (await _save(client, auth, mentee, ANSWERS)).status_code == 204

    refused = await _save(client, auth, mentee, {**ANSWERS, field: value})

    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["field"].startswith(field)
    assert (await _saved(client, auth, mentee))["answers"] == ANSWERS


async def test_only_members_take_the_quiz_and_get_its_matches(
    client: Client, auth: Auth, make_user: MakeUser
) -> None:
    observer = await make_user(role=Role.OBSERVER)
    admin = await make_user(role=Role.ADMIN)
    mentor = await make_user(role=Role.MENTOR)
    urls = ("/api/v1/matches/quiz", "/api/v1/matches", "/api/v1/matches/programs")

    anonymous = [(await client.get(url)).status_code for url in urls]
    for_observer = [(await client.get(url, headers=auth(observer))).status_code for url in urls]
    for_admin = [(await client.get(url, headers=auth(admin))).status_code for url in urls]
    observer_saves = await _save(client, auth, observer, ANSWERS)
    mentor_saves = await _save(client, auth, mentor, ANSWERS)

    assert anonymous == [401, 401, 401]
    assert for_observer == [403, 403, 403]
    assert for_admin == [403, 403, 403]
    assert observer_saves.status_code == 403
    assert mentor_saves.status_code == 204


async def _rate(platform: Platform, mentor: Mentor, *ratings: int) -> None:
    async with transaction(platform.pool) as conn:
        for rating in ratings:
            await record_rating(
                conn,
                mentor.id,
                rating,
                uuid.uuid4(),
                rater_id=uuid.uuid4(),
                now=platform.clock.now(),
            )


async def test_each_matched_mentor_comes_with_the_reasons_it_matched(
    client: Client, auth: Auth, platform: Platform, make_mentor, make_mentee
) -> None:
    nairobi = await make_mentor(
        timezone="Africa/Nairobi",
        hours=weekly("09:00", "17:00"),
        specialties=("forex", "risk_management"),
        hourly_rate_minor=250_000,
    )
    tokyo = await make_mentor(
        timezone="Asia/Tokyo",
        hours=weekly("09:00", "11:00"),
        specialties=("crypto",),
        hourly_rate_minor=900_000,
    )
    languages = await client.put(
        "/api/v1/mentors/me/languages", json={"languages": ["sw"]}, headers=auth(nairobi.user)
    )
    assert languages.status_code == 204
    await _rate(platform, nairobi, 5, 5)
    mentee = await make_mentee()
    await _save(client, auth, mentee, ANSWERS)

    response = await client.get("/api/v1/matches", headers=auth(mentee))

    assert response.status_code == 200, response.text
    matches = response.json()["matches"]
    assert [m["mentor"]["id"] for m in matches] == [str(nairobi.id), str(tokyo.id)]
    best = matches[0]["reasons"]
    assert "trades forex (1 of your 1 markets)" in best
    assert "teaches risk management (1 of your 1 goals)" in best
    assert "within your budget (KES 2,500/h)" in best
    assert "40 h a week inside your working hours" in best
    assert "speaks sw" in best
    assert "rated 5.0 from 2 reviews" in best
    # Tokyo shares no market or goal, costs more than the budget, speaks no shared
    # language and its mornings fall before 08:00 in Nairobi.
    assert matches[1]["reasons"] == []
    assert matches[1]["score"] < matches[0]["score"]


async def _program(
    client: Client, auth: Auth, owner: TestUser, *, lessons: tuple[int, ...] = (), **fields: Any
) -> str:
    body = {"published": True, **fields}
    response = await client.post("/api/v1/programs", json=body, headers=auth(owner))
    assert response.status_code == 201, response.text
    program_id: str = response.json()["id"]
    if lessons:
        module = await client.post(
            f"/api/v1/programs/{program_id}/modules", json={"title": "One"}, headers=auth(owner)
        )
        for minutes in lessons:
            lesson = await client.post(
                f"/api/v1/modules/{module.json()['id']}/lessons",
                json={"title": f"{minutes} minutes", "estimated_minutes": minutes},
                headers=auth(owner),
            )
            assert lesson.status_code == 201, lesson.text
    return program_id


async def _cohort(
    client: Client, auth: Auth, owner: TestUser, program_id: str, capacity: int = 5
) -> str:
    response = await client.post(
        f"/api/v1/programs/{program_id}/cohorts",
        json={
            "title": "January",
            "starts_at": "2026-01-12T06:00:00Z",
            "ends_at": "2026-02-12T06:00:00Z",
            "capacity": capacity,
        },
        headers=auth(owner),
    )
    assert response.status_code == 201, response.text
    cohort_id: str = response.json()["id"]
    return cohort_id


async def test_programs_are_suggested_from_the_answers_each_with_its_reasons(
    client: Client, auth: Auth, pool: asyncpg.Pool, make_user: MakeUser, make_mentee
) -> None:
    mentor = await make_user(role=Role.MENTOR, kyc_level=2)
    admin = await make_user(role=Role.ADMIN)
    mentee = await make_mentee()
    fits = await _program(
        client,
        auth,
        mentor,
        title="Forex for beginners",
        topics=["forex", "risk_management"],
        price_minor=200_000,
        lessons=(60, 60),
    )
    await _cohort(client, auth, mentor, fits)
    pricey = await _program(
        client,
        auth,
        mentor,
        title="Forex in depth",
        topics=["forex"],
        difficulty="intermediate",
        price_minor=900_000,
    )
    await _program(client, auth, mentor, title="Crypto basics", topics=["crypto"])
    await _program(client, auth, mentor, title="Draft forex", topics=["forex"], published=False)
    await _program(client, auth, admin, title="Start here", topics=["forex"], onboarding=True)
    joined = await _program(client, auth, mentor, title="Forex already", topics=["forex"])
    joined_cohort = await _cohort(client, auth, mentor, joined)
    enrolled = await client.post(
        f"/api/v1/cohorts/{joined_cohort}/join",
        json={"idempotency_key": "join-forex-already"},
        headers=auth(mentee),
    )
    assert enrolled.status_code == 201, enrolled.text

    before_quiz = await client.get("/api/v1/matches/programs", headers=auth(mentee))
    await _save(client, auth, mentee, ANSWERS)
    response = await client.get("/api/v1/matches/programs", headers=auth(mentee))

    assert before_quiz.status_code == 404
    assert response.status_code == 200, response.text
    suggestions = response.json()["suggestions"]
    assert [s["program"]["id"] for s in suggestions] == [fits, pricey]
    assert suggestions[0]["reasons"] == [
        "covers forex (1 of your 1 markets)",
        "teaches risk management (1 of your 1 goals)",
        "made for beginners, like you",
        "within your budget (KES 2,000)",
        "about 1 week at your 2 h a week",
        "next cohort starts 12 Jan 2026 (5 seats left)",
    ]
    assert suggestions[0]["score"] == 100
    assert suggestions[0]["program"]["total_minutes"] == 120
    assert suggestions[0]["program"]["next_cohort"]["seats_left"] == 5
    # Over the budget and a level up: suggested for what it covers, with no price reason.
    assert suggestions[1]["reasons"] == ["covers forex (1 of your 1 markets)"]
    assert 0 < suggestions[1]["score"] < suggestions[0]["score"]
    onboarding_programs = await pool.fetchval("SELECT count(*) FROM programs WHERE onboarding")
    assert onboarding_programs == 1
