"""What the monthly mentor bonus is decided on: mentorship's figures for a mentor's month
(the workers' monthly job composes the two domains)."""

from __future__ import annotations

import uuid

import msgspec


class MentorMonth(msgspec.Struct, frozen=True, kw_only=True):
    """What the mentorship domain knows about a mentor's month."""

    mentor_id: uuid.UUID
    avg_rating: float
    attendance_bps: int  # sessions attended / sessions booked, in basis points
