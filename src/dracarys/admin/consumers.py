"""The admin domain's outbox consumers: the wallet's deposits, withdrawal requests and
payments, judged by the AML rules once per event (`processed_events` dedupes the
delivery, and the movement's event id dedupes the judgement); and the staff alerts'
detectors, fed chargebacks, failed payouts, sign-ins, failed sign-ins and points awards
(each alert's dedupe key is its cause). The composition root (`workers/consumers.py`)
lists them under their consumer name."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import msgspec
import structlog

from dracarys.admin.alerts import rules as alert_rules
from dracarys.admin.alerts import service as alerts
from dracarys.admin.alerts.models import FailedSignIn, SignIn
from dracarys.admin.aml import service as aml
from dracarys.admin.aml.models import Movement
from dracarys.db import Connection
from dracarys.identity import UserLoggedIn, UserLoginFailed
from dracarys.outbox import Event
from dracarys.platform import Platform
from dracarys.points import PointsAwarded
from dracarys.wallet import (
    ChargebackOpened,
    DepositCompleted,
    PaymentCaptured,
    PayoutFailed,
    WithdrawalRequested,
)

log = structlog.get_logger("dracarys.admin.consumers")


# Only the fields AML reads of each of the wallet's payloads.
class _Movement(msgspec.Struct, kw_only=True):
    user_id: uuid.UUID
    amount_minor: int
    currency: str


class _Deposit(_Movement, kw_only=True):
    deposit_id: uuid.UUID
    method: str


class _Withdrawal(_Movement, kw_only=True):
    payout_id: uuid.UUID
    method: str


class _Payment(_Movement, kw_only=True):
    charge_id: uuid.UUID
    purpose: str


AML_TOPICS = frozenset({DepositCompleted.topic, WithdrawalRequested.topic, PaymentCaptured.topic})


def movement_of(event: Event) -> Movement:
    if event.topic == DepositCompleted.topic:
        deposit = msgspec.convert(event.payload, _Deposit)
        return Movement(
            event_id=event.id,
            user_id=deposit.user_id,
            kind="deposit",
            reference=str(deposit.deposit_id),
            amount_minor=deposit.amount_minor,
            currency=deposit.currency,
            method=deposit.method,
            occurred_at=event.created_at,
        )
    if event.topic == WithdrawalRequested.topic:
        withdrawal = msgspec.convert(event.payload, _Withdrawal)
        return Movement(
            event_id=event.id,
            user_id=withdrawal.user_id,
            kind="withdrawal",
            reference=str(withdrawal.payout_id),
            amount_minor=withdrawal.amount_minor,
            currency=withdrawal.currency,
            method=withdrawal.method,
            occurred_at=event.created_at,
        )
    payment = msgspec.convert(event.payload, _Payment)
    return Movement(
        event_id=event.id,
        user_id=payment.user_id,
        kind="spend",
        reference=str(payment.charge_id),
        amount_minor=payment.amount_minor,
        currency=payment.currency,
        method=payment.purpose,
        occurred_at=event.created_at,
    )


async def judge_wallet_events(conn: Connection, platform: Platform, batch: Sequence[Event]) -> None:
    """Consumer `admin.aml`."""
    for event in batch:
        try:
            movement = movement_of(event)
        except msgspec.ValidationError as exc:
            # Retrying a payload that does not match its topic's shape could never succeed.
            log.warning(
                "aml_event_malformed", topic=event.topic, event_id=str(event.id), error=str(exc)
            )
            continue
        await aml.judge_movement(conn, platform, movement)


# ---- staff alerts ---------------------------------------------------------------------------

ALERT_TOPICS = frozenset(
    {
        ChargebackOpened.topic,
        PayoutFailed.topic,
        UserLoggedIn.topic,
        UserLoginFailed.topic,
        PointsAwarded.topic,
    }
)


class _Award(msgspec.Struct, kw_only=True):
    delta: int


async def _detect(conn: Connection, platform: Platform, event: Event) -> None:
    if event.topic == ChargebackOpened.topic:
        opened = msgspec.convert(event.payload, ChargebackOpened)
        await alerts.chargeback_opened(
            conn,
            platform,
            user_id=opened.user_id,
            chargeback_id=opened.chargeback_id,
            deposit_id=opened.deposit_id,
            amount_minor=opened.amount_minor,
            held_minor=opened.held_minor,
            currency=opened.currency,
        )
    elif event.topic == PayoutFailed.topic:
        failed = msgspec.convert(event.payload, PayoutFailed)
        await alerts.payout_failed(
            conn,
            platform,
            user_id=failed.user_id,
            payout_id=failed.payout_id,
            amount_minor=failed.amount_minor,
            currency=failed.currency,
            reason=failed.reason,
        )
    elif event.topic == UserLoggedIn.topic:
        login = msgspec.convert(event.payload, UserLoggedIn)
        network = alert_rules.network_of(login.source_ip)
        # Without the address or the device (events from before it was carried) there is
        # nothing to compare.
        if network is not None and login.device is not None:
            await alerts.signed_in(
                conn,
                platform,
                SignIn(
                    event_id=event.id,
                    user_id=login.user_id,
                    device=login.device,
                    network=network,
                    at=event.created_at,
                ),
            )
    elif event.topic == UserLoginFailed.topic:
        attempt = msgspec.convert(event.payload, UserLoginFailed)
        network = alert_rules.network_of(attempt.source_ip)
        if network is not None:
            await alerts.sign_in_failed(
                conn,
                platform,
                FailedSignIn(
                    event_id=event.id,
                    network=network,
                    account_key=attempt.account_key,
                    at=event.created_at,
                ),
            )


async def watch_for_alerts(conn: Connection, platform: Platform, batch: Sequence[Event]) -> None:
    """Consumer `admin.alerts`."""
    awards: list[tuple[datetime, int]] = []
    for event in batch:
        try:
            if event.topic == PointsAwarded.topic:
                awards.append((event.created_at, msgspec.convert(event.payload, _Award).delta))
            else:
                await _detect(conn, platform, event)
        except msgspec.ValidationError as exc:
            # Retrying a payload that does not match its topic's shape could never succeed.
            log.warning(
                "alert_event_malformed", topic=event.topic, event_id=str(event.id), error=str(exc)
            )
    await alerts.tally_points_issued(conn, awards)
