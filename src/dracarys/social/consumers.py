"""The social domain's outbox consumers: a referee's first paid session decides their
referral; sign-ins are sightings the self-referral rules compare with. The composition
root (`workers/consumers.py`) lists them under their consumer names."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import msgspec
import structlog

from dracarys.db import Connection
from dracarys.identity import UserLoggedIn
from dracarys.mentorship import SessionPaid
from dracarys.outbox import Event
from dracarys.platform import Platform
from dracarys.social.referrals import service as referrals

log = structlog.get_logger("dracarys.social.consumers")


# Only the fields social reads of each producer's payload.
class _SessionPaid(msgspec.Struct, kw_only=True):
    session_id: uuid.UUID
    mentee_id: uuid.UUID


class _Login(msgspec.Struct, kw_only=True):
    user_id: uuid.UUID
    source_ip: str | None = None


REFERRAL_TOPICS = frozenset({SessionPaid.topic, UserLoggedIn.topic})


async def apply_referral_events(
    conn: Connection, platform: Platform, batch: Sequence[Event]
) -> None:
    """Consumer `social.referrals`: `session.paid` qualifies (or refuses) the payer's
    referral; `user.logged_in` records the address as a sighting."""
    for event in batch:
        try:
            if event.topic == SessionPaid.topic:
                paid = msgspec.convert(event.payload, _SessionPaid)
                await referrals.qualify_first_paid_session(
                    conn, platform, paid.mentee_id, paid.session_id
                )
            elif event.topic == UserLoggedIn.topic:
                login = msgspec.convert(event.payload, _Login)
                await referrals.record_sighting(
                    conn, login.user_id, ip=login.source_ip, device_token=None, at=event.created_at
                )
        except msgspec.ValidationError as exc:
            # Retrying a payload that does not match its topic's shape could never succeed.
            log.warning(
                "social_event_malformed", topic=event.topic, event_id=str(event.id), error=str(exc)
            )
