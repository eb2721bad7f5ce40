"""Premium spaces: a mentor's group with a monthly price, and the periods members buy."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import msgspec

from dracarys.wallet import DiscountCodeText
from dracarys.wire import Input, Schema


class PremiumInput(Input):
    """0 makes the group free again."""

    monthly_price_minor: Annotated[int, msgspec.Meta(ge=0, le=100_000_000)]
    currency: Annotated[str, msgspec.Meta(pattern="^[A-Z]{3}$")] = "USD"


class PremiumView(Schema):
    space_id: uuid.UUID
    monthly_price_minor: int
    currency: str


class JoinPaidInput(Input):
    discount_code: DiscountCodeText | None = None


class Period(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    space_id: uuid.UUID
    user_id: uuid.UUID
    amount_minor: int
    currency: str
    escrow_id: uuid.UUID | None
    paid_from: datetime
    paid_until: datetime
    created_at: datetime


class MembershipView(Schema):
    """A member's paid access: open until `paid_until`."""

    space_id: uuid.UUID
    period_id: uuid.UUID
    amount_minor: int
    currency: str
    paid_until: datetime
