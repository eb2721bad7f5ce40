"""Demo data for `dracarys up`: the identity seeder's two mentors get schedules, session
types and languages, and the options mentor publishes a program (cohort, modules, lessons
with a code snippet, an assessment and an assignment) that the demo mentee has joined.
Running it again changes nothing."""

from __future__ import annotations

import uuid
from datetime import timedelta

from dracarys.curriculum import service as curriculum
from dracarys.curriculum import store as curriculum_store
from dracarys.curriculum.models import (
    AssessmentInput,
    AssignmentInput,
    CohortInput,
    LessonInput,
    ModuleInput,
    ProgramInput,
    QuestionInput,
    RubricCriterion,
)
from dracarys.db import transaction
from dracarys.identity import DEMO_MENTEE, DEMO_MENTORS, CurrentUser, Role
from dracarys.mentorship import service, store
from dracarys.mentorship.models import (
    DateOverride,
    Interval,
    ScheduleInput,
    SessionKind,
    SessionTypeInput,
    WeeklyHours,
)
from dracarys.platform import Platform

PROGRAM_TITLE = "Options Trading Foundations"
LESSON_ONE = """# What an option is

A **call** gives the right to buy at the strike; a **put** the right to sell.

Risk per trade, in code:

```python
def position_size(equity: float, risk_pct: float, stop_distance: float) -> float:
    return equity * risk_pct / stop_distance
```
"""
LESSON_TWO = """# Delta

| Option | Delta |
|:--|--:|
| Deep ITM call | ~1.0 |
| ATM call | ~0.5 |
| Deep OTM call | ~0.0 |
"""


def _actor(user_id: uuid.UUID, role: Role) -> CurrentUser:
    return CurrentUser(id=user_id, role=role, session_id=uuid.uuid4())


async def _seed_calendar(
    platform: Platform, mentor: CurrentUser, timezone: str, currency: str, price_minor: int
) -> None:
    async with platform.pool.acquire() as conn:
        if await store.count_schedules(conn, mentor.id) > 0:
            return
    weekdays = [WeeklyHours(weekday=d, start="09:00", end="17:00") for d in range(5)]
    await service.create_schedule(
        platform,
        mentor,
        ScheduleInput(
            name="Working hours", timezone=timezone, weekly_hours=weekdays, is_default=True
        ),
    )
    weekend = await service.create_schedule(
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
    for title, kind, minutes, price, capacity, schedule_id in (
        ("1:1 strategy review", SessionKind.ONE_ON_ONE, 60, price_minor, 1, None),
        ("Group clinic", SessionKind.GROUP, 90, price_minor // 3, 8, weekend.id),
        ("Workshop: risk first", SessionKind.WORKSHOP, 120, price_minor // 2, 30, None),
    ):
        await service.create_session_type(
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
    async with transaction(platform.pool) as conn:
        await store.set_languages(conn, mentor.id, ["en", "sw"])


async def _seed_program(platform: Platform, mentor: CurrentUser) -> None:
    async with platform.pool.acquire() as conn:
        if await curriculum_store.program_by_title(conn, mentor.id, PROGRAM_TITLE) is not None:
            return
    program = await curriculum.create_program(
        platform,
        mentor,
        ProgramInput(
            title=PROGRAM_TITLE,
            description="From calls and puts to the Greeks.",
            difficulty="beginner",
            published=True,
        ),
    )
    now = platform.clock.now()
    cohort = await curriculum.create_cohort(
        platform,
        mentor,
        program.id,
        CohortInput(
            title="Cohort 1",
            starts_at=now + timedelta(days=7),
            ends_at=now + timedelta(days=60),
            capacity=30,
        ),
    )
    basics = await curriculum.create_module(
        platform, mentor, program.id, ModuleInput(title="Basics")
    )
    greeks = await curriculum.create_module(
        platform, mentor, program.id, ModuleInput(title="The Greeks")
    )
    await curriculum.create_lesson(
        platform,
        mentor,
        basics.id,
        LessonInput(title="Calls and puts", estimated_minutes=15, body_markdown=LESSON_ONE),
    )
    await curriculum.create_lesson(
        platform,
        mentor,
        greeks.id,
        LessonInput(title="Delta", estimated_minutes=20, body_markdown=LESSON_TWO),
    )
    await curriculum.create_assessment(
        platform,
        mentor,
        greeks.id,
        AssessmentInput(
            title="Greeks check",
            pass_mark_percent=70,
            max_attempts=3,
            questions=[
                QuestionInput(
                    id="delta_atm",
                    kind="single",
                    prompt="Delta of an ATM call?",
                    options=["~0.5", "~1.0", "~0.0"],
                    correct=[0],
                ),
                QuestionInput(
                    id="greeks",
                    kind="multiple",
                    prompt="Which are Greeks?",
                    options=["Gamma", "Beta", "Vega"],
                    correct=[0, 2],
                ),
                QuestionInput(
                    id="breakeven",
                    kind="numeric",
                    prompt="Breakeven of a 100 call bought for 3?",
                    answer=103,
                    tolerance=0.01,
                ),
            ],
        ),
    )
    await curriculum.create_assignment(
        platform,
        mentor,
        greeks.id,
        AssignmentInput(
            title="Delta-hedge a position",
            instructions="Hedge 10 calls of delta 0.4; explain the share count.",
            rubric=[
                RubricCriterion(name="reasoning", max_points=10),
                RubricCriterion(name="sizing", max_points=5),
            ],
        ),
    )
    await curriculum.join_cohort(
        platform, _actor(DEMO_MENTEE.id, Role.MENTEE), cohort.id, "demo-enrolment"
    )


async def seed_mentorship_demo(platform: Platform) -> None:
    nairobi, london = (_actor(m.id, Role.MENTOR) for m in DEMO_MENTORS)
    await _seed_calendar(platform, nairobi, "Africa/Nairobi", "KES", 250_000)
    await _seed_calendar(platform, london, "Europe/London", "USD", 6_000)
    await _seed_program(platform, london)
