"""Demo data for `dracarys up`: the identity seeder's two mentors get schedules (working
hours and Saturday clinics), session types (1:1, group, workshop), a package of three 1:1
sessions and languages; the demo
mentee has taken the onboarding quiz (so /onboarding shows her answers and matches).
Running it again changes nothing."""

from __future__ import annotations

import uuid
from datetime import timedelta

from dracarys.identity import DEMO_MENTEE, DEMO_MENTORS, CurrentUser, Role, Specialty
from dracarys.mentorship.discovery.models import QuizInput
from dracarys.mentorship.discovery.service import save_quiz, saved_quiz, set_languages
from dracarys.mentorship.packages.models import PackageInput
from dracarys.mentorship.packages.service import create_package
from dracarys.mentorship.schedules.models import (
    DateOverride,
    Interval,
    ScheduleInput,
    SessionKind,
    SessionTypeInput,
    WeeklyHours,
)
from dracarys.mentorship.schedules.service import (
    create_schedule,
    create_session_type,
    has_schedules,
)
from dracarys.platform import Platform


def _actor(user_id: uuid.UUID, role: Role) -> CurrentUser:
    return CurrentUser(id=user_id, role=role, session_id=uuid.uuid4())


async def _seed_calendar(
    platform: Platform, mentor: CurrentUser, timezone: str, currency: str, price_minor: int
) -> None:
    if await has_schedules(platform, mentor.id):
        return
    weekdays = [WeeklyHours(weekday=d, start="09:00", end="17:00") for d in range(5)]
    await create_schedule(
        platform,
        mentor,
        ScheduleInput(
            name="Working hours", timezone=timezone, weekly_hours=weekdays, is_default=True
        ),
    )
    weekend = await create_schedule(
        platform,
        mentor,
        ScheduleInput(
            name="Saturday clinics",
            timezone=timezone,
            weekly_hours=[WeeklyHours(weekday=5, start="10:00", end="13:00")],
            date_overrides=[
                DateOverride(
                    date=(platform.clock.now() + timedelta(days=14)).date(),
                    intervals=[Interval(start="14:00", end="16:00")],
                )
            ],
        ),
    )
    one_on_one = None
    for title, kind, minutes, price, capacity, schedule_id in (
        ("1:1 strategy review", SessionKind.ONE_ON_ONE, 60, price_minor, 1, None),
        ("Group clinic", SessionKind.GROUP, 90, price_minor // 3, 8, weekend.id),
        ("Workshop: risk first", SessionKind.WORKSHOP, 120, price_minor // 2, 30, None),
    ):
        created = await create_session_type(
            platform,
            mentor,
            SessionTypeInput(
                title=title,
                kind=kind,
                duration_minutes=minutes,
                price_minor=price,
                currency=currency,
                capacity=capacity,
                schedule_id=schedule_id,
            ),
        )
        one_on_one = one_on_one or created
    assert one_on_one is not None
    await create_package(
        platform,
        mentor,
        PackageInput(
            session_type_id=one_on_one.id,
            title="Three strategy reviews",
            sessions=3,
            # A tenth off three sessions booked one by one.
            price_minor=one_on_one.price_minor * 3 * 9 // 10,
            valid_days=90,
        ),
    )
    await set_languages(platform, mentor, ["en", "sw"])


async def seed_mentorship_demo(platform: Platform) -> None:
    nairobi, london = (_actor(m.id, Role.MENTOR) for m in DEMO_MENTORS)
    await _seed_calendar(platform, nairobi, "Africa/Nairobi", "KES", 250_000)
    await _seed_calendar(platform, london, "Europe/London", "USD", 6_000)
    await _seed_quiz(platform, _actor(DEMO_MENTEE.id, Role.MENTEE))


async def _seed_quiz(platform: Platform, mentee: CurrentUser) -> None:
    if (await saved_quiz(platform, mentee)).answers is not None:
        return
    await save_quiz(
        platform,
        mentee,
        QuizInput(
            style="swing_trader",
            experience="beginner",
            goals=[Specialty.SWING_TRADING, Specialty.RISK_MANAGEMENT],
            markets=["forex"],
            budget_minor=300_000,
            currency="KES",
            timezone="Africa/Nairobi",
            languages=["en", "sw"],
            weekly_hours=5,
        ),
    )
