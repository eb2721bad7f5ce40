"""Onboarding's records and API bodies: the preferences programs are suggested from, the
suggestions with their reasons, and the onboarding cohort a newcomer is offered."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

import msgspec

from dracarys.wire import Schema

OfferStatus = Literal["open", "joined", "declined", "none"]


# ---- records --------------------------------------------------------------------------


class ProgramPreferences(msgspec.Struct, frozen=True, kw_only=True):
    """What a newcomer told the onboarding quiz, as program suggestions read it (the quiz
    itself is mentorship's: it hands these over)."""

    experience: str
    markets: list[str]
    goals: list[str]
    budget_minor: int
    currency: str
    weekly_hours: int | None = None


class CandidateProgram(msgspec.Struct, frozen=True, kw_only=True):
    """A published program a member could join, with its length and its next cohort that
    still has room (upcoming first, else one already running)."""

    id: uuid.UUID
    title: str
    description: str
    difficulty: str
    price_minor: int
    currency: str
    topics: list[str]
    total_minutes: int
    cohort_id: uuid.UUID | None
    cohort_title: str | None
    cohort_starts_at: datetime | None
    cohort_seats_left: int | None


class OnboardingCohort(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    program_id: uuid.UUID
    program_title: str
    program_description: str
    title: str
    starts_at: datetime
    ends_at: datetime
    capacity: int
    enrolled: int


# ---- API ------------------------------------------------------------------------------


class NextCohort(Schema):
    id: uuid.UUID
    title: str
    starts_at: datetime
    seats_left: int


class SuggestedProgram(Schema):
    id: uuid.UUID
    title: str
    description: str
    difficulty: str
    price_minor: int
    currency: str
    topics: list[str]
    total_minutes: int
    next_cohort: NextCohort | None


class ProgramSuggestion(Schema):
    program: SuggestedProgram
    score: int
    reasons: list[str]


class ProgramSuggestions(Schema):
    suggestions: list[ProgramSuggestion]


class OnboardingCohortView(Schema):
    id: uuid.UUID
    program_id: uuid.UUID
    program_title: str
    program_description: str
    title: str
    starts_at: datetime
    ends_at: datetime
    capacity: int
    seats_left: int


class OnboardingOffer(Schema):
    """`open`: a cohort to join; `joined`: the member is in `cohort`; `declined`: they said
    "not now" (`cohort` is still open to them); `none`: no onboarding cohort has room."""

    status: OfferStatus
    cohort: OnboardingCohortView | None
    declined_at: datetime | None
