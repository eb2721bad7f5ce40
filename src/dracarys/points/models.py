"""Points records and the API's request and response bodies."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

import msgspec

from dracarys.idempotency import IdempotencyKey
from dracarys.wire import Input, Page, Schema

Points = Annotated[int, msgspec.Meta(ge=1, le=10_000_000)]


class Tier(StrEnum):
    BRONZE = "bronze"
    SILVER = "silver"
    GOLD = "gold"
    LEGEND = "legend"


class Target(StrEnum):
    DISCOUNT = "discount"
    CREDIT = "credit"
    MERCH = "merch"
    COURSE_UNLOCK = "course_unlock"
    MENTOR_CREDIT = "mentor_credit"


# Targets that are worth money outside the platform: KYC level 2 and a hold first.
CASH_EQUIVALENT = frozenset({Target.CREDIT, Target.MENTOR_CREDIT})


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


# ---- API bodies -----------------------------------------------------------------------


class AwardInput(Input, kw_only=True):
    """Admin / internal award: either a rule (`rule_code`, optional amount for percent
    rules) or a manual adjustment (`change` with `reason_code`)."""

    user_id: uuid.UUID
    idempotency_key: IdempotencyKey | None = None  # or the Idempotency-Key header
    rule_code: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    related_entity_id: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | None = None
    amount_minor: Annotated[int, msgspec.Meta(ge=1)] | None = None
    currency: Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}$")] | None = None
    change: Annotated[int, msgspec.Meta(ge=-10_000_000, le=10_000_000)] | None = None
    reason_code: Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_]{1,63}$")] | None = None


class ConvertPointsInput(Input, kw_only=True):
    points: Points
    target: Target
    idempotency_key: IdempotencyKey | None = None  # or the Idempotency-Key header
    target_ref: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | None = None


class Redemption(Schema, kw_only=True):
    id: uuid.UUID
    user_id: uuid.UUID
    points: int
    target: Target
    target_ref: str | None
    value_minor: int
    currency: str
    status: str
    discount_code: str | None
    created_at: datetime
    release_at: datetime | None
    balance: int


class Balance(Schema, kw_only=True):
    user_id: uuid.UUID
    balance: int
    pending: int
    tier: Tier
    earned_in_window: int
    next_tier: Tier | None
    points_to_next_tier: int | None
    progress_pct: int
    earning_frozen: bool


class LedgerEntry(Schema, kw_only=True):
    id: uuid.UUID
    delta: int
    reason_code: str
    reason: str
    category: str
    related_entity: str | None
    rule_code: str | None
    rule_version: int | None
    balance_after: int
    created_at: datetime


class History(Page, kw_only=True):
    items: list[LedgerEntry]


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


class LeaderboardRow(Schema, kw_only=True):
    rank: int
    user_id: uuid.UUID
    points: int


class Leaderboard(Schema, kw_only=True):
    period: str
    period_key: str
    rows: list[LeaderboardRow]


class Badge(Schema, kw_only=True):
    badge: str
    earned_at: datetime


class Streak(Schema, kw_only=True):
    current_days: int
    longest_days: int
    last_day: str | None
    timezone: str


class AppealInput(Input, kw_only=True):
    message: Annotated[str, msgspec.Meta(min_length=5, max_length=2000)]
    denial_id: uuid.UUID | None = None
    entry_id: uuid.UUID | None = None


class AppealDecisionInput(Input, kw_only=True):
    decision: Literal["grant", "reject"]
    note: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
    points: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)] | None = None
    unfreeze: bool = False


class Appeal(Schema, kw_only=True):
    id: uuid.UUID
    user_id: uuid.UUID
    denial_id: uuid.UUID | None
    entry_id: uuid.UUID | None
    message: str
    status: str
    granted_points: int | None
    resolution_note: str | None
    created_at: datetime
    resolved_at: datetime | None


class Denial(Schema, kw_only=True):
    id: uuid.UUID
    rule_code: str | None
    related_entity: str | None
    points: int
    reason: str
    created_at: datetime


class FraudFlag(Schema, kw_only=True):
    id: uuid.UUID
    kind: str
    subject: str
    user_ids: list[uuid.UUID]
    status: str
    created_at: datetime


class FrozenAccount(Schema, kw_only=True):
    user_id: uuid.UUID
    frozen_at: datetime
    reason: str | None


class ReviewQueue(Schema, kw_only=True):
    frozen_accounts: list[FrozenAccount]
    fraud_flags: list[FraudFlag]
    open_appeals: list[Appeal]


class EmailClickConfirmInput(Input, kw_only=True):
    token: Annotated[str, msgspec.Meta(min_length=16, max_length=200)]


class EmailClickResult(Schema, kw_only=True):
    status: Literal["recorded", "ignored", "confirmed", "already_confirmed"]


class Report(Schema, kw_only=True):
    day: str
    report: dict[str, Any]
