"""Curriculum fixtures: a small program built through the course-builder API (two modules,
three lessons, one assessment, one assignment, one cohort), plus the mentorship suite's
mentor, mentee and fresh-token fixtures."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from dracarys.identity import Role
from dracarys.settings import Settings
from tests.conftest import make_settings
from tests.mentorship import conftest as mentorship_fixtures
from tests.support import AppClient as Client
from tests.support import Auth, TestUser

# The mentorship suite's fixtures, shared: fresh-token headers and funded mentees.
auth = mentorship_fixtures.auth
make_mentee = mentorship_fixtures.make_mentee

UPLOAD_LIMIT = 4096


@pytest.fixture
def settings(database_url: str, tmp_path: Any) -> Settings:
    return make_settings(
        database_url, tmp_path, DRACARYS_CURRICULUM_UPLOAD_MAX_BYTES=str(UPLOAD_LIMIT)
    )


QUESTIONS = [
    {
        "id": "q1",
        "kind": "single",
        "prompt": "Risk per trade?",
        "options": ["1%", "25%"],
        "correct": [0],
    },
    {
        "id": "q2",
        "kind": "multiple",
        "prompt": "Which are Greeks?",
        "options": ["Delta", "Sigma", "Theta"],
        "correct": [0, 2],
    },
    {
        "id": "q3",
        "kind": "numeric",
        "prompt": "Breakeven of a 50 call bought at 2.5?",
        "answer": 52.5,
        "tolerance": 0.1,
        "points": 2,
    },
]
RIGHT = {"q1": [0], "q2": [2, 0], "q3": 52.45}


@dataclass
class Course:
    mentor: TestUser
    program: dict[str, Any]
    modules: list[str]
    lessons: list[str]
    assessment: str
    assignment: str
    cohort: str


async def build_course(
    client: Client,
    auth: Auth,
    mentor: TestUser,
    *,
    price_minor: int = 0,
    capacity: int = 5,
    starts_at: str = "2026-01-10T06:00:00Z",
    ends_at: str = "2026-03-01T06:00:00Z",
) -> Course:
    h = auth(mentor)

    async def post(url: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await client.post(url, json=body, headers=h)
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result

    program = await post(
        "/api/v1/programs",
        {"title": "Options foundations", "price_minor": price_minor, "published": True},
    )
    pid = program["id"]
    m1 = (await post(f"/api/v1/programs/{pid}/modules", {"title": "Basics"}))["id"]
    m2 = (await post(f"/api/v1/programs/{pid}/modules", {"title": "Greeks"}))["id"]
    lessons = [
        (
            await post(
                f"/api/v1/modules/{m1}/lessons",
                {
                    "title": "Calls and puts",
                    "estimated_minutes": 10,
                    "body_markdown": "# Calls\n\nA call is a right, not an obligation.",
                },
            )
        )["id"],
        (
            await post(
                f"/api/v1/modules/{m1}/lessons",
                {"title": "Payoff diagrams", "estimated_minutes": 20},
            )
        )["id"],
        (await post(f"/api/v1/modules/{m2}/lessons", {"title": "Delta", "estimated_minutes": 30}))[
            "id"
        ],
    ]
    assessment = (
        await post(
            f"/api/v1/modules/{m2}/assessments",
            {
                "title": "Greeks quiz",
                "pass_mark_percent": 75,
                "max_attempts": 2,
                "questions": QUESTIONS,
            },
        )
    )["id"]
    assignment = (
        await post(
            f"/api/v1/modules/{m2}/assignments",
            {
                "title": "Hedge a position",
                "instructions": "Show your work",
                "rubric": [
                    {"name": "reasoning", "max_points": 10},
                    {"name": "sizing", "max_points": 5},
                ],
            },
        )
    )["id"]
    cohort = (
        await post(
            f"/api/v1/programs/{pid}/cohorts",
            {"title": "January", "starts_at": starts_at, "ends_at": ends_at, "capacity": capacity},
        )
    )["id"]
    return Course(
        mentor=mentor,
        program=program,
        modules=[m1, m2],
        lessons=lessons,
        assessment=assessment,
        assignment=assignment,
        cohort=cohort,
    )


@pytest.fixture
def course_mentor(
    make_user: Callable[..., Awaitable[TestUser]],
) -> Callable[[], Awaitable[TestUser]]:
    async def make() -> TestUser:
        return await make_user(role=Role.MENTOR, kyc_level=2)

    return make


async def enrol(client: Client, auth: Auth, user: TestUser, cohort: str) -> Any:
    return await client.post(
        f"/api/v1/cohorts/{cohort}/join",
        json={"idempotency_key": f"enrol-{user.id}"},
        headers=auth(user),
    )
