"""Event topics the points domain consumes and emits, with the payloads it emits."""

from __future__ import annotations

import msgspec

# Consumed: awards.
USER_EMAIL_VERIFIED = "user.email_verified"
PROFILE_COMPLETED = "profile.completed"
LESSON_COMPLETED = "lesson.completed"
ASSESSMENT_PASSED = "assessment.passed"
SESSION_PAID = "session.paid"
SESSION_ATTENDED = "session.attended"
SOCIAL_FOLLOW_VERIFIED = "social.follow_verified"
SOCIAL_POST_SHARED = "social.post_shared"
REFERRAL_COMPLETED = "referral.completed"
DEPOSIT_COMPLETED = "deposit.completed"
KYC_APPROVED = "kyc.approved"
EMAIL_CLICKED = "email.clicked"
SESSION_RATED = "session.rated"
ONBOARDING_COHORT_JOINED = "onboarding.cohort_joined"
# Consumed: voids, activity and wallet feedback.
REFUND_ISSUED = "refund.issued"
SESSION_REFUNDED = "session.refunded"
USER_LOGGED_IN = "user.logged_in"
PAPER_MONTH_CLOSED = "paper.month_closed"
CREDIT_LANDED = "points.credit_landed"

AWARD_TOPICS = frozenset(
    {
        USER_EMAIL_VERIFIED,
        PROFILE_COMPLETED,
        LESSON_COMPLETED,
        ASSESSMENT_PASSED,
        SESSION_PAID,
        SESSION_ATTENDED,
        SOCIAL_FOLLOW_VERIFIED,
        SOCIAL_POST_SHARED,
        REFERRAL_COMPLETED,
        DEPOSIT_COMPLETED,
        KYC_APPROVED,
        EMAIL_CLICKED,
        SESSION_RATED,
        ONBOARDING_COHORT_JOINED,
    }
)
CONSUMED_TOPICS = AWARD_TOPICS | {
    REFUND_ISSUED,
    SESSION_REFUNDED,
    USER_LOGGED_IN,
    PAPER_MONTH_CLOSED,
    CREDIT_LANDED,
}

# Emitted (`email.clicked` too, consumed above).
POINTS_AWARDED = "points.awarded"
TIER_CHANGED = "tier.changed"
BADGE_EARNED = "badge.earned"
POINTS_REDEEMED = "points.redeemed"
POINTS_REDEEMED_FOR_CREDIT = "points.redeemed_for_credit"


class PointsAwarded(msgspec.Struct, frozen=True, kw_only=True):
    """A ledger credit landed; `context` carries what a notification template needs
    (e.g. `lesson_title`)."""

    user_id: str
    entry_id: str
    delta: int
    reason_code: str
    balance: int
    related_entity: str | None = None
    context: dict[str, str] = {}


class TierChanged(msgspec.Struct, frozen=True, kw_only=True):
    user_id: str
    previous: str
    tier: str


class BadgeEarned(msgspec.Struct, frozen=True, kw_only=True):
    user_id: str
    badge: str


class PointsRedeemed(msgspec.Struct, frozen=True, kw_only=True):
    user_id: str
    redemption_id: str
    target: str
    target_ref: str | None
    points: int
    value_minor: int
    currency: str


class EmailClicked(msgspec.Struct, frozen=True, kw_only=True):
    """A person followed their own link in a marketing e-mail and signed in (the award
    consumer turns it into points)."""

    user_id: str
    email_id: str


class PointsRedeemedForCredit(msgspec.Struct, frozen=True, kw_only=True):
    """Released cash-equivalent redemption the wallet credits (`purpose`: wallet or
    mentor_sessions); the wallet answers with `points.credit_landed` {redemption_id}."""

    user_id: str
    redemption_id: str
    amount_minor: int
    currency: str
    purpose: str
