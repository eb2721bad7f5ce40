"""Discovery filters and auto-match: probation hides, filters narrow, timezone overlap
ranks, availability in N days, quiz matches with a score and reasons."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from dracarys.db import transaction
from dracarys.identity import Role
from dracarys.identity.profiles.service import record_rating
from dracarys.platform import Platform
from tests.mentorship.conftest import Client, Mentor, weekly
from tests.support import Auth, vet


async def _rate(platform: Platform, mentor: Mentor, *ratings: int) -> None:
    """Ratings as identity records them from `session.rated`."""
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


async def _languages(client: Client, auth: Auth, mentor: Mentor, *languages: str) -> None:
    response = await client.put(
        "/api/v1/mentors/me/languages",
        json={"languages": list(languages)},
        headers=auth(mentor.user),
    )
    assert response.status_code == 204, response.text


@pytest.fixture
async def mentors(client: Client, auth: Auth, platform: Platform, make_mentor) -> dict[str, Mentor]:
    nairobi = await make_mentor(
        timezone="Africa/Nairobi",
        hours=weekly("09:00", "17:00"),
        specialties=("options", "forex"),
        hourly_rate_minor=300_000,
    )
    new_york = await make_mentor(
        timezone="America/New_York",
        hours=weekly("09:00", "17:00"),
        specialties=("options",),
        hourly_rate_minor=800_000,
    )
    los_angeles = await make_mentor(
        timezone="America/Los_Angeles",
        hours=weekly("09:00", "12:00"),
        specialties=("options", "crypto"),
        hourly_rate_minor=200_000,
    )
    await _languages(client, auth, nairobi, "en", "sw")
    await _languages(client, auth, new_york, "en")
    await _rate(platform, nairobi, 5, 5)
    await _rate(platform, new_york, 3)
    return {"nairobi": nairobi, "new_york": new_york, "los_angeles": los_angeles}


async def _search(client: Client, **params: object) -> list[dict[str, object]]:
    response = await client.get("/api/v1/mentors", params=params)
    assert response.status_code == 200, response.text
    mentors: list[dict[str, object]] = response.json()["mentors"]
    return mentors


async def test_mentors_on_probation_stay_hidden_until_a_reviewer_vets_them(
    client: Client, platform: Platform, make_mentor
) -> None:
    newcomer = await make_mentor(vetted=False, specialties=("futures",))

    hidden = await _search(client, skill="futures")
    await vet(platform, newcomer.id)
    shown = await _search(client, skill="futures")

    assert hidden == []
    assert [m["id"] for m in shown] == [str(newcomer.id)]


async def test_eat_search_keeps_overlapping_mentors_most_overlap_first(
    client: Client, mentors: dict[str, Mentor]
) -> None:
    found = await _search(client, skill="options", timezone="EAT")

    assert [m["id"] for m in found] == [str(mentors["nairobi"].id), str(mentors["new_york"].id)]
    # Nairobi 09–17 on weekdays sits inside 08–20 EAT: 40 h; New York 09–17 EST is 17:00–01:00
    # EAT, of which 17:00–20:00 overlaps: 15 h.
    assert [m["overlap_minutes_per_week"] for m in found] == [40 * 60, 15 * 60]
    assert found[0]["timezone"] == "Africa/Nairobi"


async def test_filters_narrow_by_skill_price_rating_and_language(
    client: Client, mentors: dict[str, Mentor]
) -> None:
    ids = {name: str(m.id) for name, m in mentors.items()}

    assert {m["id"] for m in await _search(client, skill="crypto")} == {ids["los_angeles"]}
    assert {m["id"] for m in await _search(client, max_price=300_000)} == {
        ids["nairobi"],
        ids["los_angeles"],
    }
    assert {m["id"] for m in await _search(client, min_price=500_000)} == {ids["new_york"]}
    assert {m["id"] for m in await _search(client, min_rating=4)} == {ids["nairobi"]}
    assert {m["id"] for m in await _search(client, language="sw")} == {ids["nairobi"]}
    card = next(m for m in await _search(client, skill="forex"))
    assert card["rating_average"] == 5.0
    assert card["languages"] == ["en", "sw"]
    bad = await client.get("/api/v1/mentors", params={"timezone": "XYZ"})
    assert bad.status_code == 422


async def test_available_within_days_needs_a_free_slot_in_that_horizon(
    client: Client, make_mentor
) -> None:
    # No weekly hours; one open afternoon ten days out (the clock is Monday 2026-01-05).
    later = await make_mentor(
        hours=[],
        overrides=[{"date": "2026-01-15", "intervals": [{"start": "14:00", "end": "16:00"}]}],
        specialties=("commodities",),
    )

    soon = await _search(client, skill="commodities", available_within_days=3)
    within_two_weeks = await _search(client, skill="commodities", available_within_days=14)

    assert soon == []
    assert [m["id"] for m in within_two_weeks] == [str(later.id)]
    assert str(within_two_weeks[0]["next_available_at"]).startswith("2026-01-15T11:00:00")


async def test_auto_match_ranks_mentors_from_the_quiz_with_reasons(
    client: Client, auth: Auth, pool: asyncpg.Pool, mentors: dict[str, Mentor], make_mentee
) -> None:
    mentee = await make_mentee()
    missing = await client.get("/api/v1/matches", headers=auth(mentee))
    saved = await client.put(
        "/api/v1/matches/quiz",
        json={
            "style": "forex",
            "experience": "beginner",
            "goals": ["options", "forex"],
            "budget_minor": 400_000,
            "currency": "KES",
            "timezone": "EAT",
            "languages": ["sw"],
        },
        headers=auth(mentee),
    )
    response = await client.get("/api/v1/matches", headers=auth(mentee))

    assert missing.status_code == 404
    assert saved.status_code == 204
    assert response.status_code == 200, response.text
    matches = response.json()["matches"]
    order = [m["mentor"]["id"] for m in matches]
    assert order == [str(mentors[n].id) for n in ("nairobi", "los_angeles", "new_york")]
    scores = [m["score"] for m in matches]
    assert scores == sorted(scores, reverse=True)
    assert 0 < scores[-1] < scores[0] <= 100
    best = matches[0]["reasons"]
    assert best[0] == "teaches forex, options (2 of your 2 goals)"
    assert "within your budget (KES 3,000/h)" in best
    assert "speaks sw" in best
    assert "40 h a week inside your working hours" in best
    # The New York mentor is over budget and shares one goal: no budget reason.
    assert not any("budget" in r for r in matches[2]["reasons"])
    stored = await pool.fetch(
        "SELECT mentor_id, score FROM mentor_matches WHERE mentee_id = $1 ORDER BY score DESC",
        mentee.id,
    )
    assert [(str(r["mentor_id"]), r["score"]) for r in stored] == [
        (m["mentor"]["id"], m["score"]) for m in matches
    ]


async def test_every_card_names_its_next_free_slot_without_an_availability_filter(
    client: Client, make_mentor
) -> None:
    # Weekday mornings in Nairobi; the clock is Monday 2026-01-05 09:00 UTC (12:00 in
    # Nairobi, the end of today's hours), so the first free hour is Tuesday 09:00 EAT.
    open_mentor = await make_mentor(specialties=("scalping",), hours=weekly("09:00", "12:00"))
    no_hours = await make_mentor(specialties=("scalping",), hours=[])

    cards = {m["id"]: m for m in await _search(client, skill="scalping")}

    assert str(cards[str(open_mentor.id)]["next_available_at"]).startswith("2026-01-06T06:00:00")
    assert cards[str(no_hours.id)]["next_available_at"] is None


async def test_a_price_bound_with_a_currency_keeps_mentors_charging_in_it(
    client: Client, make_mentor
) -> None:
    shillings = await make_mentor(specialties=("psychology",), hourly_rate_minor=150_000)
    dollars = await make_mentor(specialties=("psychology",))
    response = await client.patch(
        f"/api/v1/users/{dollars.id}/mentor-profile",
        json={"hourly_rate_minor": 4_000, "currency": "USD"},
        headers=dollars.user.headers,
    )
    assert response.status_code == 200, response.text

    in_kes = await _search(client, skill="psychology", max_price=200_000, currency="KES")
    in_usd = await _search(client, skill="psychology", max_price=5_000, currency="USD")
    bad = await client.get("/api/v1/mentors", params={"currency": "shillings"})

    assert [m["id"] for m in in_kes] == [str(shillings.id)]
    assert [m["id"] for m in in_usd] == [str(dollars.id)]
    assert bad.status_code == 422, bad.text
    assert bad.json()["errors"][0]["field"] == "currency"


async def test_a_listed_mentor_has_a_public_profile_with_bio_and_next_free_slot(
    client: Client, make_mentor, pool: asyncpg.Pool
) -> None:
    mentor = await make_mentor(specialties=("forex",), hours=weekly("09:00", "12:00"))
    # The profile row sign-up makes (the test's account is the row alone).
    await pool.execute(
        "INSERT INTO user_profiles (user_id, updated_at) VALUES ($1, now())", mentor.id
    )
    bio = "Ten years on the London session; risk first."
    response = await client.patch(
        f"/api/v1/users/{mentor.id}/profile",
        json={"bio": bio, "headline": "Forex, risk first"},
        headers=mentor.user.headers,
    )
    assert response.status_code == 200, response.text

    profile = await client.get(f"/api/v1/mentors/{mentor.id}")  # no sign-in needed

    assert profile.status_code == 200, profile.text
    body = profile.json()
    assert body["id"] == str(mentor.id)
    assert body["bio"] == bio
    assert body["headline"] == "Forex, risk first"
    assert body["specialties"] == ["forex"]
    assert body["timezone"] == "Africa/Nairobi"
    # The clock is Monday 2026-01-05 09:00 UTC: the next free hour is Tuesday 09:00 EAT.
    assert body["next_available_at"].startswith("2026-01-06T06:00:00")


async def test_mentors_on_probation_and_other_users_have_no_public_profile(
    client: Client, make_mentor, make_user
) -> None:
    unvetted = await make_mentor(vetted=False)
    mentee = await make_user(role=Role.MENTEE)

    for someone in (unvetted.id, mentee.id, uuid.uuid4()):
        response = await client.get(f"/api/v1/mentors/{someone}")
        assert response.status_code == 404, response.text
        assert response.json()["errors"][0]["field"] == "mentor_id"
