"""Onboarding in the curriculum: programs suggested from a newcomer's quiz answers, each
with the reasons it was chosen, and the onboarding cohort offer (join it through the usual
enrolment, or answer "not now").

Suggestion weights (sum 100): what it covers of the markets and goals picked 45, a level
that fits the experience 25, price 15, length at the weekly time given 10, a cohort with
room 5. A program is suggested only when it covers something picked (or, with nothing
picked, when it is pitched at the newcomer's level)."""

from __future__ import annotations

import math
import uuid
from datetime import datetime

from dracarys.curriculum.onboarding import store
from dracarys.curriculum.onboarding.models import (
    CandidateProgram,
    NextCohort,
    OnboardingCohort,
    OnboardingCohortView,
    OnboardingOffer,
    ProgramPreferences,
    ProgramSuggestion,
    ProgramSuggestions,
    SuggestedProgram,
)
from dracarys.db import Connection, transaction
from dracarys.errors import Conflict
from dracarys.identity import CurrentUser
from dracarys.money import format_money
from dracarys.platform import Platform

TOPICS_WEIGHT = 45
LEVEL_WEIGHT = 25
PRICE_WEIGHT = 15
TIME_WEIGHT = 10
COHORT_WEIGHT = 5
# A program finished within this many weeks at the newcomer's pace earns the full time
# weight; within twice as many, half.
SHORT_PROGRAM_WEEKS = 8
CANDIDATES = 200
SUGGESTIONS = 5
LEVELS = ("beginner", "intermediate", "advanced")


def _words(values: list[str]) -> str:
    return ", ".join(v.replace("_", " ") for v in values)


def _coverage(
    picked: list[str], topics: set[str], noun: str, verb: str
) -> tuple[list[str], str | None]:
    covered = sorted(set(picked) & topics)
    if not covered:
        return covered, None
    return covered, f"{verb} {_words(covered)} ({len(covered)} of your {len(set(picked))} {noun})"


def _level_fit(experience: str, difficulty: str) -> tuple[float, str | None]:
    """Full marks at the newcomer's own level, some one level either side."""
    if difficulty not in LEVELS or experience not in LEVELS:
        return 0.0, None
    gap = LEVELS.index(difficulty) - LEVELS.index(experience)
    if gap == 0:
        if difficulty == "beginner":
            return LEVEL_WEIGHT, "made for beginners, like you"
        return LEVEL_WEIGHT, f"pitched at your level ({difficulty})"
    if abs(gap) == 1:
        return LEVEL_WEIGHT / 2, None
    return 0.0, None


def score_program(
    program: CandidateProgram, preferences: ProgramPreferences
) -> tuple[int, list[str], bool]:
    """Score out of 100, the reasons strongest first, and whether to suggest it at all."""
    scored: list[tuple[float, str]] = []
    topics = set(program.topics)
    wanted = set(preferences.markets) | set(preferences.goals)
    markets, markets_reason = _coverage(preferences.markets, topics, "markets", "covers")
    goals, goals_reason = _coverage(preferences.goals, topics, "goals", "teaches")
    covered = set(markets) | set(goals)
    topic_points = TOPICS_WEIGHT * len(covered) / len(wanted) if wanted else TOPICS_WEIGHT / 2
    # What it covers is why it is suggested at all: both reasons rank with the whole weight.
    if markets_reason:
        scored.append((topic_points, markets_reason))
    if goals_reason:
        scored.append((topic_points, goals_reason))

    level_points, level_reason = _level_fit(preferences.experience, program.difficulty)
    if level_reason:
        scored.append((level_points, level_reason))

    price_points = 0.0
    if program.price_minor == 0:
        price_points = PRICE_WEIGHT
        scored.append((price_points, "free to join"))
    elif program.currency == preferences.currency and program.price_minor <= (
        preferences.budget_minor
    ):
        price_points = PRICE_WEIGHT
        price = format_money(program.price_minor, program.currency, whole=True)
        scored.append((price_points, f"within your budget ({price})"))

    time_points = 0.0
    if preferences.weekly_hours and program.total_minutes > 0:
        weeks = max(1, math.ceil(program.total_minutes / (preferences.weekly_hours * 60)))
        if weeks <= SHORT_PROGRAM_WEEKS:
            time_points = TIME_WEIGHT
        elif weeks <= 2 * SHORT_PROGRAM_WEEKS:
            time_points = TIME_WEIGHT / 2
        unit = "week" if weeks == 1 else "weeks"
        scored.append(
            (time_points, f"about {weeks} {unit} at your {preferences.weekly_hours} h a week")
        )

    cohort_points = 0.0
    if program.cohort_starts_at is not None and program.cohort_seats_left is not None:
        cohort_points = COHORT_WEIGHT
        seats = program.cohort_seats_left
        starts = f"{program.cohort_starts_at:%d %b %Y}"
        scored.append(
            (
                cohort_points,
                f"next cohort starts {starts} ({seats} seat{'' if seats == 1 else 's'} left)",
            )
        )

    total = topic_points + level_points + price_points + time_points + cohort_points
    suggest = bool(covered) if wanted else level_reason is not None
    scored.sort(key=lambda item: -item[0])
    return round(min(100.0, total)), [reason for _, reason in scored], suggest


def _suggested(program: CandidateProgram) -> SuggestedProgram:
    next_cohort = None
    if (
        program.cohort_id is not None
        and program.cohort_title is not None
        and program.cohort_starts_at is not None
        and program.cohort_seats_left is not None
    ):
        next_cohort = NextCohort(
            id=program.cohort_id,
            title=program.cohort_title,
            starts_at=program.cohort_starts_at,
            seats_left=program.cohort_seats_left,
        )
    return SuggestedProgram(
        id=program.id,
        title=program.title,
        description=program.description,
        difficulty=program.difficulty,
        price_minor=program.price_minor,
        currency=program.currency,
        topics=program.topics,
        total_minutes=program.total_minutes,
        next_cohort=next_cohort,
    )


async def suggest_programs(
    conn: Connection, preferences: ProgramPreferences, *, user_id: uuid.UUID, now: datetime
) -> ProgramSuggestions:
    """The best few published programs for these answers, each with its reasons (never
    an onboarding program, one of the member's own, or one they are enrolled in)."""
    ranked: list[ProgramSuggestion] = []
    for program in await store.candidate_programs(conn, user_id, now, CANDIDATES):
        score, reasons, suggest = score_program(program, preferences)
        if suggest:
            shown = _suggested(program)
            ranked.append(ProgramSuggestion(program=shown, score=score, reasons=reasons))
    ranked.sort(key=lambda s: (-s.score, s.program.title, str(s.program.id)))
    return ProgramSuggestions(suggestions=ranked[:SUGGESTIONS])


# ---- the onboarding cohort ------------------------------------------------------------


def _cohort_view(cohort: OnboardingCohort) -> OnboardingCohortView:
    return OnboardingCohortView(
        id=cohort.id,
        program_id=cohort.program_id,
        program_title=cohort.program_title,
        program_description=cohort.program_description,
        title=cohort.title,
        starts_at=cohort.starts_at,
        ends_at=cohort.ends_at,
        capacity=cohort.capacity,
        seats_left=max(0, cohort.capacity - cohort.enrolled),
    )


async def _offer(conn: Connection, user_id: uuid.UUID, now: datetime) -> OnboardingOffer:
    declined = await store.declined_at(conn, user_id)
    joined = await store.joined_onboarding_cohort(conn, user_id)
    if joined is not None:
        return OnboardingOffer(status="joined", cohort=_cohort_view(joined), declined_at=declined)
    cohort = await store.open_onboarding_cohort(conn, user_id, now)
    if cohort is None:
        return OnboardingOffer(status="none", cohort=None, declined_at=declined)
    return OnboardingOffer(
        status="declined" if declined is not None else "open",
        cohort=_cohort_view(cohort),
        declined_at=declined,
    )


async def onboarding_offer(platform: Platform, actor: CurrentUser) -> OnboardingOffer:
    """The cohort a newcomer may join (through `POST /cohorts/{id}/join`, like any
    cohort), the one they are in, or that there is none with room."""
    async with platform.pool.acquire() as conn:
        return await _offer(conn, actor.id, platform.clock.now())


async def decline_onboarding_cohort(platform: Platform, actor: CurrentUser) -> OnboardingOffer:
    """ "Not now": remembered, so the offer is not pressed again; joining stays possible."""
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        if await store.joined_onboarding_cohort(conn, actor.id) is not None:
            raise Conflict(
                "you are already in an onboarding cohort: leave it from the cohort instead",
                field="cohort",
            )
        await store.record_decline(conn, actor.id, now)
        return await _offer(conn, actor.id, now)
