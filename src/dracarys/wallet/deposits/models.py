"""A deposit as stored, and the deposit API's input and output."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec

from dracarys.idempotency import IdempotencyKey
from dracarys.wallet.models import AmountMinor, Currency
from dracarys.wire import Input, Schema


class Deposit(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    user_id: uuid.UUID
    method: str  # stripe | mpesa
    amount_minor: int
    currency: str
    status: str  # pending | completed | failed
    pending_transfer_id: uuid.UUID
    provider_ref: str | None
    provider_receipt: str | None
    failure_reason: str | None
    created_at: datetime


class DepositRequest(Input):
    method: Literal["stripe", "mpesa"]
    amount_minor: AmountMinor
    currency: Currency
    idempotency_key: IdempotencyKey | None = None  # or the Idempotency-Key header
    phone: Annotated[str, msgspec.Meta(min_length=9, max_length=20)] | None = None


class DepositView(Schema):
    id: uuid.UUID
    user_id: uuid.UUID
    method: str
    amount_minor: int
    currency: str
    status: str
    checkout_url: str | None = None
    provider_ref: str | None = None
    failure_reason: str | None = None


class PaymentModeView(Schema):
    """Which payments are live: `sandbox` (the local stand-ins `dracarys up` runs; no
    real money moves), `providers` (the configured Stripe and M-Pesa accounts) or
    `unavailable`; which top-up methods work; and, in the sandbox, the page where a person
    answers M-Pesa prompts as the phone would."""

    mode: Literal["sandbox", "providers", "unavailable"]
    card_available: bool
    mpesa_available: bool
    sandbox_phone_url: str | None = None
