"""The API bodies of rule administration and the public rules page (the rules and
events themselves are in `dracarys.points.models`, shared with every area)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec

from dracarys.models import Input, Schema
from dracarys.points.models import PointsEvent, Rule


class RulesPage(Schema, kw_only=True):
    rules: list[Rule]
    events: list[PointsEvent]
    social_email_daily_cap: int
    pending_window_days: int
    expiry_months: int
    expiry_login_grace_days: int
    tier_thresholds: dict[str, int]
    tier_window_days: int


class RuleVersionInput(Input, kw_only=True):
    """A new version of a rule; omitted fields keep the current version's values."""

    points: Annotated[int, msgspec.Meta(ge=0, le=1_000_000)] | None = None
    params: dict[str, Any] | None = None
    # Caps live in `integer` columns; a million per period is already no cap at all.
    daily_limit: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)] | None = None
    monthly_limit: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)] | None = None
    active: bool | None = None
    description: Annotated[str, msgspec.Meta(max_length=500)] | None = None


class EventInput(Input, kw_only=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    rule_codes: Annotated[list[str], msgspec.Meta(min_length=1, max_length=50)]
    multiplier_pct: Annotated[int, msgspec.Meta(ge=100, le=1000)]
    starts_at: datetime
    ends_at: datetime
