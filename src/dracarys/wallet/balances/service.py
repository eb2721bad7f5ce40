"""A wallet's balances and history, for its owner (and staff who may read as owner)."""

from __future__ import annotations

import uuid
from typing import Literal

from dracarys.db import Connection
from dracarys.errors import InvalidInput, NotFound
from dracarys.identity import CurrentUser
from dracarys.platform import Platform
from dracarys.wallet.balances.models import (
    CurrencyBalance,
    HistoryItem,
    WalletBalances,
    WalletHistory,
)
from dracarys.wallet.ledger import service as ledger
from dracarys.wallet.ledger.models import AccountEntry
from dracarys.wallet.models import SUPPORTED_CURRENCIES
from dracarys.wire import decode_cursor, encode_cursor


def _readable(actor: CurrentUser, wallet_id: uuid.UUID) -> None:
    if not actor.may_read_as_owner(wallet_id):
        raise NotFound("no such wallet", field="wallet_id")


async def balances_of(conn: Connection, user_id: uuid.UUID) -> WalletBalances:
    """Every supported currency, zero where the user holds no wallet in it yet."""
    found = await ledger.wallet_balances_of(conn, user_id)
    rows = []
    for currency in SUPPORTED_CURRENCIES:
        balance = found.get(currency)
        rows.append(
            CurrencyBalance(
                currency=currency,
                available_minor=balance.available_minor if balance else 0,
                posted_minor=balance.posted_minor if balance else 0,
                pending_in_minor=balance.credits_pending if balance else 0,
                pending_out_minor=balance.debits_pending if balance else 0,
            )
        )
    return WalletBalances(wallet_id=user_id, balances=rows)


async def wallet_balances(
    platform: Platform, actor: CurrentUser, wallet_id: uuid.UUID
) -> WalletBalances:
    _readable(actor, wallet_id)
    async with platform.pool.acquire() as conn:
        return await balances_of(conn, wallet_id)


def _history_item(entry: AccountEntry) -> HistoryItem:
    posted = entry.credits_posted - entry.debits_posted
    pending = entry.credits_pending - entry.debits_pending
    direction: Literal["in", "out", "hold", "release"]
    if posted:
        direction = "in" if posted > 0 else "out"
        amount = abs(posted)
    else:
        held = entry.debits_pending > 0 or entry.credits_pending > 0
        direction = "hold" if held else "release"
        amount = abs(pending)
    return HistoryItem(
        transfer_id=entry.transfer_id,
        code=entry.code,
        kind=entry.kind.value,
        currency=entry.currency,
        amount_minor=amount,
        direction=direction,
        balance_after_minor=entry.balance_after,
        reference=entry.reference,
        created_at=entry.created_at,
    )


async def wallet_history(
    platform: Platform,
    actor: CurrentUser,
    wallet_id: uuid.UUID,
    currency: str,
    *,
    cursor: str | None,
    limit: int,
) -> WalletHistory:
    """Newest first, each entry with the wallet's posted balance right after it."""
    _readable(actor, wallet_id)
    if currency not in SUPPORTED_CURRENCIES:
        raise InvalidInput("unsupported currency", field="currency")
    before = decode_cursor(cursor) if cursor is not None else None
    async with platform.pool.acquire() as conn:
        account = await ledger.find_wallet_account(conn, wallet_id, currency)
        if account is None:
            return WalletHistory(wallet_id=wallet_id, currency=currency, items=[])
        entries = await ledger.account_entries(conn, account, before_id=before, limit=limit)
    next_cursor = encode_cursor(entries[-1].id) if len(entries) == limit else None
    return WalletHistory(
        wallet_id=wallet_id,
        currency=currency,
        items=[_history_item(e) for e in entries],
        next_cursor=next_cursor,
    )
