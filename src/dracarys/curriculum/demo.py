"""Demo data for `dracarys up`: the identity seeder's London mentor publishes a program
(a cohort, two modules, lessons with a code snippet and a table, an assessment and an
assignment) that the demo mentee has joined; both mentors publish another program for the
onboarding quiz to suggest; the admin runs a free onboarding program whose cohort newcomers
are offered (a new cohort opens whenever none has room). Running it again adds nothing
else."""

from __future__ import annotations

import uuid
from datetime import timedelta

from dracarys.curriculum.assessments.models import AssessmentInput, QuestionInput
from dracarys.curriculum.assessments.service import create_assessment
from dracarys.curriculum.assignments.models import AssignmentInput, RubricCriterion
from dracarys.curriculum.assignments.service import create_assignment
from dracarys.curriculum.courses.models import (
    CohortInput,
    LessonInput,
    ModuleInput,
    ProgramInput,
    ProgramView,
)
from dracarys.curriculum.courses.service import (
    create_cohort,
    create_lesson,
    create_module,
    create_program,
    program_by_title,
    program_outline,
)
from dracarys.curriculum.enrolment.service import join_cohort
from dracarys.identity import DEMO_ADMIN, DEMO_MENTEE, DEMO_MENTORS, CurrentUser, Role, Specialty
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


async def seed_curriculum_demo(platform: Platform) -> None:
    await _seed_options_program(platform)
    for owner, program, lessons in MORE_PROGRAMS:
        await _seed_short_program(platform, _actor(owner, Role.MENTOR), program, lessons)
    await _seed_onboarding_program(platform)


async def _seed_options_program(platform: Platform) -> None:
    mentor = _actor(DEMO_MENTORS[1].id, Role.MENTOR)
    if await program_by_title(platform, mentor.id, PROGRAM_TITLE) is not None:
        return
    program = await create_program(
        platform,
        mentor,
        ProgramInput(
            title=PROGRAM_TITLE,
            description="From calls and puts to the Greeks.",
            difficulty="beginner",
            published=True,
            topics=[Specialty.OPTIONS, Specialty.RISK_MANAGEMENT],
        ),
    )
    now = platform.clock.now()
    cohort = await create_cohort(
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
    basics = await create_module(platform, mentor, program.id, ModuleInput(title="Basics"))
    greeks = await create_module(platform, mentor, program.id, ModuleInput(title="The Greeks"))
    await create_lesson(
        platform,
        mentor,
        basics.id,
        LessonInput(title="Calls and puts", estimated_minutes=15, body_markdown=LESSON_ONE),
    )
    await create_lesson(
        platform,
        mentor,
        greeks.id,
        LessonInput(title="Delta", estimated_minutes=20, body_markdown=LESSON_TWO),
    )
    await create_assessment(
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
    await create_assignment(
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
    await join_cohort(platform, _actor(DEMO_MENTEE.id, Role.MENTEE), cohort.id, "demo-enrolment")


# Programs the onboarding quiz can suggest: (owner, program, lessons as (title, minutes)).
MORE_PROGRAMS: tuple[tuple[uuid.UUID, ProgramInput, tuple[tuple[str, int], ...]], ...] = (
    (
        DEMO_MENTORS[0].id,
        ProgramInput(
            title="Forex, risk first",
            description="Trade the London session with a stop on every position.",
            difficulty="beginner",
            price_minor=250_000,
            currency="KES",
            published=True,
            topics=[Specialty.FOREX, Specialty.RISK_MANAGEMENT, Specialty.SCALPING],
        ),
        (("Pips, lots and leverage", 20), ("Where the stop goes", 25), ("A session plan", 30)),
    ),
    (
        DEMO_MENTORS[1].id,
        ProgramInput(
            title="Crypto swing trading",
            description="Multi-day moves in BTC and ETH, sized for their volatility.",
            difficulty="intermediate",
            price_minor=4_000,
            currency="USD",
            published=True,
            topics=[Specialty.CRYPTO, Specialty.SWING_TRADING, Specialty.TECHNICAL_ANALYSIS],
        ),
        (("Reading a weekly chart", 30), ("Volatility-sized positions", 30)),
    ),
)
ONBOARDING_PROGRAM = ProgramInput(
    title="Start here: your first two weeks",
    description=(
        "A free cohort for newcomers: how the platform works, risk before returns, and a "
        "first paper trade with the others who joined this fortnight."
    ),
    difficulty="beginner",
    published=True,
    topics=[Specialty.RISK_MANAGEMENT, Specialty.PSYCHOLOGY],
    onboarding=True,
)
ONBOARDING_LESSONS = (
    ("How Dracarys works", 10),
    ("Risk first: sizing a paper trade", 15),
    ("Keeping a trading journal", 10),
)
ONBOARDING_SEATS = 200
ONBOARDING_COHORT_NAME = "Newcomers from"


async def _seed_short_program(
    platform: Platform,
    owner: CurrentUser,
    data: ProgramInput,
    lessons: tuple[tuple[str, int], ...],
    *,
    starts_in: timedelta = timedelta(days=10),
    lasts: timedelta = timedelta(days=42),
    capacity: int = 25,
    cohort_name: str = "Cohort starting",
) -> ProgramView | None:
    """A program with one module of short lessons and a cohort; None when it exists."""
    if await program_by_title(platform, owner.id, data.title) is not None:
        return None
    program = await create_program(platform, owner, data)
    module = await create_module(platform, owner, program.id, ModuleInput(title="Lessons"))
    for title, minutes in lessons:
        await create_lesson(
            platform, owner, module.id, LessonInput(title=title, estimated_minutes=minutes)
        )
    now = platform.clock.now()
    await create_cohort(
        platform,
        owner,
        program.id,
        CohortInput(
            title=f"{cohort_name} {(now + starts_in):%d %b}",
            starts_at=now + starts_in,
            ends_at=now + starts_in + lasts,
            capacity=capacity,
        ),
    )
    return program


async def _seed_onboarding_program(platform: Platform) -> None:
    """The onboarding program, and a fresh cohort whenever none has room (the demo is
    seeded at every start, so newcomers always have one to join)."""
    admin = _actor(DEMO_ADMIN.id, Role.ADMIN)
    fortnight = timedelta(days=14)
    created = await _seed_short_program(
        platform,
        admin,
        ONBOARDING_PROGRAM,
        ONBOARDING_LESSONS,
        starts_in=timedelta(days=2),
        lasts=fortnight,
        capacity=ONBOARDING_SEATS,
        cohort_name=ONBOARDING_COHORT_NAME,
    )
    if created is not None:
        return
    existing = await program_by_title(platform, admin.id, ONBOARDING_PROGRAM.title)
    assert existing is not None
    now = platform.clock.now()
    outline = await program_outline(platform, admin, existing.id)
    if any(c.ends_at > now and c.enrolled < c.capacity for c in outline.cohorts):
        return
    starts = now + timedelta(days=2)
    await create_cohort(
        platform,
        admin,
        existing.id,
        CohortInput(
            title=f"{ONBOARDING_COHORT_NAME} {starts:%d %b}",
            starts_at=starts,
            ends_at=starts + fortnight,
            capacity=ONBOARDING_SEATS,
        ),
    )
