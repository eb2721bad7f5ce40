"""The checkout's API bodies: a quote asked for, and the quote."""

from __future__ import annotations

import uuid
from datetime import datetime

from dracarys.offers import ItemKind, RefundPolicy
from dracarys.points import PointsForDiscount
from dracarys.wallet import Discount, DiscountCodeText
from dracarys.wire import Input, Schema


class QuoteInput(Input):
    """`id` is the session type (with `starts_at`), the cohort, the mentor whose signal
    feed is bought, the package, or the premium community group."""

    kind: ItemKind
    id: uuid.UUID
    starts_at: datetime | None = None
    discount_code: DiscountCodeText | None = None


class Quote(Schema):
    """What confirming the purchase would charge now. Prices include VAT; `vat_minor` is
    the part of `total_minor` the invoice will show as VAT. `shortfall_minor` is what the
    wallet lacks (top up before paying)."""

    kind: ItemKind
    id: uuid.UUID
    starts_at: datetime | None
    title: str
    detail: str
    currency: str
    price_minor: int
    discount: Discount | None
    discount_minor: int
    total_minor: int
    vat_country: str
    vat_rate_bps: int
    vat_minor: int
    net_minor: int
    balance_minor: int
    shortfall_minor: int
    refund_policy: RefundPolicy
    # The buyer's points, if they could pay part of this price once converted to a code.
    points: PointsForDiscount | None
    quoted_at: datetime
