"""What a wallet's owner sees: balances per currency and the history of entries."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from dracarys.wire import Schema


class CurrencyBalance(Schema):
    currency: str
    available_minor: int
    posted_minor: int
    pending_in_minor: int
    pending_out_minor: int


class WalletBalances(Schema):
    wallet_id: uuid.UUID
    balances: list[CurrencyBalance]


class HistoryItem(Schema):
    transfer_id: uuid.UUID
    code: str
    kind: str
    currency: str
    amount_minor: int
    direction: Literal["in", "out", "hold", "release"]
    balance_after_minor: int
    reference: str | None
    created_at: datetime


class WalletHistory(Schema):
    wallet_id: uuid.UUID
    currency: str
    items: list[HistoryItem]
    next_cursor: str | None = None
