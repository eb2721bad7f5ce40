"""A mentor's compensation, as records and API bodies: the share of each payment their
contract gives them, and a month's ratings and attendance the monthly bonus is paid on."""

from __future__ import annotations

import uuid
from typing import Annotated

import msgspec

from dracarys.models import Input, Schema


class MonthFigures(msgspec.Struct, frozen=True, kw_only=True):
    mentor_id: uuid.UUID
    avg_rating: float
    attendance_bps: int


class MentorContractInput(Input):
    # The mentor's share of each payment's net amount, in basis points (7,000 = 70%).
    share_bps: Annotated[int, msgspec.Meta(ge=0, le=10_000)]


class MentorContractView(Schema):
    mentor_id: uuid.UUID
    share_bps: int
