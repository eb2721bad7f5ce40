"""All of the wallet's SQL (asyncpg, plain SQL): ledger accounts, balances, transfers and
entries, and the workflow tables of deposits, payouts, escrow and invoices."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from dracarys.db import Connection
from dracarys.wallet.models import Balance, Entry, Transfer, TransferKind

_TRANSFER_COLUMNS = (
    "id, idempotency_key, debit_account_id, credit_account_id, amount_minor, currency, kind,"
    " pending_id, timeout_at, code, reference, created_at"
)


def _transfer(row: asyncpg.Record) -> Transfer:
    return Transfer(
        id=row["id"],
        idempotency_key=row["idempotency_key"],
        debit_account_id=row["debit_account_id"],
        credit_account_id=row["credit_account_id"],
        amount_minor=row["amount_minor"],
        currency=row["currency"],
        kind=TransferKind(row["kind"]),
        pending_id=row["pending_id"],
        timeout_at=row["timeout_at"],
        code=row["code"],
        reference=row["reference"],
        created_at=row["created_at"],
    )


# ---- accounts ---------------------------------------------------------------------


async def find_account(
    conn: Connection, code: str, owner_id: uuid.UUID | None, currency: str
) -> int | None:
    value = await conn.fetchval(
        """SELECT id FROM ledger_accounts
           WHERE code = $1 AND owner_id IS NOT DISTINCT FROM $2 AND currency = $3""",
        code,
        owner_id,
        currency,
    )
    return None if value is None else int(value)


async def create_account(
    conn: Connection,
    code: str,
    owner_id: uuid.UUID | None,
    currency: str,
    flags: int,
    now: datetime,
) -> int:
    """Create the account and its balance row, or return the existing one's id."""
    value = await conn.fetchval(
        """WITH inserted AS (
               INSERT INTO ledger_accounts (code, owner_id, currency, flags, created_at)
               VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT (code, owner_id, currency) DO NOTHING
               RETURNING id, flags),
           balance AS (
               INSERT INTO ledger_balances (account_id, flags)
               SELECT id, flags FROM inserted)
           SELECT id FROM inserted""",
        code,
        owner_id,
        currency,
        flags,
        now,
    )
    if value is None:
        found = await find_account(conn, code, owner_id, currency)
        assert found is not None
        return found
    return int(value)


async def account_ids_of_owner(conn: Connection, code: str, owner_id: uuid.UUID) -> dict[str, int]:
    rows = await conn.fetch(
        "SELECT currency, id FROM ledger_accounts WHERE code = $1 AND owner_id = $2",
        code,
        owner_id,
    )
    return {r["currency"]: int(r["id"]) for r in rows}


# ---- balances ---------------------------------------------------------------------

_BALANCE_SELECT = """SELECT b.account_id, b.flags, a.currency, b.debits_pending,
       b.debits_posted, b.credits_pending, b.credits_posted
  FROM ledger_balances b JOIN ledger_accounts a ON a.id = b.account_id"""


def _balance(row: asyncpg.Record) -> Balance:
    return Balance(
        account_id=row["account_id"],
        flags=row["flags"],
        currency=row["currency"],
        debits_pending=row["debits_pending"],
        debits_posted=row["debits_posted"],
        credits_pending=row["credits_pending"],
        credits_posted=row["credits_posted"],
    )


async def lock_balances(conn: Connection, account_ids: Sequence[int]) -> dict[int, Balance]:
    """Lock the balance rows in ascending account order, the one fixed order every writer
    uses, so concurrent transfers queue instead of deadlocking."""
    rows = await conn.fetch(
        _BALANCE_SELECT + " WHERE b.account_id = ANY($1::bigint[])"
        " ORDER BY b.account_id FOR UPDATE OF b",
        sorted(set(account_ids)),
    )
    return {row["account_id"]: _balance(row) for row in rows}


async def read_balances(conn: Connection, account_ids: Sequence[int]) -> dict[int, Balance]:
    rows = await conn.fetch(
        _BALANCE_SELECT + " WHERE b.account_id = ANY($1::bigint[])", list(account_ids)
    )
    return {row["account_id"]: _balance(row) for row in rows}


async def write_balances(conn: Connection, balances: Sequence[Balance]) -> None:
    await conn.execute(
        """UPDATE ledger_balances b
           SET debits_pending = v.dp, debits_posted = v.dpo,
               credits_pending = v.cp, credits_posted = v.cpo
           FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[])
                AS v(id, dp, dpo, cp, cpo)
           WHERE b.account_id = v.id""",
        [b.account_id for b in balances],
        [b.debits_pending for b in balances],
        [b.debits_posted for b in balances],
        [b.credits_pending for b in balances],
        [b.credits_posted for b in balances],
    )


# ---- transfers and entries --------------------------------------------------------


async def transfers_by_keys(conn: Connection, keys: Sequence[str]) -> dict[str, Transfer]:
    rows = await conn.fetch(
        f"SELECT {_TRANSFER_COLUMNS} FROM ledger_transfers WHERE idempotency_key = ANY($1::text[])",
        list(keys),
    )
    return {row["idempotency_key"]: _transfer(row) for row in rows}


async def transfers_by_ids(conn: Connection, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Transfer]:
    rows = await conn.fetch(
        f"SELECT {_TRANSFER_COLUMNS} FROM ledger_transfers WHERE id = ANY($1::uuid[])",
        list(ids),
    )
    return {row["id"]: _transfer(row) for row in rows}


async def resolutions_of(
    conn: Connection, pending_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Transfer]:
    rows = await conn.fetch(
        f"SELECT {_TRANSFER_COLUMNS} FROM ledger_transfers WHERE pending_id = ANY($1::uuid[])",
        list(pending_ids),
    )
    return {row["pending_id"]: _transfer(row) for row in rows}


async def insert_transfers(conn: Connection, transfers: Sequence[Transfer]) -> None:
    await conn.execute(
        """INSERT INTO ledger_transfers (id, idempotency_key, debit_account_id,
               credit_account_id, amount_minor, currency, kind, pending_id, timeout_at, code,
               reference, created_at)
           SELECT * FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::bigint[],
               $5::bigint[], $6::text[], $7::text[], $8::uuid[], $9::timestamptz[],
               $10::text[], $11::text[], $12::timestamptz[])""",
        [t.id for t in transfers],
        [t.idempotency_key for t in transfers],
        [t.debit_account_id for t in transfers],
        [t.credit_account_id for t in transfers],
        [t.amount_minor for t in transfers],
        [t.currency for t in transfers],
        [t.kind.value for t in transfers],
        [t.pending_id for t in transfers],
        [t.timeout_at for t in transfers],
        [t.code for t in transfers],
        [t.reference for t in transfers],
        [t.created_at for t in transfers],
    )


async def insert_entries(conn: Connection, entries: Sequence[Entry]) -> None:
    await conn.execute(
        """INSERT INTO ledger_entries (transfer_id, account_id, currency, debits_pending,
               debits_posted, credits_pending, credits_posted, balance_after, created_at)
           SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::text[], $4::bigint[],
               $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[], $9::timestamptz[])""",
        [e.transfer_id for e in entries],
        [e.account_id for e in entries],
        [e.currency for e in entries],
        [e.debits_pending for e in entries],
        [e.debits_posted for e in entries],
        [e.credits_pending for e in entries],
        [e.credits_posted for e in entries],
        [e.balance_after for e in entries],
        [e.created_at for e in entries],
    )


async def expired_pending(conn: Connection, now: datetime, limit: int) -> list[Transfer]:
    rows = await conn.fetch(
        f"""SELECT {_TRANSFER_COLUMNS} FROM ledger_transfers t
            WHERE t.kind = 'pending' AND t.timeout_at IS NOT NULL AND t.timeout_at <= $1
              AND NOT EXISTS (SELECT 1 FROM ledger_transfers r WHERE r.pending_id = t.id)
            ORDER BY t.timeout_at LIMIT $2""",
        now,
        limit,
    )
    return [_transfer(r) for r in rows]


# ---- invariants -------------------------------------------------------------------


async def ledger_problems(conn: Connection) -> tuple[list[str], dict[str, int]]:
    """Every invariant the ledger promises, checked from scratch."""
    problems: list[str] = []
    totals: dict[str, int] = {}
    for row in await conn.fetch(
        """SELECT a.currency,
                  sum(b.credits_posted - b.debits_posted)::bigint AS posted,
                  sum(b.credits_pending - b.debits_pending)::bigint AS pending
           FROM ledger_balances b JOIN ledger_accounts a ON a.id = b.account_id
           GROUP BY a.currency"""
    ):
        totals[row["currency"]] = row["posted"]
        if row["posted"] != 0 or row["pending"] != 0:
            problems.append(
                f"{row['currency']}: balances do not sum to zero "
                f"(posted {row['posted']}, pending {row['pending']})"
            )
    for row in await conn.fetch(
        """SELECT b.account_id FROM ledger_balances b
           LEFT JOIN (SELECT account_id, sum(debits_pending) AS dp, sum(debits_posted) AS dpo,
                             sum(credits_pending) AS cp, sum(credits_posted) AS cpo
                      FROM ledger_entries GROUP BY account_id) e
             ON e.account_id = b.account_id
           WHERE b.debits_pending <> coalesce(e.dp, 0) OR b.debits_posted <> coalesce(e.dpo, 0)
              OR b.credits_pending <> coalesce(e.cp, 0) OR b.credits_posted <> coalesce(e.cpo, 0)
           LIMIT 20"""
    ):
        problems.append(f"account {row['account_id']}: balance differs from its entries")
    for row in await conn.fetch(
        """SELECT transfer_id FROM ledger_entries GROUP BY transfer_id
           HAVING sum(credits_posted - debits_posted) <> 0
               OR sum(credits_pending - debits_pending) <> 0
               OR count(DISTINCT currency) <> 1
           LIMIT 20"""
    ):
        problems.append(f"transfer {row['transfer_id']}: entries do not sum to zero")
    for row in await conn.fetch(
        """SELECT account_id FROM ledger_balances
           WHERE (flags & 1) = 1 AND debits_posted + debits_pending > credits_posted
           LIMIT 20"""
    ):
        problems.append(f"account {row['account_id']}: below zero")
    return problems, totals


async def wallet_entries(
    conn: Connection, account_id: int, *, before_id: int | None, limit: int
) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        """SELECT e.id, e.transfer_id, e.currency, e.debits_pending, e.debits_posted,
                  e.credits_pending, e.credits_posted, e.balance_after, e.created_at,
                  t.code, t.kind, t.reference
           FROM ledger_entries e JOIN ledger_transfers t ON t.id = e.transfer_id
           WHERE e.account_id = $1 AND ($2::bigint IS NULL OR e.id < $2)
           ORDER BY e.id DESC LIMIT $3""",
        account_id,
        before_id,
        limit,
    )
    return [dict(r) for r in rows]
