"""Reason codes in words, as a user reads them in their history and award messages."""

from __future__ import annotations

_REASONS = {
    "signup_verified": "email verified",
    "profile_completed": "profile completed",
    "onboarding_cohort_joined": "joined the onboarding cohort",
    "lesson_completed": "lesson completed",
    "assessment_passed": "assessment passed",
    "session_paid": "paid session",
    "session_attended": "live session attended",
    "social_follow": "verified social follow",
    "social_share": "public post shared",
    "referral_completed": "referral completed",
    "first_deposit": "first deposit",
    "kyc_verified": "KYC verified",
    "email_click": "email clicked",
    "mentor_rating": "mentor rating left",
    "appeal_granted": "appeal granted",
    "adjustment": "adjustment by our team",
    "redemption": "redeemed",
    "expired": "expired after 12 months",
    "refund_clawback": "refunded purchase",
    "follow_withdrawn": "social follow withdrawn",
    "merch_cancelled": "merch order cancelled, points returned",
}


def describe_reason(reason_code: str) -> str:
    return _REASONS.get(reason_code, reason_code.replace("_", " "))
