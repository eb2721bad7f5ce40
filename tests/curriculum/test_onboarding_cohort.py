"""The onboarding cohort: only an admin runs an onboarding program, and it is free; the
offer is the soonest onboarding cohort with room; joining goes through the usual
enrolment (idempotent, capacity respected under a race) and earns the onboarding points
once; "not now" is remembered without closing the door; only members are offered it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from dracarys.identity import Role
from dracarys.platform import Platform
from tests.curriculum.conftest import Auth, Client
from tests.points.conftest import drain
from tests.support import TestUser

MakeUser = Callable[..., Awaitable[TestUser]]
OFFER = "/api/v1/onboarding/cohort"


async def _onboarding_program(
    client: Client, auth: Auth, admin: TestUser, title: str = "Start here"
) -> str:
    response = await client.post(
        "/api/v1/programs",
        json={"title": title, "published": True, "onboarding": True, "topics": ["psychology"]},
        headers=auth(admin),
    )
    assert response.status_code == 201, response.text
    program_id: str = response.json()["id"]
    return program_id


async def _cohort(
    client: Client,
    auth: Auth,
    owner: TestUser,
    program_id: str,
    *,
    starts_at: str = "2026-01-07T06:00:00Z",
    ends_at: str = "2026-01-21T06:00:00Z",
    capacity: int = 50,
    title: str = "Newcomers",
) -> str:
    response = await client.post(
        f"/api/v1/programs/{program_id}/cohorts",
        json={"title": title, "starts_at": starts_at, "ends_at": ends_at, "capacity": capacity},
        headers=auth(owner),
    )
    assert response.status_code == 201, response.text
    cohort_id: str = response.json()["id"]
    return cohort_id


async def _join(client: Client, auth: Auth, user: TestUser, cohort_id: str, key: str) -> Any:
    return await client.post(
        f"/api/v1/cohorts/{cohort_id}/join", json={"idempotency_key": key}, headers=auth(user)
    )


async def _offer(client: Client, auth: Auth, user: TestUser) -> dict[str, Any]:
    response = await client.get(OFFER, headers=auth(user))
    assert response.status_code == 200, response.text
    offer: dict[str, Any] = response.json()
    return offer


async def test_only_an_admin_runs_an_onboarding_program_and_it_stays_free(
    client: Client, auth: Auth, make_user: MakeUser
) -> None:
    mentor = await make_user(role=Role.MENTOR, kyc_level=2)
    admin = await make_user(role=Role.ADMIN)
    body = {"title": "Newcomers", "published": True, "onboarding": True}

    by_mentor = await client.post("/api/v1/programs", json=body, headers=auth(mentor))
    priced = await client.post(
        "/api/v1/programs", json={**body, "price_minor": 1_000}, headers=auth(admin)
    )
    created = await client.post("/api/v1/programs", json=body, headers=auth(admin))
    program_id = created.json()["id"]
    # An edit that leaves the flag out keeps it; a price is refused while it is set.
    edited = await client.put(
        f"/api/v1/programs/{program_id}",
        json={"title": "Newcomers, renamed", "published": True},
        headers=auth(admin),
    )
    repriced = await client.put(
        f"/api/v1/programs/{program_id}",
        json={"title": "Newcomers", "published": True, "price_minor": 500},
        headers=auth(admin),
    )
    own = await client.post(
        "/api/v1/programs", json={"title": "Mine", "published": True}, headers=auth(mentor)
    )
    flagged_by_mentor = await client.put(
        f"/api/v1/programs/{own.json()['id']}",
        json={"title": "Mine", "published": True, "onboarding": True},
        headers=auth(mentor),
    )

    assert by_mentor.status_code == 403
    assert priced.status_code == 422
    assert priced.json()["errors"][0]["field"] == "price_minor"
    assert created.status_code == 201, created.text
    assert created.json()["onboarding"] is True
    assert edited.status_code == 200, edited.text
    assert edited.json()["onboarding"] is True
    assert repriced.status_code == 422
    assert repriced.json()["errors"][0]["field"] == "price_minor"
    assert own.json()["onboarding"] is False
    assert flagged_by_mentor.status_code == 403


async def test_the_offer_is_the_soonest_onboarding_cohort_that_has_room(
    client: Client, auth: Auth, make_user: MakeUser
) -> None:
    admin = await make_user(role=Role.ADMIN)
    mentor = await make_user(role=Role.MENTOR, kyc_level=2)
    newcomer = await make_user(role=Role.MENTEE)
    early_bird = await make_user(role=Role.MENTEE)
    nothing_yet = await _offer(client, auth, newcomer)

    program = await _onboarding_program(client, auth, admin)
    other_program = await _onboarding_program(client, auth, admin, "Start here, too")
    await _cohort(
        client,
        auth,
        admin,
        program,
        title="Ended",
        starts_at="2025-12-01T06:00:00Z",
        ends_at="2025-12-15T06:00:00Z",
    )
    full = await _cohort(
        client,
        auth,
        admin,
        other_program,
        title="Full",
        starts_at="2026-01-06T06:00:00Z",
        capacity=1,
    )
    taken = await _join(client, auth, early_bird, full, "early-bird")
    await _cohort(
        client,
        auth,
        admin,
        program,
        title="Later",
        starts_at="2026-01-20T06:00:00Z",
        ends_at="2026-02-03T06:00:00Z",
    )
    sooner = await _cohort(client, auth, admin, program, title="Sooner")
    # A regular program's cohort, sooner still, is never the onboarding offer.
    regular = await client.post(
        "/api/v1/programs", json={"title": "Regular", "published": True}, headers=auth(mentor)
    )
    await _cohort(client, auth, mentor, regular.json()["id"], starts_at="2026-01-05T12:00:00Z")

    offer = await _offer(client, auth, newcomer)

    assert nothing_yet == {"status": "none", "cohort": None, "declined_at": None}
    assert taken.status_code == 201, taken.text
    assert offer["status"] == "open"
    assert offer["cohort"]["id"] == sooner
    assert offer["cohort"]["program_title"] == "Start here"
    assert offer["cohort"]["seats_left"] == 50
    assert offer["declined_at"] is None


async def _ledger(pool: asyncpg.Pool, user_id: uuid.UUID) -> list[tuple[str, int]]:
    rows = await pool.fetch(
        "SELECT reason_code, delta FROM points_ledger WHERE user_id = $1 ORDER BY seq", user_id
    )
    return [(r["reason_code"], r["delta"]) for r in rows]


async def _outbox(pool: asyncpg.Pool, topic: str, user_id: uuid.UUID) -> int:
    count: int = await pool.fetchval(
        "SELECT count(*) FROM outbox WHERE topic = $1 AND payload->>'user_id' = $2",
        topic,
        str(user_id),
    )
    return count


async def test_joining_is_an_enrolment_that_repeats_safely_and_earns_points_once(
    client: Client, auth: Auth, pool: asyncpg.Pool, platform: Platform, make_user: MakeUser
) -> None:
    admin = await make_user(role=Role.ADMIN)
    mentor = await make_user(role=Role.MENTOR, kyc_level=2)
    newcomer = await make_user(role=Role.MENTEE)
    cohort = await _cohort(client, auth, admin, await _onboarding_program(client, auth, admin))
    regular = await client.post(
        "/api/v1/programs", json={"title": "Regular", "published": True}, headers=auth(mentor)
    )
    regular_cohort = await _cohort(client, auth, mentor, regular.json()["id"])

    first = await _join(client, auth, newcomer, cohort, "onboard-1")
    again = await _join(client, auth, newcomer, cohort, "onboard-1")
    other_key = await _join(client, auth, newcomer, cohort, "onboard-2")
    elsewhere = await _join(client, auth, newcomer, regular_cohort, "regular-1")
    await drain(platform)
    await drain(platform)
    offer = await _offer(client, auth, newcomer)

    assert first.status_code == 201, first.text
    assert again.json() == first.json()
    assert other_key.json() == first.json()
    assert elsewhere.status_code == 201, elsewhere.text
    seats = await pool.fetchval(
        "SELECT count(*) FROM cohort_enrolments WHERE cohort_id = $1", uuid.UUID(cohort)
    )
    assert seats == 1
    assert await _outbox(pool, "cohort.joined", newcomer.id) == 2
    assert await _outbox(pool, "onboarding.cohort_joined", newcomer.id) == 1
    assert ("onboarding_cohort_joined", 50) in await _ledger(pool, newcomer.id)
    assert [c for c, _ in await _ledger(pool, newcomer.id)].count("onboarding_cohort_joined") == 1
    assert offer["status"] == "joined"
    assert offer["cohort"]["id"] == cohort
    assert offer["cohort"]["seats_left"] == 49


async def test_newcomers_racing_for_the_last_seats_fill_them_and_no_more(
    client: Client, auth: Auth, pool: asyncpg.Pool, make_user: MakeUser
) -> None:
    admin = await make_user(role=Role.ADMIN)
    cohort = await _cohort(
        client, auth, admin, await _onboarding_program(client, auth, admin), capacity=2
    )
    newcomers = [await make_user(role=Role.MENTEE) for _ in range(5)]

    answers = await asyncio.gather(
        *(_join(client, auth, user, cohort, f"race-{user.id}") for user in newcomers)
    )
    offers = [await _offer(client, auth, user) for user in newcomers]

    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201, 201, 409, 409, 409]
    refusals = [a.json() for a in answers if a.status_code == 409]
    assert all(r["errors"][0]["field"] == "cohort_id" for r in refusals)
    assert all("full" in r["detail"] for r in refusals)
    seats = await pool.fetchval(
        "SELECT count(*) FROM cohort_enrolments WHERE cohort_id = $1", uuid.UUID(cohort)
    )
    assert seats == 2
    assert sorted(o["status"] for o in offers) == ["joined", "joined", "none", "none", "none"]


async def test_not_now_is_remembered_and_joining_stays_possible(
    client: Client, auth: Auth, make_user: MakeUser
) -> None:
    admin = await make_user(role=Role.ADMIN)
    newcomer = await make_user(role=Role.MENTEE)
    cohort = await _cohort(client, auth, admin, await _onboarding_program(client, auth, admin))

    declined = await client.post(f"{OFFER}/decline", headers=auth(newcomer))
    declined_again = await client.post(f"{OFFER}/decline", headers=auth(newcomer))
    shown_later = await _offer(client, auth, newcomer)
    joined = await _join(client, auth, newcomer, cohort, "changed-my-mind")
    after_joining = await _offer(client, auth, newcomer)
    decline_when_in = await client.post(f"{OFFER}/decline", headers=auth(newcomer))

    assert declined.status_code == 200, declined.text
    assert declined.json()["status"] == "declined"
    assert declined.json()["declined_at"] is not None
    assert declined_again.status_code == 200
    assert shown_later["status"] == "declined"
    assert shown_later["cohort"]["id"] == cohort
    assert joined.status_code == 201, joined.text
    assert after_joining["status"] == "joined"
    assert decline_when_in.status_code == 409


async def test_only_members_are_offered_the_onboarding_cohort(
    client: Client, auth: Auth, make_user: MakeUser
) -> None:
    observer = await make_user(role=Role.OBSERVER)
    admin = await make_user(role=Role.ADMIN)
    mentor = await make_user(role=Role.MENTOR, kyc_level=2)

    anonymous = (await client.get(OFFER)).status_code
    for_observer = (await client.get(OFFER, headers=auth(observer))).status_code
    observer_declines = (await client.post(f"{OFFER}/decline", headers=auth(observer))).status_code
    for_admin = (await client.get(OFFER, headers=auth(admin))).status_code
    for_mentor = (await client.get(OFFER, headers=auth(mentor))).status_code

    assert (anonymous, for_observer, observer_declines, for_admin) == (401, 403, 403, 403)
    assert for_mentor == 200
