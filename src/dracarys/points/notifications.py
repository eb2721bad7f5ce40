"""Section 14 of the blueprint: the e-mail a user gets when points land, from the
templates below (`EMAIL_TEMPLATES`, which the composition root registers with messaging)
queued through messaging's outbox, plus a live message on the user's
`notifications:{user_id}` channel. `render_award_email` renders the same text from a
`points.awarded` payload; reason codes without a template get the generic one."""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from collections.abc import Sequence
from string import Template
from typing import Any

import msgspec

from dracarys.db import Connection
from dracarys.identity import contacts_of
from dracarys.messaging.service import queue_email
from dracarys.messaging.templates import EmailTemplate
from dracarys.outbox import Event
from dracarys.platform import Platform
from dracarys.points.events import PointsAwarded
from dracarys.points.reasons import describe_reason
from dracarys.realtime.models import NotificationFrame
from streams import channels


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


# Award e-mails go through messaging's templates (one per reason code above) and outbox;
# the same text goes live on the user's `notifications:{user_id}` stream channel.
EMAIL_TEMPLATES: dict[str, EmailTemplate] = {
    f"points.{code}": EmailTemplate(subject=subject, text=text)
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


async def notify_awards(conn: Connection, platform: Platform, batch: Sequence[Event]) -> None:
    """Consumer `points.notify`: `points.awarded` → the section-14 e-mail (queued in this
    transaction) and a live notification. The award committed before its event left the
    outbox, so the live message never announces points that rolled back; a redelivered
    batch may repeat it."""
    awards: list[_Awarded] = []
    for event in batch:
        try:
            awards.append(msgspec.convert(event.payload, _Awarded))
        except msgspec.ValidationError:
            continue
    awards = [a for a in awards if a.delta > 0]
    if not awards:
        return
    now = platform.clock.now()
    contacts = (
        await contacts_of(
            conn, platform.settings, sorted({a.user_id for a in awards}), active_only=True
        )
        if platform.settings.points_email_on_award
        else {}
    )
    frames: dict[uuid.UUID, list[NotificationFrame]] = defaultdict(list)
    for award in awards:
        values = template_values(award)
        contact = contacts.get(award.user_id)
        if contact and award.reason_code in AWARD_TEMPLATES:
            await queue_email(
                conn,
                platform.settings,
                to=contact.email,
                template=f"points.{award.reason_code}",
                context=values,
                now=now,
                user_id=award.user_id,
            )
        subject, text = AWARD_TEMPLATES.get(award.reason_code, _GENERIC)
        frames[award.user_id].append(
            NotificationFrame(
                id=award.entry_id,
                kind="points.awarded",
                title=Template(subject).safe_substitute(values),
                body=Template(text).safe_substitute(values),
                created_at=now,
            )
        )

    async def publish_in_order(user_id: uuid.UUID, messages: list[NotificationFrame]) -> None:
        for message in messages:
            await platform.streams.publish(channels.notifications(user_id), message)

    # One user's messages keep their order; different users' go out concurrently.
    await asyncio.gather(*(publish_in_order(u, m) for u, m in frames.items()))
