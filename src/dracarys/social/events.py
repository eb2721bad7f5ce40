"""The topics the social domain produces, each with its payload (emitted through the
outbox with `emit_event`). Points turns them into awards under its own rules and caps."""

from __future__ import annotations

from typing import ClassVar

from dracarys.outbox import EventPayload

SOCIAL_FOLLOW_VERIFIED = "social.follow_verified"
SOCIAL_FOLLOW_REVOKED = "social.follow_revoked"
SOCIAL_POST_SHARED = "social.post_shared"
REFERRAL_COMPLETED = "referral.completed"
AFFILIATE_COMMISSION_ACCRUED = "affiliate.commission_accrued"


class FollowVerified(EventPayload, frozen=True, kw_only=True):
    """A follow of one of our accounts was checked (`platform`: youtube, x, instagram,
    tiktok, ...)."""

    topic: ClassVar[str] = SOCIAL_FOLLOW_VERIFIED
    user_id: str
    platform: str


class FollowRevoked(EventPayload, frozen=True, kw_only=True):
    """A follow verified earlier is gone (a scheduled re-check found the member no longer
    follows us, or they withdrew our access so it cannot be checked): the award of
    `FollowVerified` for this platform is taken back. Sent at most once per member and
    platform, since the award is given at most once."""

    topic: ClassVar[str] = SOCIAL_FOLLOW_REVOKED
    user_id: str
    platform: str
    reason: str


class PostShared(EventPayload, frozen=True, kw_only=True):
    """A share brought enough distinct signed-in visitors to count."""

    topic: ClassVar[str] = SOCIAL_POST_SHARED
    user_id: str
    share_id: str


class ReferralCompleted(EventPayload, frozen=True, kw_only=True):
    """A referee's first paid session qualified their referrer (`session_id` ties the
    award to that payment, so its refund voids it)."""

    topic: ClassVar[str] = REFERRAL_COMPLETED
    referrer_id: str
    referee_id: str
    session_id: str


class AffiliateCommissionAccrued(EventPayload, frozen=True, kw_only=True):
    """An affiliate earned `amount_minor` (pending until the refund window closes) on a
    payment of the member they brought (`referee_id`): for analytics, part of what that
    member cost to acquire."""

    topic: ClassVar[str] = AFFILIATE_COMMISSION_ACCRUED
    commission_id: str
    affiliate_id: str
    referee_id: str
    payment_id: str
    amount_minor: int
    currency: str
