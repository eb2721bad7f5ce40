"""Section 14 of the blueprint: what a user is told when points land, from the templates
below (`EMAIL_TEMPLATES`, by name), in English and in Swahili (`SWAHILI_EMAIL_TEMPLATES`,
the same names; issue 20 item 8). `award_message` gives it for a `points.awarded`
payload in one language: the in-app text (reason codes without a template get the
generic one) and the e-mail template; notifications' `points_awarded` workflow writes,
sends and publishes it, once per ledger entry, in the language of the member's profile."""

from __future__ import annotations

import uuid
from string import Template
from typing import Any

import msgspec

from dracarys.messaging import EmailTemplate
from dracarys.points.events import PointsAwarded
from dracarys.points.reasons import describe_reason

LANGUAGES = ("en", "sw")


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


_GENERIC_SW = (
    "Umepata pointi $points",
    "Umepata pointi $points ($reason). Salio lako: $balance.",
)
# The same texts for members who read Swahili, with the same placeholders.
AWARD_TEMPLATES_SW: dict[str, tuple[str, str]] = {
    "lesson_completed": (
        "Hongera — pointi $points",
        "Hongera — pointi $points kwa kumaliza $lesson_title. Salio lako: $balance.",
    ),
    "assessment_passed": (
        "Umefaulu tathmini: pointi $points",
        "Vizuri sana — pointi $points kwa kufaulu tathmini. Salio lako: $balance.",
    ),
    "social_follow": (
        "Asante kwa kutufuata kwenye $platform",
        "Ufuatiliaji wako kwenye $platform umethibitishwa: pointi $points. Washirikishe "
        "marafiki beji yako! Salio lako: $balance.",
    ),
    "signup_verified": (
        "Karibu — pointi $points",
        "Barua pepe yako imethibitishwa na pointi $points ni zako. Salio lako: $balance.",
    ),
    "session_paid": (
        "Pointi $points kwa kipindi chako",
        "Kipindi chako kimekupatia pointi $points. Salio lako: $balance.",
    ),
    "referral_completed": (
        "Bonasi ya rufaa: pointi $points",
        "Mtu uliyemwalika amemaliza kipindi chake cha kwanza cha kulipia: pointi $points. "
        "Salio lako: $balance.",
    ),
}
_TEXTS = {"en": (AWARD_TEMPLATES, _GENERIC), "sw": (AWARD_TEMPLATES_SW, _GENERIC_SW)}
# What an award without these in its context says instead, per language.
_DEFAULTS = {
    "en": {"lesson_title": "a lesson", "platform": "social media"},
    "sw": {"lesson_title": "somo", "platform": "mitandao ya kijamii"},
}


def _texts(reason_code: str, language: str) -> tuple[str, str]:
    templates, generic = _TEXTS.get(language, _TEXTS["en"])
    return templates.get(reason_code, generic)


def render_award_email(payload: dict[str, Any], language: str = "en") -> AwardEmail:
    award = msgspec.convert(payload, PointsAwarded)
    subject, text = _texts(award.reason_code, language)
    values = template_values(msgspec.convert(payload, _Awarded), language)
    return AwardEmail(
        subject=Template(subject).safe_substitute(values),
        text=Template(text).safe_substitute(values),
    )


# Award e-mails are messaging templates, one per reason code above; a Swahili one keeps
# its English twin's name (messages are listed by it).
EMAIL_TEMPLATES: dict[str, EmailTemplate] = {
    f"points.{code}": EmailTemplate(name=f"points.{code}", subject=subject, text=text)
    for code, (subject, text) in AWARD_TEMPLATES.items()
}
SWAHILI_EMAIL_TEMPLATES: dict[str, EmailTemplate] = {
    f"points.{code}": EmailTemplate(name=f"points.{code}", subject=subject, text=text)
    for code, (subject, text) in AWARD_TEMPLATES_SW.items()
}
_EMAILS = {"en": EMAIL_TEMPLATES, "sw": SWAHILI_EMAIL_TEMPLATES}


def award_email(name: str, language: str) -> EmailTemplate | None:
    """An award e-mail by its name, as written for readers of `language`."""
    return _EMAILS.get(language, EMAIL_TEMPLATES).get(name) or EMAIL_TEMPLATES.get(name)


class _Awarded(msgspec.Struct, kw_only=True):
    user_id: uuid.UUID
    entry_id: uuid.UUID
    delta: int
    reason_code: str
    balance: int
    context: dict[str, str] = {}


def template_values(award: _Awarded, language: str = "en") -> dict[str, str]:
    return {
        **_DEFAULTS.get(language, _DEFAULTS["en"]),
        **award.context,
        "points": f"{award.delta:,}",
        "balance": f"{award.balance:,}",
        "reason": describe_reason(award.reason_code, language),
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


def award_message(payload: dict[str, Any], language: str = "en") -> AwardMessage | None:
    """The notification of a `points.awarded` payload, written for readers of `language`;
    None for a debit or a malformed payload (nothing to tell). Notifications'
    `points_awarded` workflow sends it."""
    try:
        award = msgspec.convert(payload, _Awarded)
    except msgspec.ValidationError:
        return None
    if award.delta <= 0:
        return None
    values = template_values(award, language)
    subject, text = _texts(award.reason_code, language)
    return AwardMessage(
        user_id=award.user_id,
        entry_id=award.entry_id,
        title=Template(subject).safe_substitute(values),
        text=Template(text).safe_substitute(values),
        email=award_email(f"points.{award.reason_code}", language),
        values=values,
    )
