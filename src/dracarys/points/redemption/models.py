"""Redemption records and API bodies."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated

import msgspec

from dracarys.idempotency import IdempotencyKey
from dracarys.points.models import Points
from dracarys.wire import Input, Schema


class Target(StrEnum):
    DISCOUNT = "discount"
    CREDIT = "credit"
    MERCH = "merch"
    COURSE_UNLOCK = "course_unlock"
    MENTOR_CREDIT = "mentor_credit"


# Targets that are worth money outside the platform: KYC level 2 and a hold first.
CASH_EQUIVALENT = frozenset({Target.CREDIT, Target.MENTOR_CREDIT})


class ConvertPointsInput(Input, kw_only=True):
    points: Points
    target: Target
    idempotency_key: IdempotencyKey | None = None  # or the Idempotency-Key header
    target_ref: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | None = None


class RedemptionRecord(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    user_id: uuid.UUID
    points: int
    target: Target
    target_ref: str | None
    value_minor: int
    currency: str
    status: str
    discount_code: str | None
    request_hash: str
    created_at: datetime
    release_at: datetime | None
    discount_expires_at: datetime | None = None


class PointsForDiscount(Schema, kw_only=True):
    """What the buyer's points could take off a price if converted to a discount code:
    `balance` points at `minor_per_point` minor units of `currency` each."""

    balance: int
    minor_per_point: int
    currency: str
    worth_minor: int


class Redemption(Schema, kw_only=True):
    id: uuid.UUID
    user_id: uuid.UUID
    points: int
    target: Target
    target_ref: str | None
    value_minor: int
    currency: str
    status: str
    discount_code: str | None
    created_at: datetime
    release_at: datetime | None
    balance: int
    # Discount codes only: spendable until, and when a purchase spent it.
    discount_expires_at: datetime | None = None
    discount_used_at: datetime | None = None


class RedemptionItem(Schema, kw_only=True):
    """A past redemption, as its owner's list shows it: `status` fulfilled (a discount
    code, an unlock), held (cash-like, until `release_at`) or released (credit owed or
    landed)."""

    id: uuid.UUID
    points: int
    target: Target
    target_ref: str | None
    value_minor: int
    currency: str
    status: str
    discount_code: str | None
    created_at: datetime
    release_at: datetime | None


class ConversionTargetRule(Schema, kw_only=True):
    """What converting to one target needs: a KYC level (0: none), a hold in days before
    it lands (0: immediate), and whether `target_ref` must name what is bought."""

    target: Target
    cash_equivalent: bool
    needs_kyc_level: int
    hold_days: int
    needs_target_ref: bool


class ConversionPolicy(Schema, kw_only=True):
    """What a point is worth (`minor_units_per_point` of `currency`) and each target's
    rule, as configured: what a page shows before a member confirms."""

    currency: str
    minor_units_per_point: int
    cash_kyc_level: int
    hold_days: int
    targets: list[ConversionTargetRule]
