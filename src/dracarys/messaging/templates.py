"""Transactional message templates. A domain adds its own with `register_email_template`
/ `register_sms_template` (e.g. points: "points_awarded"; wallet: "payout_processed").

Templates use `string.Template` placeholders (`$name` / `${name}`); values are escaped in
the HTML part, and a missing value is an error rather than a blank in a sent mail."""

from __future__ import annotations

import html
from dataclasses import dataclass
from string import Template
from typing import Any


@dataclass(frozen=True, slots=True)
class EmailTemplate:
    subject: str
    text: str
    html: str | None = None


@dataclass(frozen=True, slots=True)
class SmsTemplate:
    text: str


@dataclass(frozen=True, slots=True)
class RenderedEmail:
    subject: str
    text: str
    html: str | None


EMAIL_TEMPLATES: dict[str, EmailTemplate] = {}
SMS_TEMPLATES: dict[str, SmsTemplate] = {}


def register_email_template(name: str, template: EmailTemplate) -> None:
    if name in EMAIL_TEMPLATES and EMAIL_TEMPLATES[name] != template:
        raise ValueError(f"e-mail template {name!r} is already registered differently")
    EMAIL_TEMPLATES[name] = template


def register_sms_template(name: str, template: SmsTemplate) -> None:
    if name in SMS_TEMPLATES and SMS_TEMPLATES[name] != template:
        raise ValueError(f"SMS template {name!r} is already registered differently")
    SMS_TEMPLATES[name] = template


def render_email(name: str, context: dict[str, Any]) -> RenderedEmail:
    template = EMAIL_TEMPLATES[name]
    plain = {k: str(v) for k, v in context.items()}
    escaped = {k: html.escape(v) for k, v in plain.items()}
    return RenderedEmail(
        subject=Template(template.subject).substitute(plain),
        text=Template(template.text).substitute(plain),
        html=Template(template.html).substitute(escaped) if template.html else None,
    )


def render_sms(name: str, context: dict[str, Any]) -> str:
    return Template(SMS_TEMPLATES[name].text).substitute({k: str(v) for k, v in context.items()})


_FOOTER_TEXT = "\n\n— The Dracarys team\n"
_FOOTER_HTML = "<p>— The Dracarys team</p>"

register_email_template(
    "verify_email",
    EmailTemplate(
        subject="Confirm your e-mail address for Dracarys",
        text="Hello $name,\n\nconfirm your e-mail address by opening this link "
        "(valid for $hours hours, once):\n\n$link\n\n"
        "If you did not sign up, ignore this message." + _FOOTER_TEXT,
        html="<p>Hello $name,</p><p>confirm your e-mail address by opening this link "
        '(valid for $hours hours, once):</p><p><a href="$link">$link</a></p>'
        "<p>If you did not sign up, ignore this message.</p>" + _FOOTER_HTML,
    ),
)
register_email_template(
    "kyc_approved",
    EmailTemplate(
        subject="Your $document was approved",
        text="Hello $name,\n\nyour $document was approved. Your verification level is "
        "now $level." + _FOOTER_TEXT,
        html="<p>Hello $name,</p><p>your $document was approved. Your verification level "
        "is now $level.</p>" + _FOOTER_HTML,
    ),
)
register_email_template(
    "kyc_rejected",
    EmailTemplate(
        subject="Your $document could not be accepted",
        text="Hello $name,\n\nwe could not accept your $document.\nReason: $reason\n\n"
        "You can upload a new document from your profile." + _FOOTER_TEXT,
        html="<p>Hello $name,</p><p>we could not accept your $document.</p>"
        "<p>Reason: $reason</p><p>You can upload a new document from your profile.</p>"
        + _FOOTER_HTML,
    ),
)
register_email_template(
    "account_banned",
    EmailTemplate(
        subject="Your Dracarys account has been suspended",
        text="Hello $name,\n\nyour account has been suspended.\nReason: $reason" + _FOOTER_TEXT,
    ),
)
register_sms_template(
    "phone_code",
    SmsTemplate(text="Your Dracarys verification code is $code. It expires in $minutes minutes."),
)
