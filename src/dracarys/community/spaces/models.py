"""Spaces: the seeded topic channels and the groups mentors host (a group may follow a
cohort's membership), with their members."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated

import msgspec

from dracarys.wire import Input, Schema


class SpaceKind(StrEnum):
    CHANNEL = "channel"  # a seeded topic channel, open to every member
    GROUP = "group"  # hosted by a mentor


class Visibility(StrEnum):
    PUBLIC = "public"
    PRIVATE = "private"  # its members and its mentor only


class MemberSource(StrEnum):
    MENTOR = "mentor"
    COHORT = "cohort"  # in the cohort the group follows
    JOINED = "joined"


class Space(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    slug: str
    title: str
    description: str
    kind: SpaceKind
    visibility: Visibility
    mentor_id: uuid.UUID | None
    cohort_id: uuid.UUID | None
    created_at: datetime
    # Premium (community.premium): a monthly price above zero; members pay each period.
    monthly_price_minor: int = 0
    currency: str = "USD"

    @property
    def premium(self) -> bool:
        return self.monthly_price_minor > 0


class SpaceView(Schema):
    id: uuid.UUID
    slug: str
    title: str
    description: str
    kind: SpaceKind
    visibility: Visibility
    mentor_id: uuid.UUID | None
    cohort_id: uuid.UUID | None
    topics: int
    # Whether the reader is in it (channels: everyone; groups: the mentor and members).
    member: bool
    may_join: bool
    # Premium: joined through the checkout, paid a month at a time (`may_join` is then
    # whether the reader may buy a period: not its mentor, not already paid up).
    premium: bool = False
    monthly_price_minor: int = 0
    currency: str = "USD"
    paid_until: datetime | None = None
    # Premium, for a member: whether the paid time renews from the wallet at its end
    # (False once they stopped renewing: the group closes when the paid time ends).
    renews: bool = False


class GroupInput(Input):
    slug: Annotated[str, msgspec.Meta(pattern="^[a-z0-9][a-z0-9-]{1,47}$")]
    title: Annotated[str, msgspec.Meta(min_length=3, max_length=80)]
    description: Annotated[str, msgspec.Meta(max_length=500)] = ""
    visibility: Visibility = Visibility.PRIVATE
    # One of the mentor's own cohorts: its members are the group's, joining and leaving with it.
    cohort_id: uuid.UUID | None = None


class AddMemberInput(Input):
    handle: Annotated[str, msgspec.Meta(pattern="^[a-z0-9][a-z0-9_]{2,29}$")]


class MemberView(Schema):
    user_id: uuid.UUID
    handle: str
    source: MemberSource
