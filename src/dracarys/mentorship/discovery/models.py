"""Finding mentors, as API bodies: search cards, the onboarding quiz (and the saved
answers) and its matches."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal, get_args

import msgspec

from dracarys.identity import Specialty
from dracarys.mentorship.schedules.models import Currency, TimezoneName
from dracarys.wire import BIGINT_MAX, Input, Schema

Language = Annotated[str, msgspec.Meta(pattern=r"^[a-z]{2}$")]
Experience = Literal["beginner", "intermediate", "advanced"]
# The specialties that are markets: the quiz asks for them apart from the skills.
Market = Literal["forex", "crypto", "stocks", "options", "futures", "commodities"]
MARKETS: tuple[str, ...] = get_args(Market)
# The trading styles of identity's profiles (a mentor's `trading_style`), and "not sure
# yet". A quiz may also name a specialty as its style (matched against what mentors teach).
TRADING_STYLES = (
    "scalper",
    "day_trader",
    "swing_trader",
    "position_trader",
    "long_term_investor",
    "algorithmic",
    "undecided",
)


class LanguagesInput(Input):
    languages: Annotated[list[Language], msgspec.Meta(max_length=20)]


class MentorCard(Schema):
    id: uuid.UUID
    name: str
    headline: str
    specialties: list[str]
    trading_style: str | None
    hourly_rate_minor: int
    currency: str
    rating_average: float | None
    rating_count: int
    total_sessions: int
    reputation_score: int
    languages: list[str]
    timezone: str | None
    overlap_minutes_per_week: int | None = None
    next_available_at: datetime | None = None
    bio: str = ""


class MentorSearch(Schema):
    mentors: list[MentorCard]
    # How far ahead each card's `next_available_at` was looked for (null: none that soon).
    next_free_within_days: int


class QuizInput(Input):
    """The onboarding quiz. `goals` are the specialties to learn, `markets` those to trade;
    `budget_minor` is what one hour with a mentor may cost, in `currency`'s minor units;
    `weekly_hours` the time there is to learn each week."""

    style: Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
    experience: Experience
    goals: Annotated[list[Specialty], msgspec.Meta(max_length=15)]
    budget_minor: Annotated[int, msgspec.Meta(ge=0, le=BIGINT_MAX)]
    timezone: TimezoneName
    currency: Currency = "KES"
    languages: Annotated[list[Language], msgspec.Meta(max_length=10)] = msgspec.field(
        default_factory=list
    )
    markets: Annotated[list[Market], msgspec.Meta(max_length=6)] = msgspec.field(
        default_factory=list
    )
    weekly_hours: Annotated[int, msgspec.Meta(ge=1, le=80)] | None = None


class QuizView(Schema):
    """The caller's saved answers (null before the quiz is taken)."""

    answers: QuizInput | None
    updated_at: datetime | None


class MatchView(Schema):
    mentor: MentorCard
    score: int
    reasons: list[str]


class MatchList(Schema):
    matches: list[MatchView]
