"""Section 14 of the blueprint: what a user is told when points land, from the templates
below (`EMAIL_TEMPLATES`, by name). `award_message` gives it for a `points.awarded`
payload: the in-app text (reason codes without a template get the generic one) and the
e-mail template; notifications' `points_awarded` workflow writes, sends and publishes
it, once per ledger entry."""

from __future__ import annotations

import uuid
from string import Template
from typing import Any

import msgspec

from dracarys.messaging import EmailTemplate
from dracarys.points.events import PointsAwarded
from dracarys.points.reasons import describe_reason


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


def render_award_email(payload: dict[str, Any]) -> AwardEmail:
    award = msgspec.convert(payload, PointsAwarded)
    subject, text = AWARD_TEMPLATES.get(award.reason_code, _GENERIC)
    values = template_values(msgspec.convert(payload, _Awarded))
    return AwardEmail(
        subject=Template(subject).safe_substitute(values),
        text=Template(text).safe_substitute(values),
    )


# Award e-mails are messaging templates, one per reason code above.
EMAIL_TEMPLATES: dict[str, EmailTemplate] = {
    f"points.{code}": EmailTemplate(name=f"points.{code}", subject=subject, text=text)
    for code, (subject, text) in AWARD_TEMPLATES.items()
}


class _Awarded(msgspec.Struct, kw_only=True):
    user_id: uuid.UUID
    entry_id: uuid.UUID
    delta: int
    reason_code: str
    balance: int
    context: dict[str, str] = {}


def template_values(award: _Awarded) -> dict[str, str]:
    return {
        "lesson_title": "a lesson",
        "platform": "social media",
        **award.context,
        "points": f"{award.delta:,}",
        "balance": f"{award.balance:,}",
        "reason": describe_reason(award.reason_code),
    }


class AwardMessage(msgspec.Struct, frozen=True, kw_only=True):
    """What a person is told of one award: the in-app title and text, and the section-14
    e-mail (its template and values) when the reason has one."""

    user_id: uuid.UUID
    entry_id: uuid.UUID
    title: str
    text: str
    email: EmailTemplate | None
    values: dict[str, str]


def award_message(payload: dict[str, Any]) -> AwardMessage | None:
    """The notification of a `points.awarded` payload; None for a debit or a malformed
    payload (nothing to tell). Notifications' `points_awarded` workflow sends it."""
    try:
        award = msgspec.convert(payload, _Awarded)
    except msgspec.ValidationError:
        return None
    if award.delta <= 0:
        return None
    values = template_values(award)
    subject, text = AWARD_TEMPLATES.get(award.reason_code, _GENERIC)
    return AwardMessage(
        user_id=award.user_id,
        entry_id=award.entry_id,
        title=Template(subject).safe_substitute(values),
        text=Template(text).safe_substitute(values),
        email=EMAIL_TEMPLATES.get(f"points.{award.reason_code}"),
        values=values,
    )
