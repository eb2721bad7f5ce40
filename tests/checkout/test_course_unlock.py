"""A course unlocked with points opens without payment: the redemption names the course
and spends exactly its price in points (at what a point is worth), the unlock is granted in
the redemption's transaction, once; the cohort's quote then costs nothing and joining
holds no escrow. Free, foreign-currency and already-owned courses are refused by their
field, and nothing is spent."""

from __future__ import annotations

import uuid
from typing import Any

from dracarys.identity import Role
from dracarys.platform import Platform
from tests.checkout.conftest import give_points, quote
from tests.curriculum.conftest import build_course
from tests.mentorship.conftest import Client
from tests.points.conftest import balance_of
from tests.support import Auth, balance

URL = "/api/v1/wallet/convert-points"
PRICE = 50_000  # KES 500.00: 50,000 points at one minor unit a point


async def unlock(client: Client, headers: dict[str, str], program_id: str, points: int) -> Any:
    return await client.post(
        URL,
        json={"points": points, "target": "course_unlock", "target_ref": program_id},
        headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
    )


async def test_an_unlocked_course_is_joined_without_payment(
    client: Client, auth: Auth, platform: Platform, make_user, make_mentee
) -> None:
    mentor = await make_user(role=Role.MENTOR, kyc_level=2)
    course = await build_course(client, auth, mentor, price_minor=PRICE)
    member = await make_mentee(funds_minor=0)
    await give_points(platform, member.id, 60_000)
    program_id = course.program["id"]

    short = await unlock(client, auth(member), program_id, 40_000)
    assert short.status_code == 422
    assert short.json()["errors"][0] == {
        "field": "points",
        "message": "unlocking “Options foundations” takes 50,000 points",
    }
    unlocked = await unlock(client, auth(member), program_id, 50_000)
    assert unlocked.status_code == 201, unlocked.text
    assert unlocked.json()["status"] == "fulfilled"
    assert await balance_of(platform.pool, member.id) == 10_000
    again = await unlock(client, auth(member), program_id, 50_000)
    assert again.status_code == 409
    assert again.json()["errors"][0] == {
        "field": "target_ref",
        "message": "you have unlocked this course already",
    }
    assert await balance_of(platform.pool, member.id) == 10_000

    offered = await quote(client, auth(member), kind="cohort", id=course.cohort)
    assert offered.status_code == 200, offered.text
    body = offered.json()
    assert (body["price_minor"], body["total_minor"], body["shortfall_minor"]) == (0, 0, 0)
    assert body["detail"].endswith("unlocked with your points")
    joined = await client.post(
        f"/api/v1/cohorts/{course.cohort}/join",
        json={},
        headers={**auth(member), "Idempotency-Key": "join-unlocked"},
    )
    assert joined.status_code == 201, joined.text
    assert joined.json()["amount_minor"] == 0
    assert await balance(platform.pool, member.id, "KES") == (0, 0)
    enrolled = await platform.pool.fetchrow(
        "SELECT amount_minor, escrow_id FROM cohort_enrolments WHERE user_id = $1", member.id
    )
    assert (enrolled["amount_minor"], enrolled["escrow_id"]) == (0, None)

    # Someone else still pays: the unlock is the member's own.
    other = await make_mentee(funds_minor=0)
    theirs = await quote(client, auth(other), kind="cohort", id=course.cohort)
    assert theirs.json()["price_minor"] == PRICE


async def test_free_foreign_and_unknown_courses_are_refused_and_nothing_is_spent(
    client: Client, auth: Auth, platform: Platform, make_user, make_mentee
) -> None:
    mentor = await make_user(role=Role.MENTOR, kyc_level=2)
    free = await build_course(client, auth, mentor, price_minor=0)
    dollars = await client.post(
        "/api/v1/programs",
        json={"title": "Dollar course", "price_minor": 4_000, "currency": "USD", "published": True},
        headers=auth(mentor),
    )
    assert dollars.status_code == 201, dollars.text
    member = await make_mentee(funds_minor=0)
    await give_points(platform, member.id, 10_000)

    refused_free = await unlock(client, auth(member), free.program["id"], 1)
    assert refused_free.status_code == 409
    assert refused_free.json()["errors"][0]["message"] == (
        "this course is free: join it without points"
    )
    foreign = await unlock(client, auth(member), dollars.json()["id"], 4_000)
    assert foreign.status_code == 409
    assert foreign.json()["errors"][0] == {
        "field": "target_ref",
        "message": "“Dollar course” is priced in USD; points unlock courses priced in KES",
    }
    unknown = await unlock(client, auth(member), str(uuid.uuid4()), 100)
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "target_ref"
    assert await balance_of(platform.pool, member.id) == 10_000
