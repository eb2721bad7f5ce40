"""Awarding records (a pending award, a remembered award request) and the award
endpoint's body."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

import msgspec

from dracarys.idempotency import IdempotencyKey
from dracarys.models import Input


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


class PendingAward(msgspec.Struct, frozen=True, kw_only=True):
    """A money-tied award waiting out the refund window (`pending`), or what became of it
    (`posted`, `voided`)."""

    id: uuid.UUID
    user_id: uuid.UUID
    points: int
    reason_code: str
    category: str
    related_entity: str | None
    money_ref: str
    rule_code: str
    rule_version: int
    min_kyc_level: int
    source_ip: str | None
    idempotency_key: str
    context: dict[str, str]
    created_at: datetime
    available_at: datetime
    status: str


class AwardRequest(msgspec.Struct, frozen=True, kw_only=True):
    """An award endpoint request already answered under its idempotency key."""

    request_hash: str
    response: dict[str, Any]
