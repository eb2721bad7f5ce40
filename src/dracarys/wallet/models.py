"""The wallet's shared vocabulary, used by every sub-area: the currencies a wallet holds,
the bounds of an amount in a request, the namespace operation ids derive from, and the
refund input admins send."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

import msgspec

from dracarys.idempotency import IdempotencyKey
from dracarys.wire import Input

Currency = Literal["KES", "USD"]
SUPPORTED_CURRENCIES: tuple[str, ...] = ("KES", "USD")
AmountMinor = Annotated[int, msgspec.Meta(gt=0, le=10**13)]

# Ids of deposits, charges, card refunds and payouts derive from the request's
# idempotency key in this namespace (stored ids depend on it: never change it).
ID_NAMESPACE = uuid.UUID("0b6f7d1e-2a53-4c6b-8f55-5d7d9e0c3a11")


class RefundRequest(Input):
    """An admin gives (part of) a card deposit or a charge back."""

    amount_minor: Annotated[int, msgspec.Meta(gt=0)]
    idempotency_key: IdempotencyKey | None = None  # or the Idempotency-Key header
