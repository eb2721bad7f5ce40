"""Transactional message templates. A domain defines the templates it sends next to its
code, as constants, and hands one to `queue_email` / `queue_sms`; messaging keeps no
catalogue of them. The name is what the message queue records (e.g. "verify_email",
"points.lesson_completed").

Templates use `string.Template` placeholders (`$name` / `${name}`); values are escaped in
the HTML part, and a missing value is an error rather than a blank in a sent mail."""

from __future__ import annotations

import html
from dataclasses import dataclass
from string import Template
from typing import Any


@dataclass(frozen=True, slots=True)
class EmailTemplate:
    name: str
    subject: str
    text: str
    html: str | None = None


@dataclass(frozen=True, slots=True)
class SmsTemplate:
    name: str
    text: str


@dataclass(frozen=True, slots=True)
class RenderedEmail:
    subject: str
    text: str
    html: str | None


def render_email(template: EmailTemplate, context: dict[str, Any]) -> RenderedEmail:
    plain = {k: str(v) for k, v in context.items()}
    escaped = {k: html.escape(v) for k, v in plain.items()}
    return RenderedEmail(
        subject=Template(template.subject).substitute(plain),
        text=Template(template.text).substitute(plain),
        html=Template(template.html).substitute(escaped) if template.html else None,
    )


def render_sms(template: SmsTemplate, context: dict[str, Any]) -> str:
    return Template(template.text).substitute({k: str(v) for k, v in context.items()})
