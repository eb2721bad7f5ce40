"""Staff alerts: the record each detector raises, the signals the detectors read (copied
from other domains' events), and the API's outputs."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

import msgspec

from dracarys.wire import Schema

AlertKind = Literal[
    "chargeback", "payout_failed", "suspicious_sign_in", "failed_login_burst", "points_issuance"
]
Severity = Literal["warning", "critical"]

KIND_TITLES: dict[str, str] = {
    "chargeback": "Chargeback opened",
    "payout_failed": "Payout failed",
    "suspicious_sign_in": "Sign-in from a new device and a new network",
    "failed_login_burst": "Burst of failed sign-ins across accounts",
    "points_issuance": "Unusual points issuance",
}


class NewAlert(msgspec.Struct, frozen=True, kw_only=True):
    """What a detector found; `dedupe_key` is the same every time the same cause is seen."""

    kind: AlertKind
    severity: Severity
    subject: str
    user_id: uuid.UUID | None
    summary: str
    details: dict[str, Any]
    dedupe_key: str


class StaffAlert(Schema):
    id: uuid.UUID
    kind: AlertKind
    severity: Severity
    subject: str
    user_id: uuid.UUID | None
    summary: str
    details: dict[str, Any]
    raised_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: uuid.UUID | None


class StaffAlertView(Schema):
    """An alert as the alerts page shows it: the member's and the acknowledger's names."""

    alert: StaffAlert
    title: str
    user_name: str | None
    acknowledged_by_name: str | None


class SignIn(msgspec.Struct, frozen=True, kw_only=True):
    event_id: uuid.UUID
    user_id: uuid.UUID
    device: str
    network: str
    at: datetime


class FailedSignIn(msgspec.Struct, frozen=True, kw_only=True):
    event_id: uuid.UUID
    network: str
    account_key: str
    at: datetime


class HourlyIssuance(msgspec.Struct, frozen=True, kw_only=True):
    """The points issued in one hour beside the same hour of the days before."""

    hour: datetime
    points: int
    history_days: int
    mean: float
    stddev: float
