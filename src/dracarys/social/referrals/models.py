"""Referral records and API bodies: a member's code, the clicks on it, the referrals it
brought (signed up, completed or refused with the rule that refused it) and the fraud
rules as data."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

import msgspec

from dracarys.wire import Schema


class ReferralStatus(StrEnum):
    SIGNED_UP = "signed_up"
    COMPLETED = "completed"
    REFUSED = "refused"


class FraudRuleCode(StrEnum):
    SHARED_DEVICE = "shared_device"
    SHARED_IP = "shared_ip"
    SAME_PAYMENT_INSTRUMENT = "same_payment_instrument"
    DISPOSABLE_EMAIL = "disposable_email"
    REFERRAL_CYCLE = "referral_cycle"
    CLUSTER_RING = "cluster_ring"


class FraudRule(msgspec.Struct, frozen=True, kw_only=True):
    code: FraudRuleCode
    enabled: bool
    params: dict[str, Any]
    description: str

    def param(self, name: str, default: int) -> int:
        value = self.params.get(name, default)
        return int(value) if isinstance(value, int | float | str) else default


class Click(msgspec.Struct, frozen=True, kw_only=True):
    """A visit of `/r/{code}` (the attribution cookie names it)."""

    id: uuid.UUID
    referrer_id: uuid.UUID
    utm_source: str | None = None
    utm_medium: str | None = None
    utm_campaign: str | None = None
    utm_term: str | None = None
    utm_content: str | None = None
    ip: str | None = None
    ip_cluster: str | None = None
    device_hash: bytes | None = None
    created_at: datetime


class Referral(msgspec.Struct, frozen=True, kw_only=True):
    referee_id: uuid.UUID
    referrer_id: uuid.UUID
    click_id: uuid.UUID
    status: ReferralStatus
    refusal_rule: FraudRuleCode | None = None
    refusal_detail: str | None = None
    signup_ip: str | None = None
    signup_cluster: str | None = None
    signup_device: bytes | None = None
    session_id: uuid.UUID | None = None
    signed_up_at: datetime
    decided_at: datetime | None = None


class Refusal(msgspec.Struct, frozen=True, kw_only=True):
    """A fraud rule's finding: which rule, and what it saw (kept for staff)."""

    rule: FraudRuleCode
    detail: str


class DayCount(msgspec.Struct, frozen=True, kw_only=True):
    """One UTC day of a referrer's funnel."""

    day: date
    clicks: int = 0
    signups: int = 0
    conversions: int = 0


class UtmTags(msgspec.Struct, frozen=True, kw_only=True):
    source: str | None = None
    medium: str | None = None
    campaign: str | None = None
    term: str | None = None
    content: str | None = None


# ---- API bodies -------------------------------------------------------------------------

# What a member is told of a refusal: the rule in words, never what it matched.
REFUSAL_TEXT: dict[FraudRuleCode, str] = {
    FraudRuleCode.SHARED_DEVICE: "signed up from a device you use",
    FraudRuleCode.SHARED_IP: "signed up from a network address you use",
    FraudRuleCode.SAME_PAYMENT_INSTRUMENT: "paid with a payment method you use",
    FraudRuleCode.DISPOSABLE_EMAIL: "signed up with a throwaway e-mail address",
    FraudRuleCode.REFERRAL_CYCLE: "is part of a circle of accounts referring each other",
    FraudRuleCode.CLUSTER_RING: "is one of too many sign-ups from one network",
}


class RefereeView(Schema, kw_only=True):
    name: str
    status: ReferralStatus
    signed_up_at: datetime
    decided_at: datetime | None
    # Why it does not count, in words, when refused.
    refusal: str | None


class ReferrerView(Schema, kw_only=True):
    """Who referred the caller (shown to the referee)."""

    name: str
    status: ReferralStatus
    signed_up_at: datetime


class RefusedReferral(msgspec.Struct, frozen=True, kw_only=True):
    referee_id: uuid.UUID
    referrer_id: uuid.UUID
    refusal_rule: FraudRuleCode
    refusal_detail: str | None
    rule_description: str
    signed_up_at: datetime
    decided_at: datetime


class RefusedReferralView(Schema, kw_only=True):
    """A refusal as staff review it: the rule, what it found, who and when."""

    referrer: str
    referee: str
    rule: FraudRuleCode
    rule_description: str
    detail: str | None
    signed_up_at: datetime
    decided_at: datetime


class MyReferrals(Schema, kw_only=True):
    code: str
    link: str
    qr_svg_url: str
    clicks: int
    signed_up: int
    completed: int
    refused: int
    referees: list[RefereeView]
    referred_by: ReferrerView | None
    attribution_days: int
