"""The demo seeder (idempotent, gives bookable mentors and a program) and the scheduled
jobs' registration."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
from taskiq import InMemoryBroker

from dracarys.clock import ManualClock
from dracarys.curriculum import seed_curriculum_demo
from dracarys.db import transaction
from dracarys.identity import DEMO_MENTORS, seed_identity_demo
from dracarys.mentorship import complete_ended_sessions, seed_mentorship_demo
from dracarys.platform import Platform
from dracarys.wallet.escrow.service import open_dispute
from tests.mentorship.conftest import Client, book
from tests.support import Auth
from workers.mentorship_tasks import COMPLETE_SESSIONS, EXPIRE_PACKAGES, SEND_REMINDERS
from workers.tasks import register_tasks

COUNTS = """SELECT (SELECT count(*) FROM programs), (SELECT count(*) FROM cohorts),
                   (SELECT count(*) FROM lessons), (SELECT count(*) FROM assessments),
                   (SELECT count(*) FROM assignments), (SELECT count(*) FROM cohort_enrolments),
                   (SELECT count(*) FROM availability_schedules),
                   (SELECT count(*) FROM session_types), (SELECT count(*) FROM session_packages)"""


async def test_demo_seeds_mentor_calendars_and_a_program_once(
    client: Client, platform: Platform, pool: asyncpg.Pool
) -> None:
    for _ in range(2):
        await seed_identity_demo(platform)
        await seed_mentorship_demo(platform)
        await seed_curriculum_demo(platform)

    # The options program, two more for the onboarding quiz and the onboarding program.
    assert tuple(await pool.fetchrow(COUNTS)) == (4, 4, 10, 1, 1, 1, 4, 6, 2)
    nairobi = DEMO_MENTORS[0].id
    types = (await client.get(f"/api/v1/mentors/{nairobi}/session-types")).json()
    assert {t["kind"] for t in types} == {"one_on_one", "group", "workshop"}
    one_on_one = next(t for t in types if t["kind"] == "one_on_one")
    slots = await client.get(
        f"/api/v1/session-types/{one_on_one['id']}/slots",
        params={"timezone": "EAT", "days": 7},
    )  # public, like mentor search
    assert len(slots.json()["slots"]) >= 20
    [package] = (await client.get(f"/api/v1/mentors/{nairobi}/packages")).json()
    assert package["session_type_id"] == one_on_one["id"]
    assert package["price_minor"] < package["single_price_minor"]
    found = (await client.get("/api/v1/mentors", params={"timezone": "EAT"})).json()["mentors"]
    assert str(nairobi) in {m["id"] for m in found}


def test_reminder_and_completion_jobs_are_scheduled() -> None:
    tasks = register_tasks(InMemoryBroker())

    assert tasks[SEND_REMINDERS].labels["schedule"] == [{"cron": "*/5 * * * *"}]
    assert tasks[COMPLETE_SESSIONS].labels["schedule"] == [{"cron": "*/15 * * * *"}]
    assert tasks[EXPIRE_PACKAGES].labels["schedule"] == [{"cron": "23 * * * *"}]


async def test_sessions_left_open_are_completed_by_the_job_and_pay_the_mentor(
    client: Client,
    auth: Auth,
    platform: Platform,
    pool: asyncpg.Pool,
    make_mentor,
    make_mentee,
    clock: ManualClock,
) -> None:
    mentor = await make_mentor(price_minor=100_000)
    mentee, disputer = await make_mentee(), await make_mentee()
    starts = datetime(2026, 1, 7, 6, 0, tzinfo=UTC)
    booking = (await book(client, auth(mentee), mentor.types["one_on_one"], starts)).json()
    group = (
        await book(client, auth(disputer), mentor.types["group"], starts + timedelta(hours=1))
    ).json()
    async with transaction(pool) as conn:
        await open_dispute(
            conn,
            uuid.UUID(group["escrow_id"]),
            opened_by=disputer.id,
            reason="no show",
            evidence=[],
            now=clock.now(),
        )

    clock.set(starts + timedelta(hours=2, minutes=59))  # ended 1 h 59 min ago: not yet
    assert await complete_ended_sessions(platform) == 0
    clock.set(starts + timedelta(hours=4))
    assert await complete_ended_sessions(platform) == 2
    assert await complete_ended_sessions(platform) == 0

    status = await pool.fetchval(
        "SELECT status FROM mentor_sessions WHERE id = $1", uuid.UUID(booking["session"]["id"])
    )
    escrow = await pool.fetchval("SELECT status FROM escrows WHERE id = $1", booking["escrow_id"])
    assert (status, escrow) == ("completed", "released")
    # A disputed payment waits for the admin; the session still completes.
    disputed = await pool.fetchval("SELECT status FROM escrows WHERE id = $1", group["escrow_id"])
    group_status = await pool.fetchval(
        "SELECT status FROM mentor_sessions WHERE id = $1", uuid.UUID(group["session"]["id"])
    )
    assert (group_status, disputed) == ("completed", "disputed")
