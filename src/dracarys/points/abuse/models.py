"""Anti-abuse records and API bodies: denials, appeals, fraud flags, frozen accounts,
e-mail click tokens."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec

from dracarys.models import Input, Schema


class Denial(Schema, kw_only=True):
    id: uuid.UUID
    rule_code: str | None
    related_entity: str | None
    points: int
    reason: str
    created_at: datetime


class DenialRecord(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    user_id: uuid.UUID
    points: int


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


class SharedCluster(msgspec.Struct, frozen=True, kw_only=True):
    """Accounts seen with one IP (`kind` ip) or one device fingerprint (`kind` device)."""

    kind: str
    value: str
    user_ids: list[uuid.UUID]


class EmailToken(msgspec.Struct, frozen=True, kw_only=True):
    user_id: uuid.UUID
    email_id: str
    clicked_at: datetime | None
    confirmed_at: datetime | None


class EmailClickConfirmInput(Input, kw_only=True):
    token: Annotated[str, msgspec.Meta(min_length=16, max_length=200)]


class EmailClickResult(Schema, kw_only=True):
    status: Literal["recorded", "ignored", "confirmed", "already_confirmed"]
