"""The social domain's outbox consumers: a referee's first paid session decides their
referral; sign-ins are sightings the self-referral rules compare with; a referred
member's payments earn their affiliate commissions, which refunds and chargebacks reverse.
The composition root (`workers/consumers.py`) lists them under their consumer names."""

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
from dracarys.social.affiliates import service as affiliates
from dracarys.social.referrals import service as referrals
from dracarys.wallet import ChargebackOpened, EscrowReleased, PaymentCaptured, RefundIssued

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


class _Captured(msgspec.Struct, kw_only=True):
    user_id: uuid.UUID
    charge_id: uuid.UUID
    amount_minor: int
    currency: str
    escrow_id: uuid.UUID | None = None


class _Released(msgspec.Struct, kw_only=True):
    escrow_id: uuid.UUID
    payer_id: uuid.UUID
    amount_minor: int
    currency: str


class _Refund(msgspec.Struct, kw_only=True):
    related_id: uuid.UUID
    amount_minor: int


class _Chargeback(msgspec.Struct, kw_only=True):
    user_id: uuid.UUID
    chargeback_id: str


AFFILIATE_TOPICS = frozenset(
    {PaymentCaptured.topic, EscrowReleased.topic, RefundIssued.topic, ChargebackOpened.topic}
)


async def apply_affiliate_events(
    conn: Connection, platform: Platform, batch: Sequence[Event]
) -> None:
    """Consumer `social.affiliates`: a charge paid from the wallet (one that is not held in
    escrow) or an escrow released earns the payer's affiliate a commission; a refund of a
    charge, or a chargeback of the payer's card deposit, reverses it."""
    for event in batch:
        try:
            if event.topic == PaymentCaptured.topic:
                captured = msgspec.convert(event.payload, _Captured)
                if captured.escrow_id is None:  # escrowed payments earn when released
                    await affiliates.accrue_for_payment(
                        conn,
                        platform,
                        payer_id=captured.user_id,
                        payment_id=captured.charge_id,
                        source="charge",
                        payment_minor=captured.amount_minor,
                        currency=captured.currency,
                    )
            elif event.topic == EscrowReleased.topic:
                released = msgspec.convert(event.payload, _Released)
                await affiliates.accrue_for_payment(
                    conn,
                    platform,
                    payer_id=released.payer_id,
                    payment_id=released.escrow_id,
                    source="escrow",
                    payment_minor=released.amount_minor,
                    currency=released.currency,
                )
            elif event.topic == RefundIssued.topic:
                refund = msgspec.convert(event.payload, _Refund)
                await affiliates.reverse_for_refund(
                    conn,
                    platform,
                    refund_event_id=event.id,
                    payment_id=refund.related_id,
                    refund_minor=refund.amount_minor,
                )
            elif event.topic == ChargebackOpened.topic:
                chargeback = msgspec.convert(event.payload, _Chargeback)
                await affiliates.reverse_for_chargeback(
                    conn,
                    platform,
                    chargeback_id=chargeback.chargeback_id,
                    payer_id=chargeback.user_id,
                )
        except msgspec.ValidationError as exc:
            log.warning(
                "social_event_malformed", topic=event.topic, event_id=str(event.id), error=str(exc)
            )
