"""Discount codes as stored, as they apply to one price, and as their owner lists them."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated

import msgspec

from dracarys.wire import Schema

# A discount code can be spent at checkout for this long after it was issued.
DISCOUNT_CODE_VALID_FOR = timedelta(days=90)
# Mentor credit (a code that pays for sessions only) lasts as long as points do.
SESSION_CREDIT_VALID_FOR = timedelta(days=365)


class PaysFor(StrEnum):
    """What a code may be spent on: any purchase, or mentor sessions only."""

    ANYTHING = "anything"
    SESSIONS = "sessions"


class PurchaseKind(StrEnum):
    """What a purchase spending a code buys."""

    SESSION = "session"
    COHORT = "cohort"
    SIGNAL_FEED = "signal_feed"
    PACKAGE = "package"


# A discount code as a buyer types it into a purchase (matched case-insensitively).
DiscountCodeText = Annotated[str, msgspec.Meta(min_length=1, max_length=40)]


class DiscountCode(msgspec.Struct, frozen=True, kw_only=True):
    """A discount code, the points redemption that bought it, and whether a purchase
    spent it."""

    code: str
    redemption_id: uuid.UUID
    user_id: uuid.UUID
    value_minor: int
    currency: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None
    used_for: str | None
    applied_minor: int | None
    pays_for: PaysFor = PaysFor.ANYTHING


class Discount(Schema, kw_only=True):
    """What a discount code takes off one price: its value, up to the price (a code
    worth more than the price is spent whole; the rest is not kept)."""

    code: str
    redemption_id: uuid.UUID
    value_minor: int
    applied_minor: int
    currency: str
    expires_at: datetime


class DiscountCodeView(Schema, kw_only=True):
    """One of the caller's discount codes."""

    code: str
    value_minor: int
    currency: str
    expires_at: datetime
    used_at: datetime | None
    status: str  # usable | used | expired
    pays_for: PaysFor = PaysFor.ANYTHING
