"""The ledger's SQL: accounts, balances, transfers and their entries, and the invariant
checks run from scratch."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from dracarys.db import Connection, records
from dracarys.wallet.ledger.models import (
    AccountEntry,
    Balance,
    CurrencyTotal,
    Entry,
    FundedWallet,
    OpenHold,
    OwnedAccount,
    Transfer,
)

_TRANSFER_COLUMNS = (
    "id, idempotency_key, debit_account_id, credit_account_id, amount_minor, currency, kind,"
    " pending_id, timeout_at, code, reference, created_at"
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


async def accounts_of_owner(conn: Connection, code: str, owner_id: uuid.UUID) -> list[OwnedAccount]:
    rows = await conn.fetch(
        "SELECT id, currency FROM ledger_accounts WHERE code = $1 AND owner_id = $2",
        code,
        owner_id,
    )
    return records(OwnedAccount, rows)


async def funded_wallets(
    conn: Connection, currency: str, minimum_minor: int, owner_ids: Sequence[uuid.UUID]
) -> list[FundedWallet]:
    """The wallets of `owner_ids` in `currency` whose available balance is at least
    `minimum_minor`, by owner id."""
    rows = await conn.fetch(
        """SELECT a.owner_id,
                  b.credits_posted - b.debits_posted - b.debits_pending AS available_minor
           FROM ledger_accounts a JOIN ledger_balances b ON b.account_id = a.id
           WHERE a.code = 'user_wallet' AND a.currency = $1 AND a.owner_id = ANY($3::uuid[])
             AND b.credits_posted - b.debits_posted - b.debits_pending >= $2
           ORDER BY a.owner_id""",
        currency,
        minimum_minor,
        list(owner_ids),
    )
    return records(FundedWallet, rows)


# ---- balances ---------------------------------------------------------------------

_BALANCE_SELECT = """SELECT b.account_id, b.flags, a.currency, b.debits_pending,
       b.debits_posted, b.credits_pending, b.credits_posted
  FROM ledger_balances b JOIN ledger_accounts a ON a.id = b.account_id"""


async def lock_balances(conn: Connection, account_ids: Sequence[int]) -> dict[int, Balance]:
    """Lock the balance rows in ascending account order, the one fixed order every writer
    uses, so concurrent transfers queue instead of deadlocking."""
    rows = await conn.fetch(
        _BALANCE_SELECT + " WHERE b.account_id = ANY($1::bigint[])"
        " ORDER BY b.account_id FOR UPDATE OF b",
        sorted(set(account_ids)),
    )
    return {b.account_id: b for b in records(Balance, rows)}


async def read_balances(conn: Connection, account_ids: Sequence[int]) -> dict[int, Balance]:
    rows = await conn.fetch(
        _BALANCE_SELECT + " WHERE b.account_id = ANY($1::bigint[])", list(account_ids)
    )
    return {b.account_id: b for b in records(Balance, rows)}


# ---- transfers and entries --------------------------------------------------------


async def transfers_by_keys(conn: Connection, keys: Sequence[str]) -> dict[str, Transfer]:
    rows = await conn.fetch(
        f"SELECT {_TRANSFER_COLUMNS} FROM ledger_transfers WHERE idempotency_key = ANY($1::text[])",
        list(keys),
    )
    return {t.idempotency_key: t for t in records(Transfer, rows)}


async def transfers_by_ids(conn: Connection, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Transfer]:
    rows = await conn.fetch(
        f"SELECT {_TRANSFER_COLUMNS} FROM ledger_transfers WHERE id = ANY($1::uuid[])",
        list(ids),
    )
    return {t.id: t for t in records(Transfer, rows)}


async def resolutions_of(
    conn: Connection, pending_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Transfer]:
    rows = await conn.fetch(
        f"SELECT {_TRANSFER_COLUMNS} FROM ledger_transfers WHERE pending_id = ANY($1::uuid[])",
        list(pending_ids),
    )
    return {t.pending_id: t for t in records(Transfer, rows) if t.pending_id is not None}


async def write_batch(
    conn: Connection,
    transfers: Sequence[Transfer],
    entries: Sequence[Entry],
    balances: Sequence[Balance],
) -> None:
    """Transfers, their entries and the new balances in one statement (one round trip
    while the balance rows are locked)."""
    await conn.execute(
        """WITH t AS (
               INSERT INTO ledger_transfers (id, idempotency_key, debit_account_id,
                   credit_account_id, amount_minor, currency, kind, pending_id, timeout_at,
                   code, reference, created_at)
               SELECT * FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::bigint[],
                   $5::bigint[], $6::text[], $7::text[], $8::uuid[], $9::timestamptz[],
                   $10::text[], $11::text[], $12::timestamptz[])),
           e AS (
               INSERT INTO ledger_entries (transfer_id, account_id, currency, debits_pending,
                   debits_posted, credits_pending, credits_posted, balance_after, created_at)
               SELECT * FROM unnest($13::uuid[], $14::bigint[], $15::text[], $16::bigint[],
                   $17::bigint[], $18::bigint[], $19::bigint[], $20::bigint[],
                   $21::timestamptz[]))
           UPDATE ledger_balances b
           SET debits_pending = v.dp, debits_posted = v.dpo,
               credits_pending = v.cp, credits_posted = v.cpo
           FROM unnest($22::bigint[], $23::bigint[], $24::bigint[], $25::bigint[],
                       $26::bigint[]) AS v(id, dp, dpo, cp, cpo)
           WHERE b.account_id = v.id""",
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
        [e.transfer_id for e in entries],
        [e.account_id for e in entries],
        [e.currency for e in entries],
        [e.debits_pending for e in entries],
        [e.debits_posted for e in entries],
        [e.credits_pending for e in entries],
        [e.credits_posted for e in entries],
        [e.balance_after for e in entries],
        [e.created_at for e in entries],
        [b.account_id for b in balances],
        [b.debits_pending for b in balances],
        [b.debits_posted for b in balances],
        [b.credits_pending for b in balances],
        [b.credits_posted for b in balances],
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
    return records(Transfer, rows)


async def amount_moved(conn: Connection, reference: str, codes: Sequence[str]) -> int:
    """The sum of the transfers with `reference` and one of `codes`."""
    return int(
        await conn.fetchval(
            """SELECT coalesce(sum(amount_minor), 0) FROM ledger_transfers
               WHERE reference = $1 AND code = ANY($2::text[])""",
            reference,
            list(codes),
        )
    )


async def account_entries(
    conn: Connection, account_ids: Sequence[int], *, before_id: int | None, limit: int
) -> list[AccountEntry]:
    """The entries of `account_ids`, newest first, each with what its account's owner could
    spend right after it: a running sum per account (so per currency) over every earlier
    entry, computed before the page is cut, so it is right on every page."""
    rows = await conn.fetch(
        """WITH page AS (
               SELECT e.id, e.transfer_id, e.currency, e.debits_pending, e.debits_posted,
                      e.credits_pending, e.credits_posted, e.balance_after, e.created_at,
                      sum(e.credits_posted - e.debits_posted - e.debits_pending)
                          OVER (PARTITION BY e.account_id ORDER BY e.id)::bigint
                          AS available_after
               FROM ledger_entries e
               WHERE e.account_id = ANY($1::bigint[]) AND ($2::bigint IS NULL OR e.id < $2)
               ORDER BY e.id DESC LIMIT $3)
           SELECT page.*, t.code, t.kind, t.reference
           FROM page JOIN ledger_transfers t ON t.id = page.transfer_id
           ORDER BY page.id DESC""",
        list(account_ids),
        before_id,
        limit,
    )
    return records(AccountEntry, rows)


async def open_holds(conn: Connection, account_ids: Sequence[int]) -> list[OpenHold]:
    """What is reserved in each of `account_ids` by pending transfers not yet posted or
    voided, summed by account currency and transfer code (escrow_hold, withdrawal...)."""
    rows = await conn.fetch(
        """SELECT t.currency, t.code, sum(t.amount_minor)::bigint AS amount_minor
           FROM ledger_transfers t
           WHERE t.kind = 'pending' AND t.debit_account_id = ANY($1::bigint[])
             AND NOT EXISTS (SELECT 1 FROM ledger_transfers r WHERE r.pending_id = t.id)
           GROUP BY t.currency, t.code""",
        list(account_ids),
    )
    return records(OpenHold, rows)


# ---- invariants -------------------------------------------------------------------


async def currency_totals(conn: Connection) -> list[CurrencyTotal]:
    """Posted and pending balance sums per currency (each is zero in a sound ledger)."""
    rows = await conn.fetch(
        """SELECT a.currency,
                  sum(b.credits_posted - b.debits_posted)::bigint AS posted,
                  sum(b.credits_pending - b.debits_pending)::bigint AS pending
           FROM ledger_balances b JOIN ledger_accounts a ON a.id = b.account_id
           GROUP BY a.currency"""
    )
    return records(CurrencyTotal, rows)


async def accounts_differing_from_entries(conn: Connection, limit: int) -> list[int]:
    rows = await conn.fetch(
        """SELECT b.account_id FROM ledger_balances b
           LEFT JOIN (SELECT account_id, sum(debits_pending) AS dp, sum(debits_posted) AS dpo,
                             sum(credits_pending) AS cp, sum(credits_posted) AS cpo
                      FROM ledger_entries GROUP BY account_id) e
             ON e.account_id = b.account_id
           WHERE b.debits_pending <> coalesce(e.dp, 0) OR b.debits_posted <> coalesce(e.dpo, 0)
              OR b.credits_pending <> coalesce(e.cp, 0) OR b.credits_posted <> coalesce(e.cpo, 0)
           LIMIT $1""",
        limit,
    )
    return [int(r["account_id"]) for r in rows]


async def unbalanced_transfers(conn: Connection, limit: int) -> list[uuid.UUID]:
    rows = await conn.fetch(
        """SELECT transfer_id FROM ledger_entries GROUP BY transfer_id
           HAVING sum(credits_posted - debits_posted) <> 0
               OR sum(credits_pending - debits_pending) <> 0
               OR count(DISTINCT currency) <> 1
           LIMIT $1""",
        limit,
    )
    return [r["transfer_id"] for r in rows]


async def bounded_accounts_below_zero(conn: Connection, limit: int) -> list[int]:
    rows = await conn.fetch(
        """SELECT account_id FROM ledger_balances
           WHERE (flags & 1) = 1 AND debits_posted + debits_pending > credits_posted
           LIMIT $1""",
        limit,
    )
    return [int(r["account_id"]) for r in rows]
