"""Mentorship packages, as records and API bodies: the bundle a mentor offers, a mentee's
purchase of one, and the purchase's session credits."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated

import msgspec

from dracarys.idempotency import IdempotencyKey
from dracarys.mentorship.schedules.models import Title
from dracarys.wallet import DiscountCodeText
from dracarys.wire import Input, Schema


class CreditStatus(StrEnum):
    """One session of a purchase: not booked yet, held by a booking, settled by a late
    cancellation under the refund policy, or refunded unused."""

    AVAILABLE = "available"
    BOOKED = "booked"
    SPENT = "spent"
    REFUNDED = "refunded"


# ---- records --------------------------------------------------------------------------


class SessionPackage(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    mentor_id: uuid.UUID
    session_type_id: uuid.UUID
    title: str
    sessions: int
    price_minor: int
    currency: str
    valid_days: int
    active: bool


class PackagePurchase(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    package_id: uuid.UUID
    mentee_id: uuid.UUID
    mentor_id: uuid.UUID
    session_type_id: uuid.UUID
    title: str
    sessions: int
    price_minor: int
    paid_minor: int
    currency: str
    status: str
    expires_at: datetime
    closed_at: datetime | None
    created_at: datetime


class PackageCredit(msgspec.Struct, frozen=True, kw_only=True):
    purchase_id: uuid.UUID
    position: int
    amount_minor: int
    escrow_id: uuid.UUID | None
    status: CreditStatus
    booking_id: uuid.UUID | None
    refunded_minor: int


# ---- API ------------------------------------------------------------------------------


class PackageInput(Input):
    session_type_id: uuid.UUID
    title: Title
    sessions: Annotated[int, msgspec.Meta(ge=2, le=50)]
    price_minor: Annotated[int, msgspec.Meta(ge=1, le=100_000_000_00)]
    # How long after the purchase its sessions may be booked; unused ones are then refunded.
    valid_days: Annotated[int, msgspec.Meta(ge=7, le=730)] = 90


class PackageView(Schema):
    id: uuid.UUID
    mentor_id: uuid.UUID
    session_type_id: uuid.UUID
    session_title: str
    duration_minutes: int
    title: str
    sessions: int
    price_minor: int
    currency: str
    valid_days: int
    active: bool
    # What the same sessions cost booked one by one, to show the saving.
    single_price_minor: int


class PurchaseInput(Input):
    idempotency_key: IdempotencyKey | None = None  # or the Idempotency-Key header
    discount_code: DiscountCodeText | None = None


class PackageActiveInput(Input):
    active: bool


class CloseInput(Input):
    # The refund the member was shown: closing refuses a different one.
    expected_refund_minor: Annotated[int, msgspec.Meta(ge=0)] | None = None


class CreditView(Schema):
    position: int
    amount_minor: int
    status: CreditStatus
    booking_id: uuid.UUID | None
    refunded_minor: int


class PurchaseView(Schema):
    id: uuid.UUID
    package_id: uuid.UUID
    mentee_id: uuid.UUID
    mentor_id: uuid.UUID
    mentor_name: str
    session_type_id: uuid.UUID
    title: str
    sessions: int
    price_minor: int
    paid_minor: int
    currency: str
    status: str
    expires_at: datetime
    # Sessions still to book, and what closing the package now would give back.
    remaining: int
    unused_minor: int
    refunded_minor: int
    credits: list[CreditView]
    created_at: datetime
