"""Demo data for `dracarys up`: the identity seeder's London mentor publishes a program
(a cohort, two modules, lessons with a code snippet and a table, an assessment and an
assignment) that the demo mentee has joined. Running it again changes nothing."""

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
)
from dracarys.curriculum.courses.service import (
    create_cohort,
    create_lesson,
    create_module,
    create_program,
    program_by_title,
)
from dracarys.curriculum.enrolment.service import join_cohort
from dracarys.identity.access import CurrentUser, Role
from dracarys.identity.demo import DEMO_MENTEE, DEMO_MENTORS
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
