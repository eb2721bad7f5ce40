"""Enrolment's records and API bodies: who is in which cohort, and what they paid."""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec

from dracarys.idempotency import IdempotencyKey
from dracarys.wallet import DiscountCodeText
from dracarys.wire import Input, Schema


class Enrolment(msgspec.Struct, frozen=True, kw_only=True):
    cohort_id: uuid.UUID
    program_id: uuid.UUID
    user_id: uuid.UUID
    amount_minor: int
    currency: str
    escrow_id: uuid.UUID | None
    enrolled_at: datetime


class EnrolInput(Input):
    idempotency_key: IdempotencyKey | None = None  # or the Idempotency-Key header
    # A discount code bought with points, spent on this enrolment (it pays part of the price).
    discount_code: DiscountCodeText | None = None


class EnrolmentView(Schema):
    cohort_id: uuid.UUID
    program_id: uuid.UUID
    user_id: uuid.UUID
    amount_minor: int  # what the learner paid: the price less any discount
    currency: str
    escrow_id: uuid.UUID | None
    enrolled_at: datetime


class LeaveResult(Schema):
    refunded_minor: int


class UnlockTerms(msgspec.Struct, frozen=True, kw_only=True):
    """What unlocking a paid course with points would replace: its price."""

    program_id: uuid.UUID
    title: str
    price_minor: int
    currency: str


class MyEnrolment(msgspec.Struct, frozen=True, kw_only=True):
    program_id: uuid.UUID
    program_title: str
    cohort_id: uuid.UUID
    cohort_title: str
    starts_at: datetime
    ends_at: datetime
    amount_minor: int
    currency: str
    enrolled_at: datetime


class MyEnrolmentView(Schema):
    """A program the caller has joined, with the cohort and what they paid."""

    program_id: uuid.UUID
    program_title: str
    cohort_id: uuid.UUID
    cohort_title: str
    starts_at: datetime
    ends_at: datetime
    amount_minor: int
    currency: str
    enrolled_at: datetime
