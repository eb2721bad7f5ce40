"""Ledger records (a posting's outcome, a balance row, an entry) and the API's balance
and history bodies."""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec

from dracarys.models import Page, Schema
from dracarys.points.models import Tier


class Posting(msgspec.Struct, frozen=True, kw_only=True):
    """What `points_post_entry` did with one entry: `posted`, `duplicate` (the entry first
    written under the key comes back), `denied_before`, `insufficient`, `capped`, `frozen`
    or `frozen_velocity`; the points posted and the balance after. A credit posted with a
    tier window also says the tier stored before it and what was earned in the window."""

    status: str
    entry_id: uuid.UUID | None
    posted: int
    balance_after: int | None
    earned_in_window: int | None
    tier: str | None


class BatchPosting(Posting, frozen=True, kw_only=True):
    """A posting of `points_post_entries`, naming the item of the batch it answers."""

    idx: int


class BalanceRecord(msgspec.Struct, frozen=True, kw_only=True):
    user_id: uuid.UUID
    balance: int
    pending: int
    tier: str
    earning_frozen_at: datetime | None
    frozen_reason: str | None
    last_login_at: datetime | None


class LedgerRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A ledger entry with its position (`seq`), which history pages by."""

    seq: int
    id: uuid.UUID
    delta: int
    reason_code: str
    category: str
    related_entity: str | None
    rule_code: str | None
    rule_version: int | None
    balance_after: int
    created_at: datetime


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
