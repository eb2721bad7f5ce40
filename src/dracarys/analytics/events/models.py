"""The analytics event stream's records: one copied domain event, and the narrow facts
the KPIs, funnels and exports read from it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec


class AnalyticsEvent(msgspec.Struct, frozen=True, kw_only=True):
    """A domain event as analytics keeps it: the outbox event's id, who it is about (none
    for events about no one person), its topic, when it happened and its payload."""

    event_id: uuid.UUID
    user_id: uuid.UUID | None
    topic: str
    occurred_at: datetime
    properties: dict[str, Any]


class EventFact(msgspec.Struct, frozen=True, kw_only=True):
    """The columns of an event the KPIs compute over, pulled out of its properties once in
    SQL: an amount (money minor units, points, or a mentor's response seconds), its
    currency, the subject it names (a program, a mentor) and a rating."""

    user_id: uuid.UUID | None
    topic: str
    occurred_at: datetime
    amount: int | None
    currency: str | None
    subject: str | None
    rating: int | None
    # The NPS answer of a rating (0–10), when the rater gave one.
    recommend: int | None = None
    # What ties events of one thing together: the slot of a booking, the payout of a
    # withdrawal request and its outcome.
    ref: str | None = None
    # A slot's or booking's length, and a slot's seats.
    minutes: int | None = None
    seats: int | None = None
    # What sort of event within its topic: who funded a promotion (`promo`, `points`),
    # the reason code of a points award, what a mentor answered.
    kind: str | None = None
