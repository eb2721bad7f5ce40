"""What a wallet's owner sees: balances per currency, the history of entries with the
running balance, and the live frame that says the wallet changed."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from dracarys.wire import Schema


class CurrencyBalance(Schema):
    """`available_minor` is what may be spent now: `posted_minor` less what is reserved
    (`pending_out_minor`, of which `in_escrow_minor` pays for sessions not yet held and
    `withdrawing_minor` is on its way out). `held_back_minor` is a mentor's share kept
    for the holdback days: not in the wallet yet."""

    currency: str
    available_minor: int
    posted_minor: int
    pending_in_minor: int
    pending_out_minor: int
    in_escrow_minor: int = 0
    withdrawing_minor: int = 0
    held_back_minor: int = 0


class WalletBalances(Schema):
    wallet_id: uuid.UUID
    balances: list[CurrencyBalance]


Direction = Literal["in", "out", "hold", "release", "incoming", "cancelled"]


class HistoryItem(Schema):
    """One entry. `direction`: in or out (posted), hold (reserved for a payment or a
    withdrawal), release (a reservation given back), incoming (a top-up awaiting its
    payment), cancelled (one that never came). `balance_after_minor` is the posted balance
    after it; `available_after_minor` the running balance the owner could spend after it."""

    entry_id: int
    transfer_id: uuid.UUID
    code: str
    label: str  # what the entry was, in words
    kind: str
    currency: str
    amount_minor: int
    direction: Direction
    balance_after_minor: int
    available_after_minor: int
    reference: str | None
    created_at: datetime


class WalletHistory(Schema):
    """Newest first. `currency` is None when the page mixes every currency (each entry's
    running balance is then its own currency's)."""

    wallet_id: uuid.UUID
    currency: str | None
    items: list[HistoryItem]
    next_cursor: str | None = None


class WalletChangedFrame(Schema, tag="wallet.changed", tag_field="type"):
    """On `notifications:{user_id}` when money moved in or out of the user's wallet (or a
    payout changed state): the page reloads its balances and history. `topic` is the
    wallet event; `summary` says what happened, in words."""

    topic: str
    currency: str
    amount_minor: int
    summary: str
    related_id: str | None
    at: datetime
