"""Issue 20 item 7: drip programs advance per member over (simulated) days, each step sent
once however many ticks run at once, and stop at their exit conditions; the step e-mails'
links, pixel and one-click unsubscribe; the provider's bounces and complaints."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, time, timedelta

import asyncpg

from dracarys.clock import ManualClock
from dracarys.curriculum import CertificateGranted, CohortJoined
from dracarys.identity import Role, UserLoggedIn, UserSignedUp
from dracarys.mentorship import SessionBooked
from dracarys.messaging import list_messages
from dracarys.notifications import advance_drips, enrol_inactive_members
from dracarys.platform import Platform
from dracarys.settings import Settings
from tests.notifications.conftest import set_language, set_timezone
from tests.notifications.programs.conftest import MakeUser, deliver, drip_mails, enrolment

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _booked(mentee: uuid.UUID, mentor: uuid.UUID) -> SessionBooked:
    return SessionBooked(
        session_id=uuid.uuid4(),
        booking_id=uuid.uuid4(),
        mentee_id=mentee,
        mentor_id=mentor,
        starts_at=START + timedelta(days=5),
    )


async def test_a_drip_advances_over_simulated_days_and_stops_at_its_exit_condition(
    platform: Platform, make_user: MakeUser, clock: ManualClock, pool: asyncpg.Pool
) -> None:
    clock.set(START)
    member, mentor = await make_user(), await make_user(role=Role.MENTOR)
    await deliver(platform, UserSignedUp(user_id=member.id))
    await deliver(platform, UserSignedUp(user_id=member.id))  # delivered twice: one enrolment

    assert await advance_drips(platform) == 0  # the first step waits an hour
    assert await drip_mails(pool, member.id) == []

    clock.advance(timedelta(minutes=61))
    assert await advance_drips(platform) == 1
    assert await advance_drips(platform) == 0  # the same tick again sends nothing
    assert await drip_mails(pool, member.id) == ["drip.onboarding.1"]

    clock.advance(timedelta(days=1))
    await advance_drips(platform)
    assert await drip_mails(pool, member.id) == ["drip.onboarding.1"]  # step 2 waits 2 days

    clock.advance(timedelta(days=1, minutes=1))
    await advance_drips(platform)
    assert await drip_mails(pool, member.id) == ["drip.onboarding.1", "drip.onboarding.2"]

    # The exit condition: a first booking ends onboarding before its third step.
    await deliver(platform, _booked(member.id, mentor.id))
    clock.advance(timedelta(days=30))
    await advance_drips(platform)
    assert await drip_mails(pool, member.id) == ["drip.onboarding.1", "drip.onboarding.2"]
    ended = await enrolment(pool, member.id, "onboarding")
    assert ended["end_reason"] == "first_booking"
    assert ended["next_position"] == 3


async def test_course_nudges_stop_when_that_course_is_completed_not_another(
    platform: Platform, make_user: MakeUser, clock: ManualClock, pool: asyncpg.Pool
) -> None:
    clock.set(START)
    member = await make_user()
    course, other = uuid.uuid4(), uuid.uuid4()
    await deliver(
        platform,
        CohortJoined(
            user_id=member.id,
            cohort_id=uuid.uuid4(),
            program_id=course,
            amount_minor=0,
            currency="KES",
        ),
    )
    clock.advance(timedelta(days=3, minutes=1))
    await advance_drips(platform)
    assert await drip_mails(pool, member.id) == ["drip.course_nudges.1"]

    certificate = {"certificate_id": "C-1", "verification_url": "https://example.test/c/1"}
    await deliver(platform, CertificateGranted(user_id=member.id, program_id=other, **certificate))
    clock.advance(timedelta(days=7, minutes=1))
    await advance_drips(platform)
    assert await drip_mails(pool, member.id) == ["drip.course_nudges.1", "drip.course_nudges.2"]

    await deliver(platform, CertificateGranted(user_id=member.id, program_id=course, **certificate))
    clock.advance(timedelta(days=30))
    await advance_drips(platform)
    assert len(await drip_mails(pool, member.id)) == 2
    assert (await enrolment(pool, member.id, "course_nudges"))["end_reason"] == "course_completed"


async def test_inactive_members_are_enrolled_once_per_spell_and_leave_when_active_again(
    platform: Platform, make_user: MakeUser, clock: ManualClock, pool: asyncpg.Pool
) -> None:
    clock.set(START)
    away, around = await make_user(), await make_user()
    await deliver(
        platform,
        UserLoggedIn(user_id=away.id, source_ip=None),
        UserLoggedIn(user_id=around.id, source_ip=None),
    )
    clock.advance(timedelta(days=10))
    await deliver(platform, UserLoggedIn(user_id=around.id, source_ip=None))
    clock.advance(timedelta(days=5))
    assert await enrol_inactive_members(platform) == 1  # 15 days away; the other 5
    assert await enrol_inactive_members(platform) == 0  # the same spell: enrolled already
    await advance_drips(platform)
    assert await drip_mails(pool, away.id) == ["drip.re_engagement.1"]
    assert await drip_mails(pool, around.id) == []

    clock.advance(timedelta(days=1))
    await deliver(platform, UserLoggedIn(user_id=away.id, source_ip=None))
    clock.advance(timedelta(days=8))
    await advance_drips(platform)
    assert await drip_mails(pool, away.id) == ["drip.re_engagement.1"]
    assert (await enrolment(pool, away.id, "re_engagement"))["end_reason"] == "active_again"


async def test_members_who_chose_swahili_get_the_swahili_texts_with_their_name(
    platform: Platform, make_user: MakeUser, clock: ManualClock, settings: Settings
) -> None:
    clock.set(START)
    swahili, english = await make_user(), await make_user()
    await set_language(platform.pool, swahili.id, "sw")
    await set_language(platform.pool, english.id, "en")
    await deliver(platform, UserSignedUp(user_id=swahili.id), UserSignedUp(user_id=english.id))
    clock.advance(timedelta(hours=2))
    assert await advance_drips(platform) == 2
    async with platform.pool.acquire() as conn:
        sw = (await list_messages(conn, settings, user_id=swahili.id))[-1]
        en = (await list_messages(conn, settings, user_id=english.id))[-1]
    assert sw.content is not None
    assert en.content is not None
    assert sw.content.subject.startswith("Karibu Dracarys, ")
    assert "Jiondoe" in sw.content.text
    assert en.content.subject.startswith("Welcome to Dracarys, ")
    assert "$name" not in en.content.subject
    assert "$" not in en.content.text


async def test_concurrent_ticks_send_each_due_step_once(
    platform: Platform, make_user: MakeUser, clock: ManualClock, pool: asyncpg.Pool
) -> None:
    clock.set(START)
    members = [await make_user() for _ in range(25)]
    await deliver(platform, *(UserSignedUp(user_id=m.id) for m in members))
    clock.advance(timedelta(hours=2))

    handled = await asyncio.gather(*(advance_drips(platform) for _ in range(10)))

    assert sum(handled) == 25
    sent = await pool.fetch(
        """SELECT user_id, count(*) AS n FROM outbound_messages
           WHERE template = 'drip.onboarding.1' GROUP BY user_id"""
    )
    assert len(sent) == 25
    assert all(row["n"] == 1 for row in sent)
    assert await pool.fetchval("SELECT count(*) FROM drip_sends") == 25
    assert await pool.fetchval("SELECT count(*) FROM points_email_tokens") == 25


async def test_a_due_step_waits_for_the_members_quiet_hours_to_end_in_their_zone(
    platform: Platform, make_user: MakeUser, clock: ManualClock, pool: asyncpg.Pool
) -> None:
    """Marketing e-mail is the least critical of all: a step that falls due at 23:31 in
    Nairobi for a member quiet from 22:00 to 07:00 there goes at 07:00, and nobody else's
    step waits for it."""
    clock.set(datetime(2026, 12, 1, 19, 30, tzinfo=UTC))  # 22:30 in Nairobi
    quiet, awake = await make_user(), await make_user()
    await set_timezone(pool, quiet.id, "Africa/Nairobi")
    await pool.execute(
        """INSERT INTO notification_quiet_hours (user_id, starts_at, ends_at, updated_at)
           VALUES ($1, $2, $3, now())""",
        quiet.id,
        time(22, 0),
        time(7, 0),
    )
    await deliver(platform, UserSignedUp(user_id=quiet.id), UserSignedUp(user_id=awake.id))

    clock.advance(timedelta(minutes=61))  # 23:31 in Nairobi: both first steps are due
    assert await advance_drips(platform) == 2
    assert await drip_mails(pool, awake.id) == ["drip.onboarding.1"]
    assert await drip_mails(pool, quiet.id) == []
    clock.set(datetime(2026, 12, 2, 3, 59, tzinfo=UTC))  # 06:59 in Nairobi
    assert await advance_drips(platform) == 0
    assert await drip_mails(pool, quiet.id) == []

    clock.set(datetime(2026, 12, 2, 4, 0, tzinfo=UTC))  # 07:00 in Nairobi: quiet hours over
    assert await advance_drips(platform) == 1
    assert await advance_drips(platform) == 0
    assert await drip_mails(pool, quiet.id) == ["drip.onboarding.1"]
    # The next step's delay counts from when the first one went.
    assert (await enrolment(pool, quiet.id, "onboarding"))["last_step_at"] == clock.now()
