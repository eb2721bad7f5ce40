"""Finding mentors: search with filters (specialty, price, rating, language, timezone
overlap, availability in the next N days) and auto-match from the mentee's onboarding quiz
with a score out of 100 and the reasons behind it. Mentors still on probation are never
shown: a reviewer takes them off probation first (identity lists the vetted ones).

The quiz's answers are kept (and shown again to be changed); the programs suggested from
them are the curriculum's to choose, from the answers handed over here."""

from __future__ import annotations

import uuid
import zoneinfo
from collections.abc import Iterable
from datetime import datetime, timedelta

import pycountry

from dracarys.curriculum import ProgramPreferences, ProgramSuggestions, suggest_programs
from dracarys.db import Connection, transaction
from dracarys.errors import InvalidInput, NotFound
from dracarys.identity import (
    CurrentUser,
    MentorListing,
    Specialty,
    display_names,
    listed_mentors,
    rating_with_prior,
)
from dracarys.mentorship.availability import resolve_timezone, weekly_overlap_minutes
from dracarys.mentorship.discovery import store
from dracarys.mentorship.discovery.models import (
    TRADING_STYLES,
    MatchList,
    MatchView,
    MentorCard,
    MentorSearch,
    QuizInput,
    QuizView,
)
from dracarys.mentorship.schedules.service import (
    default_schedules,
    open_slots,
    schedule_of,
    session_types_of,
)
from dracarys.money import format_money, is_currency
from dracarys.platform import Platform
from dracarys.settings import Settings

# Auto-match weights (sum 100). The first is for the specialties picked, goals and
# markets alike.
GOALS_WEIGHT = 35
BUDGET_WEIGHT = 20
TIMEZONE_WEIGHT = 15
RATING_WEIGHT = 15
STYLE_WEIGHT = 10
LANGUAGE_WEIGHT = 5
# Overlap that earns the full timezone weight: ten hours a week.
FULL_OVERLAP_MINUTES = 600
MATCH_CANDIDATES = 200
MATCH_RESULTS = 10
# Candidates fetched when overlap or availability, computed here, filter them further.
SEARCH_CANDIDATES = 500
# How far ahead a card looks for its next free slot when the search sets no availability
# horizon: the two weeks the booking panel lists.
NEXT_FREE_HORIZON_DAYS = 14


def _card(mentor: MentorListing, name: str, languages: list[str]) -> MentorCard:
    count = mentor.rating_count
    return MentorCard(
        id=mentor.id,
        name=name,
        headline=mentor.headline,
        specialties=mentor.specialties,
        trading_style=mentor.trading_style,
        hourly_rate_minor=mentor.hourly_rate_minor,
        currency=mentor.currency,
        rating_average=round(mentor.rating_sum / count, 2) if count else None,
        rating_count=count,
        total_sessions=mentor.total_sessions,
        reputation_score=mentor.reputation_score,
        languages=languages,
        timezone=None,
        bio=mentor.bio,
    )


async def _next_available(
    conn: Connection, mentor_id: uuid.UUID, now: datetime, days: int
) -> datetime | None:
    first: datetime | None = None
    for session_type in await session_types_of(conn, mentor_id):
        slots = await open_slots(
            conn, session_type, start=now, end=now + timedelta(days=days), now=now
        )
        if slots and (first is None or slots[0][0] < first):
            first = slots[0][0]
    return first


async def _cards(
    conn: Connection,
    settings: Settings,
    mentors: list[MentorListing],
    *,
    viewer_zone: zoneinfo.ZoneInfo | None,
    now: datetime,
) -> list[MentorCard]:
    ids = [m.id for m in mentors]
    schedules = await default_schedules(conn, ids)
    languages = await store.languages_of(conn, ids)
    # Names are sealed at rest: asked of identity for the page, not joined in SQL.
    names = await display_names(conn, settings, ids)
    cards = []
    for mentor in mentors:
        card = _card(mentor, names[mentor.id], languages.get(mentor.id, []))
        schedule = schedules.get(mentor.id)
        if schedule is not None:
            card.timezone = schedule.timezone
            if viewer_zone is not None:
                card.overlap_minutes_per_week = weekly_overlap_minutes(
                    schedule_of(schedule), viewer_zone, week_start=now
                )
        elif viewer_zone is not None:
            card.overlap_minutes_per_week = 0
        cards.append(card)
    return cards


async def search_mentors(
    platform: Platform,
    *,
    skill: str | None,
    timezone: str | None,
    min_price: int | None,
    max_price: int | None,
    min_rating: float | None,
    language: str | None,
    available_within_days: int | None,
    limit: int,
    currency: str | None = None,
) -> MentorSearch:
    """Filters in SQL first; timezone overlap (viewer working hours 08:00–20:00),
    availability and the rate's currency are applied to the remaining mentors here. Each
    card names its mentor's next free slot within the availability horizon asked for, or
    within `NEXT_FREE_HORIZON_DAYS`."""
    zone = resolve_timezone(timezone) if timezone else None
    now = platform.clock.now()
    async with platform.pool.acquire() as conn:
        speakers = await store.speakers_of(conn, language.lower()) if language else None
        mentors = await listed_mentors(
            conn,
            specialty=skill.strip().lower() if skill else None,
            min_rate_minor=min_price,
            max_rate_minor=max_price,
            min_rating=min_rating,
            among=speakers,
            limit=limit
            if zone is None and available_within_days is None and currency is None
            else SEARCH_CANDIDATES,
        )
        if currency is not None:
            # A price bound means something in one currency only.
            mentors = [m for m in mentors if m.currency == currency]
        cards = await _cards(conn, platform.settings, mentors, viewer_zone=zone, now=now)
        if zone is not None:
            cards = [c for c in cards if (c.overlap_minutes_per_week or 0) > 0]
            cards.sort(key=lambda c: -(c.overlap_minutes_per_week or 0))
        if available_within_days is not None:
            kept = []
            for card in cards:
                card.next_available_at = await _next_available(
                    conn, card.id, now, available_within_days
                )
                if card.next_available_at is not None:
                    kept.append(card)
            cards = kept[:limit]
        else:
            # Every card shows when its mentor is next free, filtered on it or not.
            cards = cards[:limit]
            for card in cards:
                card.next_available_at = await _next_available(
                    conn, card.id, now, NEXT_FREE_HORIZON_DAYS
                )
    return MentorSearch(
        mentors=cards, next_free_within_days=available_within_days or NEXT_FREE_HORIZON_DAYS
    )


async def mentor_profile(platform: Platform, mentor_id: uuid.UUID) -> MentorCard:
    """One listed mentor's card, with their bio and next free slot (within
    `NEXT_FREE_HORIZON_DAYS`): the head of their public profile. Mentors on probation,
    inactive or not mentors at all are not found, as in search."""
    now = platform.clock.now()
    async with platform.pool.acquire() as conn:
        listed = await listed_mentors(conn, among={mentor_id}, limit=1)
        if not listed:
            raise NotFound("no mentor with this id takes mentees", field="mentor_id")
        [card] = await _cards(conn, platform.settings, listed, viewer_zone=None, now=now)
        card.next_available_at = await _next_available(conn, mentor_id, now, NEXT_FREE_HORIZON_DAYS)
    return card


async def set_languages(platform: Platform, actor: CurrentUser, languages: list[str]) -> None:
    async with transaction(platform.pool) as conn:
        await store.set_languages(conn, actor.id, sorted(set(languages)))


# ---- auto-match -----------------------------------------------------------------------


def _words(values: Iterable[str]) -> str:
    return ", ".join(v.replace("_", " ") for v in values)


def score_mentor(card: MentorCard, quiz: QuizInput, overlap_minutes: int) -> tuple[int, list[str]]:
    """Score out of 100 and the reasons, strongest first."""
    scored: list[tuple[float, str]] = []
    goals = {g.strip().lower() for g in quiz.goals}
    markets = set(quiz.markets)
    wanted = goals | markets
    specialties = set(card.specialties)
    covered_goals = sorted(goals & specialties)
    covered_markets = sorted(markets & specialties)
    covered = set(covered_goals) | set(covered_markets)
    goal_points = GOALS_WEIGHT * len(covered) / len(wanted) if wanted else GOALS_WEIGHT / 2
    # Markets and goals are one component: each reason ranks with its whole weight.
    if covered_markets:
        scored.append(
            (
                goal_points,
                f"trades {_words(covered_markets)} "
                f"({len(covered_markets)} of your {len(markets)} markets)",
            )
        )
    if covered_goals:
        scored.append(
            (
                goal_points,
                f"teaches {_words(covered_goals)} "
                f"({len(covered_goals)} of your {len(goals)} goals)",
            )
        )
    budget_points = 0.0
    if card.currency == quiz.currency:
        if card.hourly_rate_minor <= quiz.budget_minor:
            budget_points = BUDGET_WEIGHT
            rate = format_money(card.hourly_rate_minor, card.currency, whole=True)
            scored.append((budget_points, f"within your budget ({rate}/h)"))
        elif card.hourly_rate_minor > 0:
            budget_points = BUDGET_WEIGHT * max(
                0.0, 1 - (card.hourly_rate_minor - quiz.budget_minor) / card.hourly_rate_minor * 2
            )
    tz_points = TIMEZONE_WEIGHT * min(1.0, overlap_minutes / FULL_OVERLAP_MINUTES)
    if overlap_minutes > 0:
        scored.append((tz_points, f"{overlap_minutes // 60} h a week inside your working hours"))
    # The same Bayesian average identity uses for reputation: one 5-star review is no record.
    rating_sum = (card.rating_average or 0) * card.rating_count
    rating_points = RATING_WEIGHT * rating_with_prior(card.rating_count, rating_sum) / 5
    if quiz.experience == "beginner":
        # Beginners are better served by a mentor with a long record.
        rating_points = rating_points * min(1.0, 0.5 + card.total_sessions / 40)
    if card.rating_average is not None:
        scored.append(
            (
                rating_points,
                f"rated {card.rating_average:.1f} from {card.rating_count} reviews",
            )
        )
    style_points = 0.0
    style = quiz.style.strip().lower()
    if style and (style == (card.trading_style or "").lower() or style in card.specialties):
        style_points = STYLE_WEIGHT
        scored.append((style_points, f"trades your style ({style.replace('_', ' ')})"))
    language_points = 0.0
    shared = sorted(set(quiz.languages) & set(card.languages))
    if shared:
        language_points = LANGUAGE_WEIGHT
        scored.append((language_points, f"speaks {', '.join(shared)}"))
    elif not quiz.languages:
        language_points = LANGUAGE_WEIGHT / 2
    total = goal_points + budget_points + tz_points + rating_points + style_points + language_points
    scored.sort(key=lambda item: -item[0])
    return round(min(100.0, total)), [reason for _, reason in scored]


_SPECIALTIES = frozenset(s.value for s in Specialty)


def check_quiz(quiz: QuizInput) -> None:
    """What the types cannot say: answers from the lists the quiz offers, a real
    currency, language and timezone. Each refusal names its field."""
    style = quiz.style.strip().lower()
    if style not in TRADING_STYLES and style not in _SPECIALTIES:
        raise InvalidInput(
            f"{quiz.style!r} is not a trading style we know: choose one of "
            f"{', '.join(TRADING_STYLES)}",
            field="style",
        )
    if not is_currency(quiz.currency):
        raise InvalidInput(
            f"{quiz.currency!r} is not a currency code (e.g. KES or USD)", field="currency"
        )
    for language in quiz.languages:
        if pycountry.languages.get(alpha_2=language) is None:
            raise InvalidInput(
                f"{language!r} is not a language code (ISO 639-1, e.g. en or sw)",
                field="languages",
            )
    resolve_timezone(quiz.timezone)


async def save_quiz(platform: Platform, actor: CurrentUser, quiz: QuizInput) -> None:
    """Keep the caller's answers (a new set replaces the old one)."""
    check_quiz(quiz)
    async with transaction(platform.pool) as conn:
        await store.upsert_quiz(conn, actor.id, quiz, platform.clock.now())


async def saved_quiz(platform: Platform, actor: CurrentUser) -> QuizView:
    async with platform.pool.acquire() as conn:
        saved = await store.saved_quiz(conn, actor.id)
    return saved if saved is not None else QuizView(answers=None, updated_at=None)


async def suggested_programs(platform: Platform, actor: CurrentUser) -> ProgramSuggestions:
    """Programs for the caller's answers, chosen by the curriculum, with their reasons."""
    async with platform.pool.acquire() as conn:
        quiz = await store.quiz_of(conn, actor.id)
        if quiz is None:
            raise NotFound("take the onboarding quiz first", field="quiz")
        preferences = ProgramPreferences(
            experience=quiz.experience,
            markets=list(quiz.markets),
            goals=[str(goal) for goal in quiz.goals],
            budget_minor=quiz.budget_minor,
            currency=quiz.currency,
            weekly_hours=quiz.weekly_hours,
        )
        return await suggest_programs(conn, preferences, user_id=actor.id, now=platform.clock.now())


async def match_mentors(platform: Platform, actor: CurrentUser) -> MatchList:
    """Rank every visible mentor against the caller's quiz and keep the best ten (also
    stored as the mentee's matches)."""
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        quiz = await store.quiz_of(conn, actor.id)
        if quiz is None:
            raise NotFound("take the onboarding quiz first", field="quiz")
        zone = resolve_timezone(quiz.timezone)
        mentors = await listed_mentors(conn, limit=MATCH_CANDIDATES)
        cards = await _cards(
            conn,
            platform.settings,
            [m for m in mentors if m.id != actor.id],
            viewer_zone=zone,
            now=now,
        )
        ranked = []
        for card in cards:
            score, reasons = score_mentor(card, quiz, card.overlap_minutes_per_week or 0)
            ranked.append(MatchView(mentor=card, score=score, reasons=reasons))
        ranked.sort(key=lambda m: (-m.score, str(m.mentor.id)))
        best = ranked[:MATCH_RESULTS]
        await store.replace_matches(
            conn, actor.id, [(m.mentor.id, m.score, m.reasons) for m in best], now
        )
    return MatchList(matches=best)
