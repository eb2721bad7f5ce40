"""Ratings (from `session.rated` events), session counts, endorsements, reputation score
and the verified-mentor badge."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import asyncpg

from dracarys.clock import ManualClock
from dracarys.db import transaction
from dracarys.identity import Role
from dracarys.identity.profiles.service import record_rating, reputation_score
from dracarys.outbox import Event, emit
from dracarys.platform import Platform
from tests.identity.conftest import Client, new_account, staff_account
from tests.support import TestUser, audit_trail
from workers.runtime import Worker


async def _mentor(pool: asyncpg.Pool, make_user: object) -> TestUser:
    mentor: TestUser = await make_user(role=Role.MENTOR)  # type: ignore[operator]
    await pool.execute("INSERT INTO mentor_profiles (user_id) VALUES ($1)", mentor.id)
    return mentor


def test_reputation_prefers_a_long_good_record_over_one_lucky_rating() -> None:
    assert reputation_score(0, 0, 0) == 48
    one_five_star = reputation_score(1, 5, 0)
    forty_mostly_fives = reputation_score(40, 190, 0)
    assert forty_mostly_fives > one_five_star
    assert reputation_score(40, 190, 50) == reputation_score(40, 190, 0) + 20
    assert reputation_score(10, 10, 0) < reputation_score(0, 0, 0)


async def test_record_rating_is_once_per_session_and_rater(
    platform: Platform, pool: asyncpg.Pool, make_user: object
) -> None:
    mentor = await _mentor(pool, make_user)
    session_id, rater = uuid.uuid4(), uuid.uuid4()
    now = datetime(2026, 1, 5, tzinfo=UTC)
    async with transaction(pool) as conn:
        assert await record_rating(conn, mentor.id, 5, session_id, rater_id=rater, now=now)
        assert not await record_rating(conn, mentor.id, 1, session_id, rater_id=rater, now=now)
        assert await record_rating(conn, mentor.id, 3, uuid.uuid4(), rater_id=rater, now=now)
    row = await pool.fetchrow(
        "SELECT rating_count, rating_sum FROM mentor_profiles WHERE user_id = $1", mentor.id
    )
    assert (row["rating_count"], row["rating_sum"]) == (2, 8)
    assert await pool.fetchval(
        "SELECT reputation_score FROM users WHERE id = $1", mentor.id
    ) == reputation_score(2, 8, 0)


async def test_session_rated_and_attended_events_update_the_mentor_once(
    platform: Platform, pool: asyncpg.Pool, make_user: object, worker: Worker
) -> None:
    mentor = await _mentor(pool, make_user)
    mentee_user: TestUser = await make_user(role=Role.MENTEE)  # type: ignore[operator]
    session_id, mentee = uuid.uuid4(), mentee_user.id
    async with transaction(pool) as conn:
        await emit(
            conn,
            "session.attended",
            {"session_id": str(session_id), "mentor_id": str(mentor.id), "mentee_id": str(mentee)},
        )
        await emit(
            conn,
            "session.rated",
            {
                "session_id": str(session_id),
                "rater_id": str(mentee),
                "rated_id": str(mentor.id),
                "rating": 4,
            },
        )
    for _ in range(200):
        row = await pool.fetchrow(
            "SELECT rating_count, total_sessions FROM mentor_profiles WHERE user_id = $1", mentor.id
        )
        if row["rating_count"] and row["total_sessions"]:
            break
        await asyncio.sleep(0.05)
    # Redelivery of the same events changes nothing.
    events = await pool.fetch(
        "SELECT id, topic, payload, created_at FROM outbox WHERE topic LIKE 'session.%'"
    )
    assert len(events) == 2
    await worker.publish_events(
        [
            Event(id=e["id"], topic=e["topic"], payload=e["payload"], created_at=e["created_at"])
            for e in events
        ]
    )
    await asyncio.sleep(0.2)
    row = await pool.fetchrow(
        "SELECT rating_count, rating_sum, total_sessions FROM mentor_profiles WHERE user_id = $1",
        mentor.id,
    )
    assert (row["rating_count"], row["rating_sum"], row["total_sessions"]) == (1, 4, 1)


async def test_endorsements_raise_reputation_once_per_skill(
    client: Client, pool: asyncpg.Pool, make_user: object
) -> None:
    mentor = await _mentor(pool, make_user)
    fan = await new_account(client)
    url = f"/api/v1/users/{mentor.id}/endorsements"
    assert (await client.post(url, json={"skill": "forex"}, headers=fan.headers)).status_code == 201
    assert (await client.post(url, json={"skill": "forex"}, headers=fan.headers)).status_code == 409
    assert (
        await client.post(url, json={"skill": "options"}, headers=fan.headers)
    ).status_code == 201
    self_endorse = await client.post(
        f"/api/v1/users/{fan.id}/endorsements", json={"skill": "forex"}, headers=fan.headers
    )
    assert self_endorse.status_code == 422
    public = (await client.get(f"/api/v1/users/{mentor.id}")).json()
    assert public["endorsement_count"] == 2
    assert public["reputation_score"] == reputation_score(0, 0, 2)


async def test_verified_badge_needs_admin_verification_and_end_of_probation(
    client: Client, pool: asyncpg.Pool, make_user: object, clock: ManualClock
) -> None:
    mentor = await _mentor(pool, make_user)
    admin = await staff_account(client, pool, clock, Role.ADMIN)
    url = f"/api/v1/admin/mentors/{mentor.id}"
    await client.patch(url, json={"verified": True}, headers=admin.headers)
    view = (await client.get(f"/api/v1/users/{mentor.id}")).json()["mentor"]
    assert view["verified"] is True
    assert view["verified_badge"] is False
    await client.patch(url, json={"on_probation": False}, headers=admin.headers)
    view = (await client.get(f"/api/v1/users/{mentor.id}")).json()["mentor"]
    assert view["verified_badge"] is True


async def test_a_reviewer_vets_a_mentor_off_probation_and_a_mentee_cannot(
    client: Client, pool: asyncpg.Pool, make_user: object, clock: ManualClock
) -> None:
    mentor = await _mentor(pool, make_user)
    reviewer = await staff_account(client, pool, clock, Role.REVIEWER)
    mentee = await make_user(role=Role.MENTEE)  # type: ignore[operator]
    url = f"/api/v1/admin/mentors/{mentor.id}"
    refused = await client.patch(url, json={"on_probation": False}, headers=mentee.headers)
    assert refused.status_code == 403
    assert (await client.get(f"/api/v1/users/{mentor.id}")).json()["mentor"]["on_probation"]
    vetted = await client.patch(url, json={"on_probation": False}, headers=reviewer.headers)
    assert vetted.status_code == 200, vetted.text
    [(actor, target, _)] = await audit_trail(pool, "admin.mentor_status")
    assert (actor, target) == (reviewer.id, f"user:{mentor.id}")
    assert not (await client.get(f"/api/v1/users/{mentor.id}")).json()["mentor"]["on_probation"]
