"""Section 14 of the blueprint: the e-mail a user gets when points land, rendered from
templates. `render_award_email` is the hook messaging calls with a `points.awarded`
payload; reason codes without a template get the generic one."""

from __future__ import annotations

from string import Template
from typing import Any

import msgspec

from dracarys.points.events import PointsAwarded


class AwardEmail(msgspec.Struct, frozen=True, kw_only=True):
    subject: str
    text: str


_GENERIC = (
    "You earned $points points",
    "You earned $points points ($reason). Your balance: $balance.",
)
# reason_code -> (subject, text); placeholders come from the event payload and context.
AWARD_TEMPLATES: dict[str, tuple[str, str]] = {
    "lesson_completed": (
        "Nice — $points points",
        "Nice — $points points for completing $lesson_title. Your balance: $balance.",
    ),
    "assessment_passed": (
        "Assessment passed: $points points",
        "Well done — $points points for passing the assessment. Your balance: $balance.",
    ),
    "social_follow": (
        "Thanks for following us on $platform",
        "Your follow on $platform is verified: $points points. Share your badge with "
        "friends! Your balance: $balance.",
    ),
    "signup_verified": (
        "Welcome — $points points",
        "Your email is verified and $points points are yours. Your balance: $balance.",
    ),
    "session_paid": (
        "$points points for your session",
        "Your session earned you $points points. Your balance: $balance.",
    ),
    "referral_completed": (
        "Referral bonus: $points points",
        "Someone you referred completed their first paid session: $points points. "
        "Your balance: $balance.",
    ),
}

_REASONS = {
    "signup_verified": "email verified",
    "profile_completed": "profile completed",
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
}


def describe_reason(reason_code: str) -> str:
    return _REASONS.get(reason_code, reason_code.replace("_", " "))


def render_award_email(payload: dict[str, Any]) -> AwardEmail:
    award = msgspec.convert(payload, PointsAwarded)
    subject, text = AWARD_TEMPLATES.get(award.reason_code, _GENERIC)
    values = {
        "lesson_title": "a lesson",
        "platform": "social media",
        **award.context,
        "points": f"{award.delta:,}",
        "balance": f"{award.balance:,}",
        "reason": describe_reason(award.reason_code),
    }
    return AwardEmail(
        subject=Template(subject).safe_substitute(values),
        text=Template(text).safe_substitute(values),
    )
