"""Paid enrolment pays into escrow, so it takes its idempotency key from the
`Idempotency-Key` header (the header alone, with no body, is a whole request) or the body,
and applies once."""

from __future__ import annotations

import uuid

import asyncpg

from tests.curriculum.conftest import Auth, Client, build_course
from tests.idempotency import check_idempotent_route


async def test_concurrent_enrolments_with_one_header_key_enrol_once(
    client: Client, auth: Auth, pool: asyncpg.Pool, course_mentor, make_mentee
) -> None:
    mentor = await course_mentor()
    course = await build_course(client, auth, mentor, price_minor=50_000)
    mentee = await make_mentee()

    async def enrolments_of(user_id: uuid.UUID) -> int:
        count: int = await pool.fetchval(
            "SELECT count(*) FROM cohort_enrolments WHERE user_id = $1", user_id
        )
        return count

    url = f"/api/v1/cohorts/{course.cohort}/join"
    key = "enrol-by-header-only"
    alone = await client.post(url, headers={**auth(mentee), "Idempotency-Key": key})
    assert alone.status_code == 201, alone.text
    assert await enrolments_of(mentee.id) == 1
    again = await client.post(url, json={}, headers={**auth(mentee), "Idempotency-Key": key})
    assert (again.status_code, again.json()) == (alone.status_code, alone.json())
    paid = await pool.fetchval("SELECT count(*) FROM escrows WHERE payer_id = $1", mentee.id)
    assert paid == 1

    other = await make_mentee()
    await check_idempotent_route(
        client,
        url,
        body={},
        changed_body=None,  # nothing in an enrolment's body to change: the cohort is the URL
        headers=auth(other),
        effects=lambda: enrolments_of(other.id),
    )


async def test_a_short_idempotency_key_in_the_body_is_a_422_naming_it(
    client: Client, auth: Auth, course_mentor, make_mentee
) -> None:
    mentor = await course_mentor()
    course = await build_course(client, auth, mentor, price_minor=0)
    mentee = await make_mentee()
    response = await client.post(
        f"/api/v1/cohorts/{course.cohort}/join",
        json={"idempotency_key": "short"},
        headers=auth(mentee),
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "idempotency_key"
