"""What the monthly mentor bonus is decided on."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

import msgspec

from dracarys.db import Connection


class MentorMonth(msgspec.Struct, frozen=True, kw_only=True):
    """What the mentorship domain knows about a mentor's month."""

    mentor_id: uuid.UUID
    avg_rating: float
    attendance_bps: int  # sessions attended / sessions booked, in basis points


# Where a month's ratings and attendance come from (YYYY-MM): mentorship's, given to the
# monthly job by the workers that compose it.
MentorMonths = Callable[[Connection, str], Awaitable[list[MentorMonth]]]
