"""Wallet fixtures: ledger accounts funded from the opening-balance account, and the
local Stripe and Daraja simulators the payment adapters talk to."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from dracarys.db import transaction
from dracarys.wallet import ledger
from dracarys.wallet.models import AccountCode, TransferSpec


async def open_wallets(
    pool: asyncpg.Pool, count: int, currency: str, now: datetime, *, fund_minor: int = 0
) -> list[int]:
    """`count` user wallets, each funded with `fund_minor` in one batch."""
    async with transaction(pool) as conn:
        source = await ledger.platform_account(conn, AccountCode.OPENING_BALANCE, currency, now)
        wallets = [
            await ledger.wallet_account(conn, uuid.uuid4(), currency, now) for _ in range(count)
        ]
        if fund_minor:
            await ledger.create_transfers(
                conn,
                [
                    TransferSpec(
                        idempotency_key=f"fund:{w}:{uuid.uuid4()}",
                        code="opening",
                        debit_account_id=source,
                        credit_account_id=w,
                        amount_minor=fund_minor,
                        currency=currency,
                    )
                    for w in wallets
                ],
                now=now,
            )
    return wallets
