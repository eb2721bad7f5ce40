"""What each notification's texts may say: the (kind, channel, language) texts there are,
the code's own text of each (version 0: English from `workflows.py`, Swahili from
`swahili.py`), the `$variables` each kind provides, those every version must keep, and
the sample values previews are filled with, in each language as the consumers make them
(`SAMPLES`, `SAMPLES_SW`). `check_text` holds an admin's text to them."""

from __future__ import annotations

from dataclasses import dataclass
from string import Template

from dracarys.errors import FieldError
from dracarys.notifications.templates.swahili import SWAHILI
from dracarys.notifications.workflows import WORKFLOWS, Channel

ENGLISH, SWAHILI_LANGUAGE = "en", "sw"
LANGUAGES = (ENGLISH, SWAHILI_LANGUAGE)
LANGUAGE_NAMES = {ENGLISH: "English", SWAHILI_LANGUAGE: "Swahili"}
TEXT_CHANNELS = (Channel.IN_APP, Channel.EMAIL, Channel.SMS)
CHANNEL_NAMES = {Channel.IN_APP: "In-app", Channel.EMAIL: "E-mail", Channel.SMS: "SMS"}
# Messaging adds it to every e-mail's and SMS's values; the in-app text never has it.
BASE_URL = "base_url"

# The values every version of a kind's text must keep, on every channel: what the
# notification is about (without the amount, a payment notice says nothing).
REQUIRED: dict[str, frozenset[str]] = {
    "session_booked": frozenset({"starts_at"}),
    "session_cancelled": frozenset({"session_day"}),
    "session_reminder": frozenset({"starts_at"}),
    "session_rated": frozenset({"rating"}),
    "payment_receipt": frozenset({"amount"}),
    "package_refunded": frozenset({"amount"}),
    "payout_sent": frozenset({"amount"}),
    "payout_under_review": frozenset({"amount"}),
    "payout_failed": frozenset({"amount"}),
    "payment_failed": frozenset({"amount"}),
    "kyc_approved": frozenset({"level"}),
    "kyc_rejected": frozenset(),
    "role_changed": frozenset({"role"}),
    "points_awarded": frozenset({"title", "body"}),
    "tier_reached": frozenset({"tier"}),
    "signal_published": frozenset({"symbol", "side"}),
    "community_reply": frozenset({"title"}),
    "community_mention": frozenset({"title"}),
    "community_moderation": frozenset({"headline", "reason"}),
    "staff_alert": frozenset({"title", "summary"}),
    "session_rescheduled": frozenset({"starts_at"}),
    "subscription_lapsed": frozenset({"amount"}),
    "session_refunded": frozenset({"amount"}),
    "refund_issued": frozenset({"amount"}),
    "deposit_completed": frozenset({"amount"}),
    "earnings_released": frozenset({"amount"}),
    "affiliate_commission": frozenset({"amount"}),
    "chargeback_opened": frozenset({"amount", "held"}),
    "chargeback_won": frozenset({"amount"}),
    "chargeback_lost": frozenset({"amount"}),
    "points_frozen": frozenset({"points"}),
    "points_clawed_back": frozenset({"points"}),
    "badge_earned": frozenset({"badge"}),
    "certificate_granted": frozenset({"verification_url"}),
    "chat_message": frozenset({"sender"}),
    "chat_request": frozenset({"sender"}),
}

# Sample values per kind, shaped as the consumers make them, for previews.
SAMPLES: dict[str, dict[str, str]] = {
    "session_booked": {"starts_at": "Monday, 7 December 2026, 14:00 UTC"},
    "session_cancelled": {"session_day": "Monday, 7 December 2026", "who": "your mentor"},
    "session_reminder": {
        "lead": "1 hour",
        "title": "Reading the order book",
        "starts_at": "Monday, 7 December 2026, 14:00 UTC",
    },
    "session_rated": {"rating": "5"},
    "payment_receipt": {"amount": "KES 2,500.00", "purpose": "session", "reference": "S-1042"},
    "package_refunded": {"reason": "expired", "unused": "2", "amount": "KES 5,000.00"},
    "payout_sent": {"amount": "KES 12,000.00", "method": "mpesa"},
    "payout_under_review": {"amount": "KES 12,000.00"},
    "payout_failed": {"amount": "KES 12,000.00", "reason": "account closed"},
    "payment_failed": {"amount": "KES 1,500.00", "period": "period 3"},
    "kyc_approved": {"level": "2"},
    "kyc_rejected": {"doc_type": "government ID", "reason": "the photo is blurred"},
    "role_changed": {"role": "a mentor"},
    "points_awarded": {
        "title": "+20 points: lesson completed",
        "body": "You finished \u201cRisk 101\u201d. Your balance is 120 points.",
    },
    "tier_reached": {"tier": "Silver", "previous": "Bronze"},
    "signal_published": {"symbol": "EURUSD", "side": "BUY", "mentor": "Achieng Otieno"},
    "community_reply": {"author": "baraka", "title": "How wide should my stop be?"},
    "community_mention": {"author": "amina", "title": "Position sizing on small accounts"},
    "staff_alert": {
        "title": "Chargeback opened",
        "summary": "A bank disputed a card deposit of USD 120.00.",
    },
    "community_moderation": {
        "headline": "Your post is waiting for a moderator",
        "reason": "It reads as a promise of returns, which members may not make.",
    },
    "session_rescheduled": {"starts_at": "Tuesday, 8 December 2026, 16:00 UTC"},
    "subscription_lapsed": {"amount": "KES 1,500.00", "period": "period 3"},
    "session_refunded": {"amount": "KES 2,500.00"},
    "refund_issued": {"amount": "KES 2,500.00"},
    "deposit_completed": {"amount": "KES 5,000.00", "method": "card"},
    "earnings_released": {"amount": "KES 2,125.00", "purpose": "a session"},
    "affiliate_commission": {"amount": "KES 75.00"},
    "chargeback_opened": {"amount": "USD 120.00", "held": "USD 80.00"},
    "chargeback_won": {"amount": "USD 120.00"},
    "chargeback_lost": {"amount": "USD 120.00", "held": "USD 80.00", "unrecovered": "USD 40.00"},
    "points_frozen": {
        "points": "50",
        "reason": "more points than our limit came in within a short time",
    },
    "points_clawed_back": {"points": "200", "reason": "refunded purchase"},
    "badge_earned": {"badge": "7-day learning streak"},
    "certificate_granted": {
        "certificate_id": "DRC-7F3A-2026",
        "verification_url": "https://dracarys.example/certificates/DRC-7F3A-2026",
    },
    "chat_message": {"sender": "Achieng Otieno"},
    "chat_request": {"sender": "Baraka Mwangi"},
}


# The values that read differently for a Swahili reader, as the consumers give them
# (`Notice.translations`); the rest of `SAMPLES` (amounts, names, titles) is the same.
SAMPLES_SW: dict[str, dict[str, str]] = {
    "session_booked": {"starts_at": "Jumatatu, 7 Desemba 2026, 14:00 UTC"},
    "session_cancelled": {"session_day": "Jumatatu, 7 Desemba 2026", "who": "mshauri wako"},
    "session_reminder": {"lead": "saa 1", "starts_at": "Jumatatu, 7 Desemba 2026, 14:00 UTC"},
    "payment_receipt": {"purpose": "kipindi chako"},
    "package_refunded": {"reason": "muda wake umeisha"},
    "payment_failed": {"period": "awamu ya 3"},
    "subscription_lapsed": {"period": "awamu ya 3"},
    "session_rescheduled": {"starts_at": "Jumanne, 8 Desemba 2026, 16:00 UTC"},
    "deposit_completed": {"method": "kadi"},
    "earnings_released": {"purpose": "kipindi"},
    "points_frozen": {"reason": "pointi nyingi kuliko kikomo chetu ziliingia kwa muda mfupi"},
    "points_clawed_back": {"reason": "ununuzi uliorejeshewa pesa"},
    "badge_earned": {"badge": "Mfululizo wa siku 7 za kujifunza"},
    "kyc_rejected": {"doc_type": "kitambulisho cha serikali", "reason": "picha haionekani vizuri"},
    "role_changed": {"role": "mshauri"},
    "points_awarded": {
        "title": "Hongera — pointi 20",
        "body": "Hongera — pointi 20 kwa kumaliza \u201cRisk 101\u201d. Salio lako: 120.",
    },
    "community_moderation": {
        "headline": "Chapisho lako katika \u201cHow wide should my stop be?\u201d "
        "limesimamishwa ili likaguliwe",
        "reason": "Limesimamishwa ili likaguliwe: linaahidi faida iliyohakikishwa "
        "(\u201cguaranteed 30% a month\u201d).",
    },
}
SAMPLES_BY_LANGUAGE: dict[str, dict[str, dict[str, str]]] = {
    ENGLISH: {},
    SWAHILI_LANGUAGE: SAMPLES_SW,
}


@dataclass(frozen=True, slots=True)
class TemplateText:
    """One channel's text: `subject` is the in-app title or the e-mail subject (None for
    an SMS)."""

    subject: str | None
    body: str


def code_text(kind: str, channel: str, language: str) -> TemplateText | None:
    """Version 0: the text in the code, or None where the kind sends nothing of its own on
    the channel (its domain queues that e-mail itself) or the language has none."""
    workflow = WORKFLOWS.get(kind)
    if workflow is None:
        return None
    if language == SWAHILI_LANGUAGE:
        found = SWAHILI.get((kind, channel))
        return None if found is None else TemplateText(subject=found[0], body=found[1])
    if language != ENGLISH:
        return None
    if channel == Channel.IN_APP and Channel.IN_APP in workflow.channels:
        return TemplateText(subject=workflow.title, body=workflow.body)
    if channel == Channel.EMAIL and workflow.email is not None:
        return TemplateText(subject=workflow.email.subject, body=workflow.email.text)
    if channel == Channel.SMS and workflow.sms is not None:
        return TemplateText(subject=None, body=workflow.sms.text)
    return None


def editable() -> list[tuple[str, str, str]]:
    """Every (kind, channel, language) with a text of its own, in the workflows' order."""
    return [
        (kind, channel.value, language)
        for kind in WORKFLOWS
        for channel in TEXT_CHANNELS
        for language in LANGUAGES
        if code_text(kind, channel.value, ENGLISH) is not None
    ]


def placeholders(text: str) -> set[str]:
    """The `$name` / `${name}` placeholders of a well-formed text."""
    return {
        match.group("named") or match.group("braced")
        for match in Template.pattern.finditer(text)
        if match.group("named") or match.group("braced")
    }


def variables_of(kind: str, channel: str) -> frozenset[str]:
    """What a kind's notices provide: every value its English in-app text uses (the one
    text every notice is rendered with), and the site's address on e-mail and SMS."""
    in_app = code_text(kind, Channel.IN_APP.value, ENGLISH)
    provided = set() if in_app is None else placeholders(f"{in_app.subject}\n{in_app.body}")
    if channel != Channel.IN_APP:
        provided.add(BASE_URL)
    return frozenset(provided)


def required_of(kind: str, channel: str) -> frozenset[str]:
    """What a version must keep: the kind's required values, and on e-mail the link to
    the person's choices (everyone must always be able to choose what we send)."""
    required = set(REQUIRED.get(kind, frozenset()))
    if channel == Channel.EMAIL:
        required.add(BASE_URL)
    return frozenset(required)


def _listed(names: frozenset[str] | set[str]) -> str:
    return ", ".join(f"${n}" for n in sorted(names)) or "no values"


def check_text(kind: str, channel: str, subject: str | None, body: str) -> list[FieldError]:
    """Every problem of a text, each naming its field and the placeholder: a malformed
    `$`, a value the kind does not provide, a required value left out."""
    problems: list[FieldError] = []
    allowed = variables_of(kind, channel)
    has_subject = channel != Channel.SMS
    fields = [("subject", subject or ""), ("body", body)] if has_subject else [("body", body)]
    if has_subject and not (subject or "").strip():
        what = "title" if channel == Channel.IN_APP else "subject"
        problems.append(FieldError("subject", f"Write the {what}: it cannot be empty."))
    if not has_subject and subject:
        problems.append(FieldError("subject", "An SMS has no subject: leave it empty."))
    if not body.strip():
        problems.append(FieldError("body", "Write the text: it cannot be empty."))
    used: set[str] = set()
    for field, text in fields:
        for match in Template.pattern.finditer(text):
            name = match.group("named") or match.group("braced")
            if match.group("invalid") is not None:
                at = match.start("invalid")
                problems.append(
                    FieldError(
                        field,
                        f"The \u201c$\u201d at character {at + 1} does not start a value: "
                        f"write $$ for a dollar sign, or one of {_listed(allowed)}.",
                    )
                )
            elif name:
                used.add(name)
                if name not in allowed:
                    problems.append(
                        FieldError(
                            field,
                            f"\u201c${name}\u201d is not a value this notification has: it "
                            f"can use {_listed(allowed)}.",
                        )
                    )
    for name in sorted(required_of(kind, channel) - used):
        problems.append(
            FieldError(
                "body",
                f"The text must keep ${name}: every version of this notification says it.",
            )
        )
    return problems


def sample_values(kind: str, base_url: str, language: str = ENGLISH) -> dict[str, str]:
    """What a preview fills a text of `language` with."""
    in_language = SAMPLES_BY_LANGUAGE.get(language, {}).get(kind, {})
    return {**SAMPLES.get(kind, {}), **in_language, BASE_URL: base_url}
