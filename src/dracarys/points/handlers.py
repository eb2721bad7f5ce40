"""Outbox consumers of the points domain: domain events in, awards / voids / streaks /
badges / leaderboard counts out. Each runs inside the consumer's transaction together
with the event's de-duplication record, so an event applies exactly once in effect."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime

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
    redemption_id: uuid.UUID


class _Awarded(msgspec.Struct, kw_only=True):
    user_id: uuid.UUID
    entry_id: str
    delta: int
    context: dict[str, str] = {}


Handler = Callable[[Connection, Platform, Event], Awaitable[None]]


async def _simple(
    conn: Connection,
    platform: Platform,
    user_id: uuid.UUID,
    rule: str,
    entity: str | None = None,
    **extra: object,
) -> None:
    await service.award(
        conn,
        platform,
        Award(user_id=user_id, rule_code=rule, related_entity=entity, **extra),  # type: ignore[arg-type]
    )


async def _on_email_verified(conn: Connection, platform: Platform, event: Event) -> None:
    p = msgspec.convert(event.payload, _UserPayload)
    await _simple(conn, platform, p.user_id, "signup_verified")


async def _on_profile_completed(conn: Connection, platform: Platform, event: Event) -> None:
    p = msgspec.convert(event.payload, _UserPayload)
    await _simple(conn, platform, p.user_id, "profile_completed")


async def _on_lesson(conn: Connection, platform: Platform, event: Event) -> None:
    p = msgspec.convert(event.payload, _Lesson)
    context = {"lesson_title": p.lesson_title} if p.lesson_title else {}
    await _simple(conn, platform, p.user_id, "lesson_completed", p.lesson_id, context=context)
    await service.record_learning_day(conn, platform, p.user_id, platform.clock.now(), p.timezone)
    await service.grant_badge(conn, platform, p.user_id, service.BADGE_FIRST_LESSON, p.lesson_id)


async def _on_assessment(conn: Connection, platform: Platform, event: Event) -> None:
    p = msgspec.convert(event.payload, _Assessment)
    await _simple(conn, platform, p.user_id, "assessment_passed", p.assessment_id)
    await service.record_learning_day(conn, platform, p.user_id, platform.clock.now(), p.timezone)
    await service.grant_badge(
        conn, platform, p.user_id, service.BADGE_FIRST_ASSESSMENT, p.assessment_id
    )


async def _on_session_paid(conn: Connection, platform: Platform, event: Event) -> None:
    p = msgspec.convert(event.payload, _SessionPaid)
    await _simple(
        conn,
        platform,
        p.mentee_id,
        "session_paid",
        p.session_id,
        amount_minor=p.amount_minor,
        currency=p.currency,
        money_ref=p.session_id,
    )


async def _on_session_attended(conn: Connection, platform: Platform, event: Event) -> None:
    p = msgspec.convert(event.payload, _SessionAttended)
    book = await service.rulebook(conn, platform)
    rule = book.rule("session_attended")
    mentor_multiplier = int(rule.params.get("mentor_multiplier", 2)) if rule else 2
    await _simple(conn, platform, p.mentee_id, "session_attended", p.session_id)
    await _simple(
        conn, platform, p.mentor_id, "session_attended", p.session_id, multiplier=mentor_multiplier
    )


async def _on_follow(conn: Connection, platform: Platform, event: Event) -> None:
    p = msgspec.convert(event.payload, _Follow)
    name = p.platform.strip().lower()
    await _simple(conn, platform, p.user_id, "social_follow", name, context={"platform": name})


async def _on_share(conn: Connection, platform: Platform, event: Event) -> None:
    p = msgspec.convert(event.payload, _Share)
    await _simple(conn, platform, p.user_id, "social_share", p.share_id)


async def _on_referral(conn: Connection, platform: Platform, event: Event) -> None:
    p = msgspec.convert(event.payload, _Referral)
    if p.referrer_id == p.referee_id:
        log.warning("self_referral_ignored", user_id=str(p.referrer_id))
        return
    await _simple(
        conn,
        platform,
        p.referrer_id,
        "referral_completed",
        str(p.referee_id),
        money_ref=p.session_id,
    )


async def _on_deposit(conn: Connection, platform: Platform, event: Event) -> None:
    p = msgspec.convert(event.payload, _Deposit)
    if p.first_deposit:
        await _simple(conn, platform, p.user_id, "first_deposit", money_ref=p.deposit_id)


async def _on_kyc(conn: Connection, platform: Platform, event: Event) -> None:
    p = msgspec.convert(event.payload, _Kyc)
    if p.level >= 2:
        await _simple(conn, platform, p.user_id, "kyc_verified")


async def _on_email_clicked(conn: Connection, platform: Platform, event: Event) -> None:
    p = msgspec.convert(event.payload, _EmailClicked)
    # Only a click through the user's own token that led to a signed-in session counts.
    if await store.email_click_confirmed(conn, p.user_id, p.email_id):
        await _simple(conn, platform, p.user_id, "email_click", p.email_id)


async def _on_rated(conn: Connection, platform: Platform, event: Event) -> None:
    p = msgspec.convert(event.payload, _SessionRated)
    if not p.session_id:
        return
    await _simple(conn, platform, p.rater_id, "mentor_rating", p.session_id)


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
    await store.mark_credit_landed(conn, p.redemption_id, platform.clock.now())


HANDLERS: dict[str, Handler] = {
    events.USER_EMAIL_VERIFIED: _on_email_verified,
    events.PROFILE_COMPLETED: _on_profile_completed,
    events.LESSON_COMPLETED: _on_lesson,
    events.ASSESSMENT_PASSED: _on_assessment,
    events.SESSION_PAID: _on_session_paid,
    events.SESSION_ATTENDED: _on_session_attended,
    events.SOCIAL_FOLLOW_VERIFIED: _on_follow,
    events.SOCIAL_POST_SHARED: _on_share,
    events.REFERRAL_COMPLETED: _on_referral,
    events.DEPOSIT_COMPLETED: _on_deposit,
    events.KYC_APPROVED: _on_kyc,
    events.EMAIL_CLICKED: _on_email_clicked,
    events.SESSION_RATED: _on_rated,
    events.REFUND_ISSUED: _on_refund,
    events.SESSION_REFUNDED: _on_session_refunded,
    events.USER_LOGGED_IN: _on_login,
    events.PAPER_MONTH_CLOSED: _on_paper_month,
    events.CREDIT_LANDED: _on_credit_landed,
}


async def handle_event(conn: Connection, platform: Platform, event: Event) -> None:
    """Apply one consumed event. A payload that does not match its topic's shape is
    logged and skipped: retrying it could never succeed."""
    handler = HANDLERS.get(event.topic)
    if handler is None:
        return
    try:
        await handler(conn, platform, event)
    except msgspec.ValidationError as exc:
        log.warning(
            "points_event_malformed", topic=event.topic, event_id=str(event.id), error=str(exc)
        )


async def count_award(conn: Connection, platform: Platform, event: Event) -> None:
    """`points.awarded` → leaderboards (each entry once)."""
    try:
        p = msgspec.convert(event.payload, _Awarded)
    except msgspec.ValidationError:
        return
    if p.delta <= 0:
        return
    at_text = p.context.get("awarded_at")
    at = datetime.fromisoformat(at_text) if at_text else event.created_at
    await leaderboard.count_entry(
        conn, platform, entry_id=p.entry_id, user_id=p.user_id, points=p.delta, at=at
    )
