"""What a domain sells, as a checkout shows it before anything is charged: the item, its
list price and the refund policy it is sold under, worded from the numbers the selling
domain applies. Mentorship, the curriculum and trading each describe their own; the
checkout puts an offer beside the discount and the wallet's figures."""

from __future__ import annotations

import uuid
from typing import Literal

from dracarys.wire import Schema

# A 1:1 or group session (by session type and start), a cohort seat, a paid signal feed,
# a package of sessions with one mentor.
ItemKind = Literal["session", "cohort", "signal_feed", "package", "community_space"]


class RefundPolicy(Schema):
    """The refund rules of one purchase: a one-line summary and each rule as a sentence."""

    summary: str
    terms: list[str]


class Offer(Schema):
    kind: ItemKind
    item_id: uuid.UUID
    title: str
    # What is bought, in a few words: "60 min with Wanjiru, 1:1", "cohort of 12 weeks".
    detail: str
    seller_id: uuid.UUID
    price_minor: int
    currency: str
    refund_policy: RefundPolicy
