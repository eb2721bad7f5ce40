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


# The same, for members who read Swahili (issue 20 item 8, Kenya first).
REASONS_SW = {
    "signup_verified": "barua pepe imethibitishwa",
    "profile_completed": "wasifu umekamilishwa",
    "onboarding_cohort_joined": "umejiunga na kundi la mwanzo",
    "lesson_completed": "somo limekamilika",
    "assessment_passed": "tathmini imefaulu",
    "session_paid": "kipindi cha kulipia",
    "session_attended": "kipindi cha moja kwa moja kimehudhuriwa",
    "social_follow": "ufuatiliaji wa mtandao wa kijamii umethibitishwa",
    "social_share": "chapisho la umma limeshirikiwa",
    "referral_completed": "rufaa imekamilika",
    "first_deposit": "amana ya kwanza",
    "kyc_verified": "utambulisho (KYC) umethibitishwa",
    "email_click": "barua pepe imebofywa",
    "mentor_rating": "tathmini ya mshauri imetolewa",
    "appeal_granted": "rufaa imekubaliwa",
    "adjustment": "marekebisho ya timu yetu",
    "redemption": "zimetumika",
    "expired": "muda wake uliisha baada ya miezi 12",
    "refund_clawback": "ununuzi uliorejeshewa pesa",
    "follow_withdrawn": "ufuatiliaji wa mtandao wa kijamii umeondolewa",
    "merch_cancelled": "agizo la bidhaa limeghairiwa, pointi zimerudishwa",
}
REASONS = {"en": _REASONS, "sw": REASONS_SW}


def describe_reason(reason_code: str, language: str = "en") -> str:
    found = REASONS.get(language, _REASONS).get(reason_code) or _REASONS.get(reason_code)
    return found or reason_code.replace("_", " ")
