"""The topics the points domain produces, each with its payload (emitted through the
outbox with `emit_event`). The topics it consumes from other domains are theirs
(`consumers.CONSUMED_TOPICS`)."""

from __future__ import annotations

from typing import ClassVar

import msgspec

from dracarys.outbox import EventPayload

POINTS_AWARDED = "points.awarded"
TIER_CHANGED = "tier.changed"
BADGE_EARNED = "badge.earned"
POINTS_REDEEMED = "points.redeemed"
POINTS_REDEEMED_FOR_CREDIT = "points.redeemed_for_credit"
POINTS_CLAWED_BACK = "points.clawed_back"
POINTS_FROZEN = "points.frozen"
EMAIL_CLICKED = "email.clicked"


class PointsAwarded(EventPayload, frozen=True, kw_only=True):
    """A ledger credit landed; `context` carries what a notification template needs
    (e.g. `lesson_title`)."""

    topic: ClassVar[str] = POINTS_AWARDED
    user_id: str
    entry_id: str
    delta: int
    reason_code: str
    balance: int
    related_entity: str | None = None
    context: dict[str, str] = msgspec.field(default_factory=dict)


class PointsClawedBack(EventPayload, frozen=True, kw_only=True):
    """Points already posted were taken back by a new, negative ledger entry (a refund of
    the money they were earned on, or the thing they were earned for undone); `points` is
    what was taken (positive: never more than the balance held)."""

    topic: ClassVar[str] = POINTS_CLAWED_BACK
    user_id: str
    entry_id: str
    points: int
    reason_code: str
    related_entity: str | None = None


class PointsFrozen(EventPayload, frozen=True, kw_only=True):
    """An account's earning was frozen pending review (`reason`: velocity, more points in
    the window than the limit); `points` is the award the freeze refused."""

    topic: ClassVar[str] = POINTS_FROZEN
    user_id: str
    reason: str
    rule_code: str
    points: int


class TierChanged(EventPayload, frozen=True, kw_only=True):
    topic: ClassVar[str] = TIER_CHANGED
    user_id: str
    previous: str
    tier: str


class BadgeEarned(EventPayload, frozen=True, kw_only=True):
    topic: ClassVar[str] = BADGE_EARNED
    user_id: str
    badge: str


class PointsRedeemed(EventPayload, frozen=True, kw_only=True):
    topic: ClassVar[str] = POINTS_REDEEMED
    user_id: str
    redemption_id: str
    target: str
    target_ref: str | None
    points: int
    value_minor: int
    currency: str


class EmailClicked(EventPayload, frozen=True, kw_only=True):
    """A person followed their own link in a marketing e-mail and signed in (the award
    consumer turns it into points)."""

    topic: ClassVar[str] = EMAIL_CLICKED
    user_id: str
    email_id: str


class PointsRedeemedForCredit(EventPayload, frozen=True, kw_only=True):
    """Released cash-equivalent redemption the wallet credits (`purpose`: wallet or
    mentor_sessions); the wallet answers with `points.credit_landed` {redemption_id}."""

    topic: ClassVar[str] = POINTS_REDEEMED_FOR_CREDIT
    user_id: str
    redemption_id: str
    amount_minor: int
    currency: str
    purpose: str
