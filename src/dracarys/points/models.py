"""The records every area of points shares: the earning rules and limited-time events
the rule book holds, tiers, and an award with its outcome. Each area keeps its own
records and API bodies in its `models.py`."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

import msgspec

from dracarys.models import Schema

Points = Annotated[int, msgspec.Meta(ge=1, le=10_000_000)]


class Tier(StrEnum):
    BRONZE = "bronze"
    SILVER = "silver"
    GOLD = "gold"
    LEGEND = "legend"


class Rule(Schema, kw_only=True):
    """One version of an earning rule; the newest version of a code is the one in force."""

    code: str
    version: int
    title: str
    description: str
    topic: str | None
    kind: Literal["fixed", "percent_of_amount"]
    points: int
    params: dict[str, Any]
    scope: Literal["once", "per_entity"]
    category: str
    daily_limit: int | None
    monthly_limit: int | None
    pending: bool
    min_kyc_level: int
    active: bool


class PointsEvent(Schema, kw_only=True):
    """A limited-time event multiplying chosen rules inside a window."""

    id: uuid.UUID
    name: str
    rule_codes: list[str]
    multiplier_pct: int
    starts_at: datetime
    ends_at: datetime


class Cap(msgspec.Struct, frozen=True, kw_only=True):
    """A counter an award counts against (`d:2026-01-05:r:email_click`,
    `d:2026-01-05:social_email`, `m:2026-01:r:session_paid`) and the points it allows."""

    key: str
    limit: int


class Award(msgspec.Struct, frozen=True, kw_only=True):
    """A request to apply one rule to one user for one related entity."""

    user_id: uuid.UUID
    rule_code: str
    related_entity: str | None = None
    amount_minor: int | None = None
    currency: str | None = None
    multiplier: int = 1
    money_ref: str | None = None
    source_ip: str | None = None
    context: dict[str, str] = {}


class AwardOutcome(Schema, kw_only=True):
    """What an award did: `posted`, `pending`, `duplicate` (already awarded), or a
    denial (`capped`, `frozen`, `frozen_velocity`, `kyc_required`, `denied_before`,
    `inactive_rule`, `zero`)."""

    status: str
    user_id: uuid.UUID
    rule_code: str | None
    points: int
    entry_id: uuid.UUID | None = None
    pending_id: uuid.UUID | None = None
    balance: int | None = None
