"""Affiliate records and API bodies: an affiliate (application, decision, terms), a
commission and its ledger state, and the dashboard's figures and daily series."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Literal

import msgspec

from dracarys.wire import Input, Schema

ShortText = Annotated[str, msgspec.Meta(min_length=3, max_length=300)]
LongText = Annotated[str, msgspec.Meta(min_length=10, max_length=2000)]


class AffiliateStatus(StrEnum):
    APPLIED = "applied"
    APPROVED = "approved"
    REJECTED = "rejected"


class CommissionStatus(StrEnum):
    PENDING = "pending"  # a pending ledger transfer until the refund window closes
    PAYABLE = "payable"  # posted to the affiliate's wallet, waiting for the weekly run
    PAID = "paid"  # paid out in a weekly run
    REVERSED = "reversed"  # refunded or charged back in full


class Affiliate(msgspec.Struct, frozen=True, kw_only=True):
    user_id: uuid.UUID
    status: AffiliateStatus
    website: str
    audience: str
    promotion: str
    share_bps: int | None = None
    months: int | None = None
    applied_at: datetime
    decided_at: datetime | None = None
    decided_by: uuid.UUID | None = None
    decision_note: str | None = None


class Commission(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    affiliate_id: uuid.UUID
    referee_id: uuid.UUID
    payment_id: uuid.UUID
    source: str  # charge | escrow
    payment_minor: int
    fee_minor: int
    share_bps: int
    amount_minor: int
    currency: str
    status: CommissionStatus
    transfer_id: uuid.UUID
    payable_at: datetime
    reversed_minor: int
    unrecovered_minor: int
    payout_id: uuid.UUID | None
    created_at: datetime

    @property
    def outstanding_minor(self) -> int:
        return self.amount_minor - self.reversed_minor


class CommissionsOwed(msgspec.Struct, frozen=True, kw_only=True):
    """The payable commissions of one affiliate in one currency, for a weekly run."""

    affiliate_id: uuid.UUID
    currency: str
    amount_minor: int
    commission_ids: list[uuid.UUID]


class DayEarning(msgspec.Struct, frozen=True, kw_only=True):
    day: date
    currency: str
    amount_minor: int


class CurrencyTotals(msgspec.Struct, frozen=True, kw_only=True):
    currency: str
    status: CommissionStatus
    amount_minor: int


# ---- API bodies -------------------------------------------------------------------------


class AffiliateApplication(Input, kw_only=True):
    website: ShortText
    audience: ShortText
    promotion: LongText


class AffiliateDecision(Input, kw_only=True):
    decision: Literal["approve", "reject"]
    note: Annotated[str, msgspec.Meta(min_length=3, max_length=1000)]
    # Terms on approval; the configured defaults when not given.
    share_bps: Annotated[int, msgspec.Meta(ge=1, le=5_000)] | None = None
    months: Annotated[int, msgspec.Meta(ge=1, le=60)] | None = None


class AffiliateView(Schema, kw_only=True):
    user_id: uuid.UUID
    name: str
    status: AffiliateStatus
    website: str
    audience: str
    promotion: str
    share_bps: int | None
    months: int | None
    applied_at: datetime
    decided_at: datetime | None
    decision_note: str | None


class SeriesPoint(Schema, kw_only=True):
    time: int  # UTC midnight, seconds (what the charts take)
    value: int


class EarningsTotal(Schema, kw_only=True):
    currency: str
    pending_minor: int
    payable_minor: int
    paid_minor: int
    reversed_minor: int


class CommissionView(Schema, kw_only=True):
    id: uuid.UUID
    referee: str
    amount_minor: int
    currency: str
    status: CommissionStatus
    reversed_minor: int
    payable_at: datetime
    created_at: datetime


class AffiliateDashboard(Schema, kw_only=True):
    affiliate: AffiliateView | None
    link: str | None
    clicks: int
    signups: int
    conversions: int
    earnings: list[EarningsTotal]
    clicks_series: list[SeriesPoint]
    signups_series: list[SeriesPoint]
    conversions_series: list[SeriesPoint]
    # Commission earned per day (all currencies' minor units are kept apart by the page).
    earnings_series: dict[str, list[SeriesPoint]]
    commissions: list[CommissionView]
