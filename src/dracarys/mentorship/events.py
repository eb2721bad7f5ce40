"""The topics mentorship produces, each with its payload (ids as strings on the wire,
money as `amount_minor` plus `currency`), emitted through the outbox with `emit_event`."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

from dracarys.outbox import EventPayload

SESSION_BOOKED = "session.booked"
SLOT_OFFERED = "slot.offered"
SESSION_PAID = "session.paid"
SESSION_ATTENDED = "session.attended"
SESSION_COMPLETED = "session.completed"
SESSION_RATED = "session.rated"
SESSION_REFUNDED = "session.refunded"
SESSION_CANCELLED = "session.cancelled"
SESSION_RESCHEDULED = "session.rescheduled"
SESSION_REMINDER = "session.reminder"
PACKAGE_PURCHASED = "package.purchased"
PACKAGE_CLOSED = "package.closed"


class SlotOffered(EventPayload, frozen=True, kw_only=True):
    """A slot of a mentor's availability was opened as a session (its first booking
    opened it): `seats` places of `minutes` each, so it offers `seats * minutes` seat
    minutes. `slot_id` is the session's id, which `SessionBooked` repeats."""

    topic: ClassVar[str] = SLOT_OFFERED
    slot_id: uuid.UUID
    mentor_id: uuid.UUID
    session_type_id: uuid.UUID
    starts_at: datetime
    minutes: int
    seats: int


class SessionBooked(EventPayload, frozen=True, kw_only=True):
    """A seat of the slot `slot_id` (the session) was booked for `minutes`. Both are
    optional so that events emitted before they existed still decode."""

    topic: ClassVar[str] = SESSION_BOOKED
    session_id: uuid.UUID
    booking_id: uuid.UUID
    mentee_id: uuid.UUID
    mentor_id: uuid.UUID
    starts_at: datetime
    slot_id: uuid.UUID | None = None
    minutes: int | None = None


class SessionPaid(EventPayload, frozen=True, kw_only=True):
    """A booking was paid into escrow: `amount_minor` is what the mentee paid (the price
    less any discount code)."""

    topic: ClassVar[str] = SESSION_PAID
    session_id: uuid.UUID
    mentee_id: uuid.UUID
    mentor_id: uuid.UUID
    amount_minor: int
    currency: str


class SessionAttended(EventPayload, frozen=True, kw_only=True):
    topic: ClassVar[str] = SESSION_ATTENDED
    session_id: uuid.UUID
    mentor_id: uuid.UUID
    mentee_id: uuid.UUID


class SessionCompleted(EventPayload, frozen=True, kw_only=True):
    topic: ClassVar[str] = SESSION_COMPLETED
    session_id: uuid.UUID
    mentor_id: uuid.UUID
    mentee_ids: list[uuid.UUID]


class SessionRated(EventPayload, frozen=True, kw_only=True):
    """`rater_id` rated `rated_id` (the other party) for the session."""

    topic: ClassVar[str] = SESSION_RATED
    session_id: uuid.UUID
    rater_id: uuid.UUID
    rated_id: uuid.UUID
    rating: int
    # The NPS answer (0–10) when the rater gave one; analytics computes NPS from it.
    recommend: int | None = None
    # The session's mentor, so a reader tells a mentee's rating of the mentor from the
    # mentor's of a mentee (notifications tells the mentor); None in events written
    # before it was named.
    mentor_id: uuid.UUID | None = None


class SessionRefunded(EventPayload, frozen=True, kw_only=True):
    """A cancelled seat's payment was undone: `amount_minor` went back to the mentee's
    wallet, or (a seat booked from a package, cancelled in time) back to the package."""

    topic: ClassVar[str] = SESSION_REFUNDED
    session_id: uuid.UUID
    mentee_id: uuid.UUID
    amount_minor: int
    currency: str


class SessionCancelled(EventPayload, frozen=True, kw_only=True):
    topic: ClassVar[str] = SESSION_CANCELLED
    session_id: uuid.UUID
    booking_id: uuid.UUID
    mentee_id: uuid.UUID
    cancelled_by: uuid.UUID


class SessionRescheduled(EventPayload, frozen=True, kw_only=True):
    """A 1:1 session moved to `starts_at`; `moved_by` is the mentee or the mentor (the
    people fields are None on events written before they were added)."""

    topic: ClassVar[str] = SESSION_RESCHEDULED
    session_id: uuid.UUID
    starts_at: datetime
    ends_at: datetime
    mentee_id: uuid.UUID | None = None
    mentor_id: uuid.UUID | None = None
    moved_by: uuid.UUID | None = None


class SessionReminder(EventPayload, frozen=True, kw_only=True):
    """A reminder e-mail went to `user_id`, `lead` ("24h" or "1h") before the session."""

    topic: ClassVar[str] = SESSION_REMINDER
    session_id: uuid.UUID
    user_id: uuid.UUID
    lead: str
    starts_at: datetime
    title: str


class PackagePurchased(EventPayload, frozen=True, kw_only=True):
    """A mentee paid for a package of `sessions` sessions (`amount_minor` into escrow, one
    escrow per session)."""

    topic: ClassVar[str] = PACKAGE_PURCHASED
    purchase_id: uuid.UUID
    package_id: uuid.UUID
    mentee_id: uuid.UUID
    mentor_id: uuid.UUID
    sessions: int
    amount_minor: int
    currency: str


class PackageClosed(EventPayload, frozen=True, kw_only=True):
    """A package ended (`reason`: expired or closed by the mentee): its `unused` sessions
    were refunded, `refunded_minor` in all."""

    topic: ClassVar[str] = PACKAGE_CLOSED
    purchase_id: uuid.UUID
    mentee_id: uuid.UUID
    mentor_id: uuid.UUID
    reason: str
    unused: int
    refunded_minor: int
    currency: str
