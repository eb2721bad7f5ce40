"""The SQL of deposits (`wallet_deposits`)."""

from __future__ import annotations

import uuid
from datetime import datetime

from dracarys.db import Connection, record_or_none, records
from dracarys.wallet.deposits.models import Deposit

_DEPOSIT_COLUMNS = (
    "id, user_id, method, amount_minor, currency, status, pending_transfer_id, provider_ref,"
    " provider_receipt, failure_reason, created_at"
)


async def insert_deposit(
    conn: Connection,
    *,
    deposit_id: uuid.UUID,
    user_id: uuid.UUID,
    method: str,
    amount_minor: int,
    currency: str,
    pending_transfer_id: uuid.UUID,
    phone_sealed: bytes | None,
    now: datetime,
) -> None:
    await conn.execute(
        """INSERT INTO wallet_deposits (id, user_id, method, amount_minor, currency, status,
               pending_transfer_id, phone_sealed, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7, $8, $8)""",
        deposit_id,
        user_id,
        method,
        amount_minor,
        currency,
        pending_transfer_id,
        phone_sealed,
        now,
    )


async def get_deposit(conn: Connection, deposit_id: uuid.UUID) -> Deposit | None:
    row = await conn.fetchrow(
        f"SELECT {_DEPOSIT_COLUMNS} FROM wallet_deposits WHERE id = $1", deposit_id
    )
    return record_or_none(Deposit, row)


async def lock_deposit(conn: Connection, deposit_id: uuid.UUID) -> Deposit | None:
    row = await conn.fetchrow(
        f"SELECT {_DEPOSIT_COLUMNS} FROM wallet_deposits WHERE id = $1 FOR UPDATE", deposit_id
    )
    return record_or_none(Deposit, row)


async def lock_deposit_by_ref(conn: Connection, method: str, provider_ref: str) -> Deposit | None:
    row = await conn.fetchrow(
        f"""SELECT {_DEPOSIT_COLUMNS} FROM wallet_deposits
            WHERE method = $1 AND provider_ref = $2 FOR UPDATE""",
        method,
        provider_ref,
    )
    return record_or_none(Deposit, row)


async def lock_deposit_by_receipt(conn: Connection, method: str, receipt: str) -> Deposit | None:
    row = await conn.fetchrow(
        f"""SELECT {_DEPOSIT_COLUMNS} FROM wallet_deposits
            WHERE method = $1 AND provider_receipt = $2 FOR UPDATE""",
        method,
        receipt,
    )
    return record_or_none(Deposit, row)


async def card_deposit_without_digest(conn: Connection, payment_intent: str) -> bool:
    """Whether a completed card deposit paid by `payment_intent` has no card digest yet."""
    found = await conn.fetchval(
        """SELECT true FROM wallet_deposits
           WHERE method = 'stripe' AND provider_receipt = $1 AND status = 'completed'
             AND card_digest IS NULL""",
        payment_intent,
    )
    return bool(found)


async def set_card_digest(
    conn: Connection, payment_intent: str, card_digest: str, now: datetime
) -> bool:
    """The digest of the card that paid a completed card deposit, once."""
    status = await conn.execute(
        """UPDATE wallet_deposits SET card_digest = $2, updated_at = $3
           WHERE method = 'stripe' AND provider_receipt = $1 AND status = 'completed'
             AND card_digest IS NULL""",
        payment_intent,
        card_digest,
        now,
    )
    return status != "UPDATE 0"


async def set_deposit_provider_ref(
    conn: Connection, deposit_id: uuid.UUID, provider_ref: str, now: datetime
) -> None:
    """The provider's reference, once: the first one recorded stays."""
    await conn.execute(
        """UPDATE wallet_deposits SET provider_ref = $2, updated_at = $3
           WHERE id = $1 AND provider_ref IS NULL""",
        deposit_id,
        provider_ref,
        now,
    )


async def settle_deposit(
    conn: Connection,
    deposit_id: uuid.UUID,
    *,
    status: str,
    receipt: str | None,
    reason: str | None,
    now: datetime,
) -> None:
    await conn.execute(
        """UPDATE wallet_deposits SET status = $2, provider_receipt = $3, failure_reason = $4,
               updated_at = $5 WHERE id = $1""",
        deposit_id,
        status,
        receipt,
        reason,
        now,
    )


async def other_completed_deposit_exists(
    conn: Connection, user_id: uuid.UUID, deposit_id: uuid.UUID
) -> bool:
    return bool(
        await conn.fetchval(
            """SELECT EXISTS (SELECT 1 FROM wallet_deposits
                   WHERE user_id = $1 AND status = 'completed' AND id <> $2)""",
            user_id,
            deposit_id,
        )
    )


async def pending_mpesa_deposits(conn: Connection, older_than: datetime) -> list[Deposit]:
    rows = await conn.fetch(
        f"""SELECT {_DEPOSIT_COLUMNS} FROM wallet_deposits
            WHERE method = 'mpesa' AND status = 'pending' AND provider_ref IS NOT NULL
              AND created_at <= $1 ORDER BY created_at LIMIT 200""",
        older_than,
    )
    return records(Deposit, rows)


async def mpesa_deposits_without_prompt(conn: Connection, older_than: datetime) -> list[Deposit]:
    """Pending M-Pesa deposits whose STK push no answer or callback ever confirmed."""
    rows = await conn.fetch(
        f"""SELECT {_DEPOSIT_COLUMNS} FROM wallet_deposits
            WHERE method = 'mpesa' AND status = 'pending' AND provider_ref IS NULL
              AND created_at <= $1 ORDER BY created_at LIMIT 200""",
        older_than,
    )
    return records(Deposit, rows)


async def card_deposits_without_checkout(conn: Connection, older_than: datetime) -> list[Deposit]:
    """Pending card deposits no checkout session was recorded for."""
    rows = await conn.fetch(
        f"""SELECT {_DEPOSIT_COLUMNS} FROM wallet_deposits
            WHERE method = 'stripe' AND status = 'pending' AND provider_ref IS NULL
              AND created_at <= $1 ORDER BY created_at LIMIT 200""",
        older_than,
    )
    return records(Deposit, rows)
