"""Booking a seat in a session, as API bodies: the booking, its cancellation and its
move to another time."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import msgspec

from dracarys.idempotency import IdempotencyKey
from dracarys.mentorship.sessions.models import SessionView
from dracarys.wallet import DiscountCodeText
from dracarys.wire import Input, Schema


class BookingInput(Input):
    session_type_id: uuid.UUID
    starts_at: datetime
    idempotency_key: IdempotencyKey | None = None  # or the Idempotency-Key header
    # A discount code bought with points, spent on this booking (it pays part of the price).
    discount_code: DiscountCodeText | None = None
    # A package bought from this mentor for this session type: the booking takes one of
    # its sessions instead of paying (no discount code then).
    package_purchase_id: uuid.UUID | None = None


class RescheduleInput(Input):
    starts_at: datetime


class CancelInput(Input):
    reason: Annotated[str, msgspec.Meta(max_length=500)] = ""
    # The refund the member was shown (the quote): cancelling refuses a different one.
    expected_refund_minor: Annotated[int, msgspec.Meta(ge=0)] | None = None


class BookingView(Schema):
    id: uuid.UUID
    session: SessionView
    mentee_id: uuid.UUID
    status: str
    amount_minor: int  # what the mentee paid: the price less any discount
    currency: str
    escrow_id: uuid.UUID | None
    refunded_minor: int
    # What the mentee rated the session's mentor, once they have.
    my_rating: int | None = None
    mentor_name: str = ""
    # The package this seat was booked from, if it was.
    package_purchase_id: uuid.UUID | None = None


class CancellationQuote(Schema):
    """What cancelling the booking now would give back, by the rule the cancellation
    applies (the same computation): read-only, shown before the member confirms."""

    booking_id: uuid.UUID
    paid_minor: int
    refund_minor: int
    currency: str
    refund_bps: int
    # The rule that applies, in words.
    policy: str
    # Until when a cancellation gives everything back (and a 1:1 session can be moved).
    full_refund_until: datetime
    # Booked from a package and cancelled in time: the session goes back to the package
    # (nothing comes back to the wallet, `refund_minor` is 0).
    returns_to_package: bool = False
