"""The points domain's outbox consumers: domain events in, awards / voids / streaks /
badges / leaderboard counts out. Each receives the connection of the consumer's
transaction (with the events' de-duplication record, so an event applies exactly once in
effect), the platform and the batch; the composition root (`workers/consumers.py`) lists
them under their consumer names."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import msgspec
import structlog

from dracarys.curriculum import AssessmentPassed, LessonCompleted, OnboardingCohortJoined
from dracarys.db import Connection
from dracarys.identity import KycApproved, ProfileCompleted, UserEmailVerified, UserLoggedIn
from dracarys.mentorship import SessionAttended, SessionPaid, SessionRated, SessionRefunded
from dracarys.outbox import Event
from dracarys.platform import Platform
from dracarys.points import events
from dracarys.points.abuse import service as abuse
from dracarys.points.awarding import service as awarding
from dracarys.points.badges import service as badges
from dracarys.points.badges.models import Counted, LearningVisit
from dracarys.points.models import Award
from dracarys.points.redemption import service as redemption
from dracarys.points.rulebook.service import rulebook
from dracarys.social import FollowRevoked, FollowVerified, PostShared, ReferralCompleted
from dracarys.trading import PaperMonthClosed
from dracarys.wallet import DepositCompleted, PointsCreditLanded, RefundIssued

log = structlog.get_logger("dracarys.points.consumers")


# Each reads only the fields points needs of its producer's payload (ids as UUIDs, the
# rest optional where a rule does without), so a producer may add fields freely.
class _UserPayload(msgspec.Struct, kw_only=True):
    user_id: uuid.UUID


class _Lesson(_UserPayload, kw_only=True):
    lesson_id: str
    lesson_title: str = ""
    timezone: str | None = None


class _Assessment(_UserPayload, kw_only=True):
    assessment_id: str
    timezone: str | None = None


class _SessionPaid(msgspec.Struct, kw_only=True):
    session_id: str
    mentee_id: uuid.UUID
    mentor_id: uuid.UUID
    amount_minor: int
    currency: str


class _SessionAttended(msgspec.Struct, kw_only=True):
    session_id: str
    mentor_id: uuid.UUID
    mentee_id: uuid.UUID


class _SessionRated(msgspec.Struct, kw_only=True):
    session_id: str
    rater_id: uuid.UUID
    rated_id: uuid.UUID | None = None
    rating: int | None = None


class _Follow(_UserPayload, kw_only=True):
    platform: str


class _Unfollow(_UserPayload, kw_only=True):
    platform: str


class _Share(_UserPayload, kw_only=True):
    share_id: str


class _Referral(msgspec.Struct, kw_only=True):
    referrer_id: uuid.UUID
    referee_id: uuid.UUID
    session_id: str


class _Deposit(_UserPayload, kw_only=True):
    deposit_id: str
    amount_minor: int = 0
    currency: str = ""
    first_deposit: bool = False


class _Kyc(_UserPayload, kw_only=True):
    level: int


class _EmailClicked(_UserPayload, kw_only=True):
    email_id: str


class _Refund(msgspec.Struct, kw_only=True):
    related_id: str


class _SessionRefunded(msgspec.Struct, kw_only=True):
    session_id: str


class _Login(_UserPayload, kw_only=True):
    source_ip: str | None = None
    device_fingerprint: str | None = None


class _PaperMonth(_UserPayload, kw_only=True):
    month: str
    pnl_minor: int


class _CreditLanded(msgspec.Struct, kw_only=True):
    # The wallet names the redemption by the idempotency key points gave it.
    redemption_id: uuid.UUID | None = None
    idempotency_key: str | None = None


class _Awarded(msgspec.Struct, kw_only=True):
    user_id: uuid.UUID
    entry_id: str
    delta: int
    context: dict[str, str] = {}


@dataclass(slots=True)
class _Plan:
    """What a batch of events asks for: awards, learning days and badges, applied with a
    handful of statements whatever the batch size."""

    awards: list[Award] = field(default_factory=list)
    visits: list[LearningVisit] = field(default_factory=list)
    badges: list[tuple[uuid.UUID, str, str | None]] = field(default_factory=list)


def _plan_event(plan: _Plan, event: Event, at: datetime, mentor_multiplier: int) -> None:
    topic, payload = event.topic, event.payload
    if topic == UserEmailVerified.topic:
        p = msgspec.convert(payload, _UserPayload)
        plan.awards.append(Award(user_id=p.user_id, rule_code="signup_verified"))
    elif topic == ProfileCompleted.topic:
        p = msgspec.convert(payload, _UserPayload)
        plan.awards.append(Award(user_id=p.user_id, rule_code="profile_completed"))
    elif topic == OnboardingCohortJoined.topic:
        p = msgspec.convert(payload, _UserPayload)
        plan.awards.append(Award(user_id=p.user_id, rule_code="onboarding_cohort_joined"))
    elif topic == LessonCompleted.topic:
        lesson = msgspec.convert(payload, _Lesson)
        context = {"lesson_title": lesson.lesson_title} if lesson.lesson_title else {}
        plan.awards.append(
            Award(
                user_id=lesson.user_id,
                rule_code="lesson_completed",
                related_entity=lesson.lesson_id,
                context=context,
            )
        )
        plan.visits.append(LearningVisit(lesson.user_id, at, lesson.timezone))
        plan.badges.append((lesson.user_id, badges.BADGE_FIRST_LESSON, lesson.lesson_id))
    elif topic == AssessmentPassed.topic:
        passed = msgspec.convert(payload, _Assessment)
        plan.awards.append(
            Award(
                user_id=passed.user_id,
                rule_code="assessment_passed",
                related_entity=passed.assessment_id,
            )
        )
        plan.visits.append(LearningVisit(passed.user_id, at, passed.timezone))
        plan.badges.append((passed.user_id, badges.BADGE_FIRST_ASSESSMENT, passed.assessment_id))
    elif topic == SessionAttended.topic:
        attended = msgspec.convert(payload, _SessionAttended)
        plan.awards.append(
            Award(
                user_id=attended.mentee_id,
                rule_code="session_attended",
                related_entity=attended.session_id,
            )
        )
        plan.awards.append(
            Award(
                user_id=attended.mentor_id,
                rule_code="session_attended",
                related_entity=attended.session_id,
                multiplier=mentor_multiplier,
            )
        )
    elif topic == FollowVerified.topic:
        follow = msgspec.convert(payload, _Follow)
        name = follow.platform.strip().lower()
        plan.awards.append(
            Award(
                user_id=follow.user_id,
                rule_code="social_follow",
                related_entity=name,
                context={"platform": name},
            )
        )
    elif topic == PostShared.topic:
        share = msgspec.convert(payload, _Share)
        plan.awards.append(
            Award(user_id=share.user_id, rule_code="social_share", related_entity=share.share_id)
        )
    elif topic == KycApproved.topic:
        kyc = msgspec.convert(payload, _Kyc)
        if kyc.level >= 2:
            plan.awards.append(Award(user_id=kyc.user_id, rule_code="kyc_verified"))
    elif topic == SessionRated.topic:
        rated = msgspec.convert(payload, _SessionRated)
        if rated.session_id:  # a rating earns only with the session it rates
            plan.awards.append(
                Award(
                    user_id=rated.rater_id,
                    rule_code="mentor_rating",
                    related_entity=rated.session_id,
                )
            )


PLANNED_TOPICS = frozenset(
    {
        UserEmailVerified.topic,
        ProfileCompleted.topic,
        OnboardingCohortJoined.topic,
        LessonCompleted.topic,
        AssessmentPassed.topic,
        SessionAttended.topic,
        FollowVerified.topic,
        PostShared.topic,
        KycApproved.topic,
        SessionRated.topic,
    }
)


async def _on_session_paid(conn: Connection, platform: Platform, event: Event) -> None:
    p = msgspec.convert(event.payload, _SessionPaid)
    await awarding.award(
        conn,
        platform,
        Award(
            user_id=p.mentee_id,
            rule_code="session_paid",
            related_entity=p.session_id,
            amount_minor=p.amount_minor,
            currency=p.currency,
            money_ref=p.session_id,
        ),
    )


async def _on_referral(conn: Connection, platform: Platform, event: Event) -> None:
    p = msgspec.convert(event.payload, _Referral)
    if p.referrer_id == p.referee_id:
        log.warning("self_referral_ignored", user_id=str(p.referrer_id))
        return
    await awarding.award(
        conn,
        platform,
        Award(
            user_id=p.referrer_id,
            rule_code="referral_completed",
            related_entity=str(p.referee_id),
            money_ref=p.session_id,
        ),
    )


async def _on_deposit(conn: Connection, platform: Platform, event: Event) -> None:
    p = msgspec.convert(event.payload, _Deposit)
    if p.first_deposit:
        await awarding.award(
            conn,
            platform,
            Award(user_id=p.user_id, rule_code="first_deposit", money_ref=p.deposit_id),
        )


async def _on_email_clicked(conn: Connection, platform: Platform, event: Event) -> None:
    p = msgspec.convert(event.payload, _EmailClicked)
    # Only a click through the user's own token that led to a signed-in session counts.
    if await abuse.email_click_confirmed(conn, p.user_id, p.email_id):
        await awarding.award(
            conn,
            platform,
            Award(user_id=p.user_id, rule_code="email_click", related_entity=p.email_id),
        )


async def _on_refund(conn: Connection, platform: Platform, event: Event) -> None:
    p = msgspec.convert(event.payload, _Refund)
    await awarding.void_for_refund(conn, platform, p.related_id, "refund.issued")


async def _on_session_refunded(conn: Connection, platform: Platform, event: Event) -> None:
    p = msgspec.convert(event.payload, _SessionRefunded)
    await awarding.void_for_refund(conn, platform, p.session_id, "session.refunded")


async def _on_follow_revoked(conn: Connection, platform: Platform, event: Event) -> None:
    # The award of `social_follow` for this platform goes back through a ledger entry;
    # the key of the award stays used, so a later follow of the same platform earns nothing.
    p = msgspec.convert(event.payload, _Unfollow)
    await awarding.take_back_award(
        conn,
        platform,
        rule_code="social_follow",
        user_id=p.user_id,
        related_entity=p.platform.strip().lower(),
        reason_code="follow_withdrawn",
    )


async def _on_login(conn: Connection, platform: Platform, event: Event) -> None:
    p = msgspec.convert(event.payload, _Login)
    await abuse.record_login(
        conn, p.user_id, p.source_ip, p.device_fingerprint, platform.clock.now()
    )


async def _on_paper_month(conn: Connection, platform: Platform, event: Event) -> None:
    p = msgspec.convert(event.payload, _PaperMonth)
    if p.pnl_minor > 0:
        await badges.grant_badge(conn, platform, p.user_id, badges.BADGE_PROFITABLE_MONTH, p.month)


async def _on_credit_landed(conn: Connection, platform: Platform, event: Event) -> None:
    p = msgspec.convert(event.payload, _CreditLanded)
    redemption_id = p.redemption_id
    if redemption_id is None and p.idempotency_key:
        try:
            redemption_id = uuid.UUID(p.idempotency_key)
        except ValueError:
            return  # a credit some other flow landed
    if redemption_id is not None:
        await redemption.credit_landed(conn, platform, redemption_id)


_SINGLE: dict[str, Callable[[Connection, Platform, Event], Awaitable[None]]] = {
    SessionPaid.topic: _on_session_paid,
    ReferralCompleted.topic: _on_referral,
    DepositCompleted.topic: _on_deposit,
    events.EMAIL_CLICKED: _on_email_clicked,
    RefundIssued.topic: _on_refund,
    SessionRefunded.topic: _on_session_refunded,
    FollowRevoked.topic: _on_follow_revoked,
    UserLoggedIn.topic: _on_login,
    PaperMonthClosed.topic: _on_paper_month,
    PointsCreditLanded.topic: _on_credit_landed,
}
# What consumer `points.award` takes: each topic is its producer's (a few await one, see
# `events`).
CONSUMED_TOPICS = PLANNED_TOPICS | frozenset(_SINGLE)


def _malformed(event: Event, exc: Exception) -> None:
    # Retrying a payload that does not match its topic's shape could never succeed.
    log.warning("points_event_malformed", topic=event.topic, event_id=str(event.id), error=str(exc))


async def apply_events(conn: Connection, platform: Platform, batch: Sequence[Event]) -> None:
    """Consumer `points.award` (the topics of `CONSUMED_TOPICS`): the plain awards,
    learning days and badges of the whole batch with set-based statements, the rest
    (money, refunds, logins, wallet feedback) one by one."""
    book = await rulebook(conn, platform)
    rule = book.rule("session_attended")
    mentor_multiplier = int(rule.params.get("mentor_multiplier", 2)) if rule else 2
    at = platform.clock.now()
    plan = _Plan()
    singles: list[Event] = []
    for event in batch:
        if event.topic not in PLANNED_TOPICS:
            singles.append(event)
            continue
        try:
            _plan_event(plan, event, at, mentor_multiplier)
        except msgspec.ValidationError as exc:
            _malformed(event, exc)
    await awarding.award_many(conn, platform, plan.awards)
    await badges.record_learning_days(conn, platform, plan.visits)
    await badges.grant_badges(conn, platform, plan.badges)
    for event in singles:
        apply_one = _SINGLE.get(event.topic)
        if apply_one is None:
            continue
        try:
            await apply_one(conn, platform, event)
        except msgspec.ValidationError as exc:
            _malformed(event, exc)


async def count_awards(conn: Connection, platform: Platform, batch: Sequence[Event]) -> None:
    """Consumer `points.leaderboard`: `points.awarded` → leaderboards (each ledger entry
    counted once)."""
    entries: list[Counted] = []
    for event in batch:
        try:
            p = msgspec.convert(event.payload, _Awarded)
        except msgspec.ValidationError as exc:
            _malformed(event, exc)
            continue
        if p.delta <= 0:
            continue
        at_text = p.context.get("awarded_at")
        at = datetime.fromisoformat(at_text) if at_text else event.created_at
        entries.append(Counted(p.entry_id, p.user_id, p.delta, at))
    await badges.count_entries(conn, platform, entries)
