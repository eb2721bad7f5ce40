"""Outbox consumers of the points domain: domain events in, awards / voids / streaks /
badges / leaderboard counts out. Each runs inside the consumer's transaction together
with the event's de-duplication record, so an event applies exactly once in effect."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import msgspec
import structlog

from dracarys.db import Connection
from dracarys.outbox import Event
from dracarys.platform import Platform
from dracarys.points import events, leaderboard, service, store
from dracarys.points.models import Award

log = structlog.get_logger("dracarys.points.handlers")


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


Handler = Callable[[Connection, Platform, Event], Awaitable[None]]


@dataclass(slots=True)
class _Plan:
    """What a batch of events asks for: awards, learning days and badges, applied with a
    handful of statements whatever the batch size."""

    awards: list[Award] = field(default_factory=list)
    visits: list[service.LearningVisit] = field(default_factory=list)
    badges: list[tuple[uuid.UUID, str, str | None]] = field(default_factory=list)


def _plan_event(plan: _Plan, event: Event, at: datetime, mentor_multiplier: int) -> None:
    topic, payload = event.topic, event.payload
    if topic == events.USER_EMAIL_VERIFIED:
        p = msgspec.convert(payload, _UserPayload)
        plan.awards.append(Award(user_id=p.user_id, rule_code="signup_verified"))
    elif topic == events.PROFILE_COMPLETED:
        p = msgspec.convert(payload, _UserPayload)
        plan.awards.append(Award(user_id=p.user_id, rule_code="profile_completed"))
    elif topic == events.LESSON_COMPLETED:
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
        plan.visits.append(service.LearningVisit(lesson.user_id, at, lesson.timezone))
        plan.badges.append((lesson.user_id, service.BADGE_FIRST_LESSON, lesson.lesson_id))
    elif topic == events.ASSESSMENT_PASSED:
        passed = msgspec.convert(payload, _Assessment)
        plan.awards.append(
            Award(
                user_id=passed.user_id,
                rule_code="assessment_passed",
                related_entity=passed.assessment_id,
            )
        )
        plan.visits.append(service.LearningVisit(passed.user_id, at, passed.timezone))
        plan.badges.append((passed.user_id, service.BADGE_FIRST_ASSESSMENT, passed.assessment_id))
    elif topic == events.SESSION_ATTENDED:
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
    elif topic == events.SOCIAL_FOLLOW_VERIFIED:
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
    elif topic == events.SOCIAL_POST_SHARED:
        share = msgspec.convert(payload, _Share)
        plan.awards.append(
            Award(user_id=share.user_id, rule_code="social_share", related_entity=share.share_id)
        )
    elif topic == events.KYC_APPROVED:
        kyc = msgspec.convert(payload, _Kyc)
        if kyc.level >= 2:
            plan.awards.append(Award(user_id=kyc.user_id, rule_code="kyc_verified"))
    elif topic == events.SESSION_RATED:
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
        events.USER_EMAIL_VERIFIED,
        events.PROFILE_COMPLETED,
        events.LESSON_COMPLETED,
        events.ASSESSMENT_PASSED,
        events.SESSION_ATTENDED,
        events.SOCIAL_FOLLOW_VERIFIED,
        events.SOCIAL_POST_SHARED,
        events.KYC_APPROVED,
        events.SESSION_RATED,
    }
)


def _award(user_id: uuid.UUID, rule: str, entity: str | None = None, **extra: Any) -> Award:
    return Award(user_id=user_id, rule_code=rule, related_entity=entity, **extra)


async def _on_session_paid(conn: Connection, platform: Platform, event: Event) -> None:
    p = msgspec.convert(event.payload, _SessionPaid)
    await service.award(
        conn,
        platform,
        _award(
            p.mentee_id,
            "session_paid",
            p.session_id,
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
    await service.award(
        conn,
        platform,
        _award(p.referrer_id, "referral_completed", str(p.referee_id), money_ref=p.session_id),
    )


async def _on_deposit(conn: Connection, platform: Platform, event: Event) -> None:
    p = msgspec.convert(event.payload, _Deposit)
    if p.first_deposit:
        await service.award(
            conn, platform, _award(p.user_id, "first_deposit", money_ref=p.deposit_id)
        )


async def _on_email_clicked(conn: Connection, platform: Platform, event: Event) -> None:
    p = msgspec.convert(event.payload, _EmailClicked)
    # Only a click through the user's own token that led to a signed-in session counts.
    if await store.email_click_confirmed(conn, p.user_id, p.email_id):
        await service.award(conn, platform, _award(p.user_id, "email_click", p.email_id))


async def _on_refund(conn: Connection, platform: Platform, event: Event) -> None:
    p = msgspec.convert(event.payload, _Refund)
    await service.void_for_refund(conn, platform, p.related_id, "refund.issued")


async def _on_session_refunded(conn: Connection, platform: Platform, event: Event) -> None:
    p = msgspec.convert(event.payload, _SessionRefunded)
    await service.void_for_refund(conn, platform, p.session_id, "session.refunded")


async def _on_login(conn: Connection, platform: Platform, event: Event) -> None:
    p = msgspec.convert(event.payload, _Login)
    await service.record_login(
        conn, platform, p.user_id, p.source_ip, p.device_fingerprint, platform.clock.now()
    )


async def _on_paper_month(conn: Connection, platform: Platform, event: Event) -> None:
    p = msgspec.convert(event.payload, _PaperMonth)
    if p.pnl_minor > 0:
        await service.grant_badge(
            conn, platform, p.user_id, service.BADGE_PROFITABLE_MONTH, p.month
        )


async def _on_credit_landed(conn: Connection, platform: Platform, event: Event) -> None:
    p = msgspec.convert(event.payload, _CreditLanded)
    redemption_id = p.redemption_id
    if redemption_id is None and p.idempotency_key:
        try:
            redemption_id = uuid.UUID(p.idempotency_key)
        except ValueError:
            return  # a credit some other flow landed
    if redemption_id is not None:
        await store.mark_credit_landed(conn, redemption_id, platform.clock.now())


HANDLERS: dict[str, Handler] = {
    events.SESSION_PAID: _on_session_paid,
    events.REFERRAL_COMPLETED: _on_referral,
    events.DEPOSIT_COMPLETED: _on_deposit,
    events.EMAIL_CLICKED: _on_email_clicked,
    events.REFUND_ISSUED: _on_refund,
    events.SESSION_REFUNDED: _on_session_refunded,
    events.USER_LOGGED_IN: _on_login,
    events.PAPER_MONTH_CLOSED: _on_paper_month,
    events.CREDIT_LANDED: _on_credit_landed,
}


def _malformed(event: Event, exc: Exception) -> None:
    # Retrying a payload that does not match its topic's shape could never succeed.
    log.warning("points_event_malformed", topic=event.topic, event_id=str(event.id), error=str(exc))


async def handle_events(conn: Connection, platform: Platform, batch: Sequence[Event]) -> None:
    """Apply a batch of consumed events: the plain awards, learning days and badges of the
    whole batch with set-based statements, the rest (money, refunds, logins) one by one."""
    book = await service.rulebook(conn, platform)
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
    await service.award_many(conn, platform, plan.awards)
    await service.record_learning_days(conn, platform, plan.visits)
    await service.grant_badges(conn, platform, plan.badges)
    for event in singles:
        handler = HANDLERS.get(event.topic)
        if handler is None:
            continue
        try:
            await handler(conn, platform, event)
        except msgspec.ValidationError as exc:
            _malformed(event, exc)


async def handle_event(conn: Connection, platform: Platform, event: Event) -> None:
    await handle_events(conn, platform, [event])


async def count_awards(conn: Connection, platform: Platform, batch: Sequence[Event]) -> None:
    """`points.awarded` → leaderboards (each ledger entry counted once)."""
    entries: list[leaderboard.Counted] = []
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
        entries.append(leaderboard.Counted(p.entry_id, p.user_id, p.delta, at))
    await leaderboard.count_entries(conn, platform, entries)


async def count_award(conn: Connection, platform: Platform, event: Event) -> None:
    await count_awards(conn, platform, [event])
