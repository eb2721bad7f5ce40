"""A charge as stored, and the charge API's input and outputs."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

import msgspec

from dracarys.idempotency import IdempotencyKey
from dracarys.wallet.models import AmountMinor, Currency
from dracarys.wire import Input, Schema


class Charge(msgspec.Struct, frozen=True, kw_only=True):
    """A charge with the VAT rate of its invoice (the escrow's, for an escrowed one)."""

    id: uuid.UUID
    user_id: uuid.UUID
    purpose: str
    reference: str
    amount_minor: int
    currency: str
    escrow_id: uuid.UUID | None
    vat_rate_bps: int


class ChargeRequest(Input):
    """Pay for something from the wallet. Mentorship purposes go into escrow. The VAT
    country is the buyer's (profile, else verified phone, else the platform's home
    country): a `country` in the body is refused as a server-owned field."""

    purpose: Literal["course", "subscription", "session", "package"]
    reference: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    amount_minor: AmountMinor
    currency: Currency
    idempotency_key: IdempotencyKey | None = None  # or the Idempotency-Key header
    mentor_id: uuid.UUID | None = None


class ChargeView(Schema):
    id: uuid.UUID
    user_id: uuid.UUID
    purpose: str
    reference: str
    amount_minor: int
    currency: str
    invoice_id: uuid.UUID
    invoice_number: str
    escrow_id: uuid.UUID | None = None


class ChargeRefunded(Schema):
    charge_id: uuid.UUID
    refunded_minor: int  # in all, this refund included


class PaymentQuote(Schema):
    """What paying `gross_minor` from the buyer's wallet would mean, before anything is
    charged: the VAT the invoice would show (VAT-inclusive, in the buyer's country as our
    records know it), what the wallet holds, and what is missing."""

    gross_minor: int
    currency: str
    vat_country: str
    vat_rate_bps: int
    net_minor: int
    vat_minor: int
    available_minor: int
    shortfall_minor: int
