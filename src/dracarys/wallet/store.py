"""All of the wallet's SQL (asyncpg, plain SQL): ledger accounts, balances, transfers and
entries, and the workflow tables of deposits, payouts, escrow and invoices."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
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


# ---- operation idempotency --------------------------------------------------------


async def lock_operation_key(conn: Connection, scope: str, key: str) -> None:
    """Queue concurrent requests with one key behind each other for this transaction."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 6))", f"{scope}|{key}")


@asynccontextmanager
async def operation_key_session_lock(conn: Connection, scope: str, key: str) -> AsyncIterator[None]:
    """`lock_operation_key` held across several transactions of one connection (a step
    that calls a provider between them); released at the end, or with the connection."""
    lock_key = f"{scope}|{key}"
    await conn.execute("SELECT pg_advisory_lock(hashtextextended($1, 6))", lock_key)
    try:
        yield
    finally:
        await conn.execute("SELECT pg_advisory_unlock(hashtextextended($1, 6))", lock_key)


async def find_operation(conn: Connection, scope: str, key: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """SELECT kind, request_hash, result FROM wallet_operations
           WHERE scope = $1 AND idempotency_key = $2""",
        scope,
        key,
    )


async def insert_operation(
    conn: Connection,
    scope: str,
    key: str,
    kind: str,
    request_hash: str,
    result: dict[str, Any],
    now: datetime,
) -> None:
    await conn.execute(
        """INSERT INTO wallet_operations (scope, idempotency_key, kind, request_hash, result,
               created_at) VALUES ($1, $2, $3, $4, $5, $6)""",
        scope,
        key,
        kind,
        request_hash,
        result,
        now,
    )


# ---- users (read-only: identity owns the table) -----------------------------------


async def user_profile(conn: Connection, user_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT id, role, kyc_level, status FROM users WHERE id = $1", user_id
    )


# ---- deposits ---------------------------------------------------------------------

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


async def get_deposit(conn: Connection, deposit_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {_DEPOSIT_COLUMNS} FROM wallet_deposits WHERE id = $1", deposit_id
    )


async def lock_deposit(conn: Connection, deposit_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {_DEPOSIT_COLUMNS} FROM wallet_deposits WHERE id = $1 FOR UPDATE", deposit_id
    )


async def lock_deposit_by_ref(
    conn: Connection, method: str, provider_ref: str
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"""SELECT {_DEPOSIT_COLUMNS} FROM wallet_deposits
            WHERE method = $1 AND provider_ref = $2 FOR UPDATE""",
        method,
        provider_ref,
    )


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


async def pending_mpesa_deposits(conn: Connection, older_than: datetime) -> list[asyncpg.Record]:
    return list(
        await conn.fetch(
            f"""SELECT {_DEPOSIT_COLUMNS} FROM wallet_deposits
                WHERE method = 'mpesa' AND status = 'pending' AND provider_ref IS NOT NULL
                  AND created_at <= $1 ORDER BY created_at LIMIT 200""",
            older_than,
        )
    )


async def mpesa_deposits_without_prompt(conn: Connection, older_than: datetime) -> list[uuid.UUID]:
    """Pending M-Pesa deposits whose STK push no answer or callback ever confirmed."""
    rows = await conn.fetch(
        """SELECT id FROM wallet_deposits
           WHERE method = 'mpesa' AND status = 'pending' AND provider_ref IS NULL
             AND created_at <= $1 ORDER BY created_at LIMIT 200""",
        older_than,
    )
    return [r["id"] for r in rows]


async def next_callback_id(conn: Connection) -> int:
    """Taken before the insert: the sealed payload is bound to its row's id."""
    callback_id: int = await conn.fetchval(
        "SELECT nextval(pg_get_serial_sequence('provider_callbacks', 'id'))"
    )
    return callback_id


async def record_callback(
    conn: Connection,
    callback_id: int,
    provider: str,
    kind: str,
    reference: str | None,
    payload_sealed: bytes,
    now: datetime,
) -> None:
    await conn.execute(
        """INSERT INTO provider_callbacks (id, provider, kind, reference, payload_sealed,
                                           received_at)
           OVERRIDING SYSTEM VALUE VALUES ($1, $2, $3, $4, $5, $6)""",
        callback_id,
        provider,
        kind,
        reference,
        payload_sealed,
        now,
    )


async def earliest_callback(
    conn: Connection, provider: str, kind: str, reference: str
) -> asyncpg.Record | None:
    """Its `id` and `payload_sealed`."""
    return await conn.fetchrow(
        """SELECT id, payload_sealed FROM provider_callbacks
           WHERE provider = $1 AND kind = $2 AND reference = $3 ORDER BY id LIMIT 1""",
        provider,
        kind,
        reference,
    )


async def record_stripe_event(
    conn: Connection, event_id: str, event_type: str, now: datetime
) -> bool:
    """True the first time an event id is seen; a concurrent duplicate waits for the
    first insert to commit and then sees it."""
    inserted = await conn.fetchval(
        """INSERT INTO stripe_events (id, type, received_at) VALUES ($1, $2, $3)
           ON CONFLICT (id) DO NOTHING RETURNING true""",
        event_id,
        event_type,
        now,
    )
    return bool(inserted)


async def insert_stripe_refund(
    conn: Connection,
    *,
    refund_id: uuid.UUID,
    deposit_id: uuid.UUID,
    amount_minor: int,
    currency: str,
    pending_transfer_id: uuid.UUID,
    now: datetime,
) -> None:
    await conn.execute(
        """INSERT INTO stripe_refunds (id, deposit_id, amount_minor, currency, status,
               pending_transfer_id, created_at, updated_at)
           VALUES ($1, $2, $3, $4, 'pending', $5, $6, $6)""",
        refund_id,
        deposit_id,
        amount_minor,
        currency,
        pending_transfer_id,
        now,
    )


async def lock_stripe_refund(conn: Connection, refund_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """SELECT r.id, r.deposit_id, r.amount_minor, r.currency, r.status,
                  r.pending_transfer_id, d.user_id
           FROM stripe_refunds r JOIN wallet_deposits d ON d.id = r.deposit_id
           WHERE r.id = $1 FOR UPDATE OF r""",
        refund_id,
    )


async def set_stripe_refund(
    conn: Connection,
    refund_id: uuid.UUID,
    *,
    status: str,
    stripe_refund_id: str | None,
    now: datetime,
) -> None:
    await conn.execute(
        """UPDATE stripe_refunds SET status = $2,
               stripe_refund_id = coalesce($3, stripe_refund_id), updated_at = $4
           WHERE id = $1""",
        refund_id,
        status,
        stripe_refund_id,
        now,
    )


async def refunded_of_deposit(conn: Connection, deposit_id: uuid.UUID) -> int:
    return int(
        await conn.fetchval(
            """SELECT coalesce(sum(amount_minor), 0) FROM stripe_refunds
               WHERE deposit_id = $1 AND status <> 'failed'""",
            deposit_id,
        )
    )


# ---- payouts ----------------------------------------------------------------------

_PAYOUT_COLUMNS = (
    "id, user_id, batch_id, kind, method, destination_sealed, amount_minor, currency, status,"
    " attempts, next_attempt_at, pending_transfer_id, originator_conversation_id,"
    " conversation_id, provider_receipt, failure_reason, review_reason, created_at, updated_at"
)
# A payout with its current M-Pesa attempt (NULLs when it has none).
_PAYOUT_WITH_ATTEMPT = (
    "SELECT "
    + ", ".join(f"p.{column.strip()}" for column in _PAYOUT_COLUMNS.split(","))
    + """, a.attempt AS attempt_number, a.status AS attempt_status,
          a.started_at AS attempt_started_at, a.status_queries, a.detail AS attempt_detail
       FROM payouts p
       LEFT JOIN payout_attempts a ON a.originator_conversation_id = p.originator_conversation_id"""
)


async def insert_payout(
    conn: Connection,
    *,
    payout_id: uuid.UUID,
    user_id: uuid.UUID,
    batch_id: uuid.UUID | None,
    kind: str,
    method: str,
    destination_sealed: bytes,
    amount_minor: int,
    currency: str,
    status: str,
    pending_transfer_id: uuid.UUID,
    now: datetime,
) -> None:
    await conn.execute(
        """INSERT INTO payouts (id, user_id, batch_id, kind, method, destination_sealed,
               amount_minor, currency, status, next_attempt_at, pending_transfer_id,
               created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $10, $10)""",
        payout_id,
        user_id,
        batch_id,
        kind,
        method,
        destination_sealed,
        amount_minor,
        currency,
        status,
        now,
        pending_transfer_id,
    )


async def get_payout(conn: Connection, payout_id: uuid.UUID) -> asyncpg.Record | None:
    """The payout with its current attempt's number, state, start and status queries."""
    return await conn.fetchrow(f"{_PAYOUT_WITH_ATTEMPT} WHERE p.id = $1", payout_id)


async def lock_payout(conn: Connection, payout_id: uuid.UUID) -> asyncpg.Record | None:
    """Every change to a payout or its attempts happens under this lock."""
    return await conn.fetchrow(
        f"SELECT {_PAYOUT_COLUMNS} FROM payouts WHERE id = $1 FOR UPDATE", payout_id
    )


async def update_payout(
    conn: Connection,
    payout_id: uuid.UUID,
    *,
    status: str,
    now: datetime,
    next_attempt_at: datetime | None = None,
    conversation_id: str | None = None,
    provider_receipt: str | None = None,
    failure_reason: str | None = None,
) -> None:
    await conn.execute(
        """UPDATE payouts SET status = $2, updated_at = $3, next_attempt_at = $4,
               conversation_id = coalesce($5, conversation_id),
               provider_receipt = coalesce($6, provider_receipt),
               failure_reason = coalesce($7, failure_reason)
           WHERE id = $1""",
        payout_id,
        status,
        now,
        next_attempt_at,
        conversation_id,
        provider_receipt,
        failure_reason,
    )


async def payouts_awaiting_admin(conn: Connection, stuck_since: datetime) -> list[asyncpg.Record]:
    """Held for review, bank transfers to make, and M-Pesa sends in flight since before
    `stuck_since`."""
    return list(
        await conn.fetch(
            f"""{_PAYOUT_WITH_ATTEMPT}
                WHERE p.status IN ('needs_review', 'awaiting_bank_transfer')
                   OR (p.status IN ('sending', 'sent') AND a.started_at <= $1)
                ORDER BY p.updated_at, p.id""",
            stuck_since,
        )
    )


async def set_payout_review_reason(conn: Connection, payout_id: uuid.UUID, reason: str) -> None:
    await conn.execute("UPDATE payouts SET review_reason = $2 WHERE id = $1", payout_id, reason)


async def due_payout_ids(conn: Connection, now: datetime) -> list[uuid.UUID]:
    rows = await conn.fetch(
        """SELECT id FROM payouts WHERE status = 'queued' AND next_attempt_at <= $1
           ORDER BY next_attempt_at LIMIT 500""",
        now,
    )
    return [r["id"] for r in rows]


# ---- payout attempts ----------------------------------------------------------------


async def start_payout_attempt(
    conn: Connection,
    payout_id: uuid.UUID,
    *,
    attempt: int,
    originator_id: str,
    now: datetime,
    first_query_at: datetime,
) -> None:
    """Record a send before its request leaves: the attempt, and the payout `sending`."""
    await conn.execute(
        """INSERT INTO payout_attempts (originator_conversation_id, payout_id, attempt, status,
               next_query_at, started_at, updated_at)
           VALUES ($1, $2, $3, 'sending', $4, $5, $5)""",
        originator_id,
        payout_id,
        attempt,
        first_query_at,
        now,
    )
    await conn.execute(
        """UPDATE payouts SET status = 'sending', attempts = $2, originator_conversation_id = $3,
               next_attempt_at = NULL, updated_at = $4
           WHERE id = $1""",
        payout_id,
        attempt,
        originator_id,
        now,
    )


async def get_payout_attempt(conn: Connection, originator_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """SELECT originator_conversation_id, payout_id, attempt, status, conversation_id,
                  receipt, detail, status_queries, next_query_at, started_at
           FROM payout_attempts WHERE originator_conversation_id = $1""",
        originator_id,
    )


async def payout_attempts(conn: Connection, payout_id: uuid.UUID) -> list[asyncpg.Record]:
    return list(
        await conn.fetch(
            """SELECT originator_conversation_id, attempt, status, conversation_id, receipt,
                      detail, status_queries, started_at, updated_at
               FROM payout_attempts WHERE payout_id = $1 ORDER BY attempt""",
            payout_id,
        )
    )


async def accept_payout_attempt(
    conn: Connection, originator_id: str, conversation_id: str, now: datetime
) -> None:
    """Daraja took the request in; an outcome that raced ahead of this stays."""
    await conn.execute(
        """UPDATE payout_attempts SET conversation_id = $2, updated_at = $3,
               status = CASE WHEN status = 'sending' THEN 'accepted' ELSE status END
           WHERE originator_conversation_id = $1""",
        originator_id,
        conversation_id,
        now,
    )


async def settle_payout_attempt(
    conn: Connection,
    originator_id: str,
    status: str,
    now: datetime,
    *,
    detail: str | None = None,
    receipt: str | None = None,
) -> None:
    """Record what became of a send. Paid is final: nothing reported later undoes it."""
    await conn.execute(
        """UPDATE payout_attempts SET status = $2, updated_at = $3,
               detail = coalesce($4, detail), receipt = coalesce($5, receipt)
           WHERE originator_conversation_id = $1 AND status <> 'paid'""",
        originator_id,
        status,
        now,
        detail,
        receipt,
    )


async def note_payout_attempt(
    conn: Connection, originator_id: str, detail: str, now: datetime
) -> None:
    await conn.execute(
        """UPDATE payout_attempts SET detail = $2, updated_at = $3
           WHERE originator_conversation_id = $1""",
        originator_id,
        detail,
        now,
    )


async def count_status_query(
    conn: Connection, originator_id: str, now: datetime, next_query_at: datetime
) -> None:
    await conn.execute(
        """UPDATE payout_attempts SET status_queries = status_queries + 1,
               next_query_at = $3, updated_at = $2
           WHERE originator_conversation_id = $1""",
        originator_id,
        now,
        next_query_at,
    )


async def payouts_due_for_status_query(
    conn: Connection, now: datetime, limit: int
) -> list[uuid.UUID]:
    """Payouts in flight whose current attempt is due to be asked about."""
    rows = await conn.fetch(
        """SELECT p.id FROM payout_attempts a
           JOIN payouts p ON p.originator_conversation_id = a.originator_conversation_id
           WHERE a.status IN ('sending', 'accepted') AND a.next_query_at <= $1
             AND p.status IN ('sending', 'sent')
           ORDER BY a.next_query_at LIMIT $2""",
        now,
        limit,
    )
    return [r["id"] for r in rows]


async def withdrawn_since(
    conn: Connection, user_id: uuid.UUID, currency: str, since: datetime
) -> int:
    return int(
        await conn.fetchval(
            """SELECT coalesce(sum(amount_minor), 0) FROM payouts
               WHERE user_id = $1 AND currency = $2 AND kind = 'withdrawal'
                 AND status <> 'failed' AND created_at >= $3""",
            user_id,
            currency,
            since,
        )
    )


async def ensure_batch(conn: Connection, period: str, currency: str, now: datetime) -> uuid.UUID:
    batch_id: uuid.UUID = await conn.fetchval(
        """WITH inserted AS (
               INSERT INTO payout_batches (id, period, currency, created_at)
               VALUES ($1, $2, $3, $4) ON CONFLICT (period, currency) DO NOTHING RETURNING id)
           SELECT id FROM inserted
           UNION ALL SELECT id FROM payout_batches WHERE period = $2 AND currency = $3
           LIMIT 1""",
        uuid.uuid4(),
        period,
        currency,
        now,
    )
    return batch_id


async def payout_candidates(
    conn: Connection, currency: str, minimum_minor: int
) -> list[asyncpg.Record]:
    """Mentors (KYC level 2 or more) whose wallet holds at least the payout minimum."""
    return list(
        await conn.fetch(
            """SELECT u.id AS user_id,
                      b.credits_posted - b.debits_posted - b.debits_pending AS available
               FROM ledger_accounts a
               JOIN ledger_balances b ON b.account_id = a.id
               JOIN users u ON u.id = a.owner_id
               WHERE a.code = 'user_wallet' AND a.currency = $1 AND u.role = 'mentor'
                 AND u.kyc_level >= 2 AND u.status = 'active'
                 AND b.credits_posted - b.debits_posted - b.debits_pending >= $2
               ORDER BY u.id""",
            currency,
            minimum_minor,
        )
    )


async def batch_payout_exists(conn: Connection, batch_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM payouts WHERE batch_id = $1 AND user_id = $2)",
            batch_id,
            user_id,
        )
    )


# ---- escrow -----------------------------------------------------------------------

_ESCROW_COLUMNS = (
    "id, payer_id, mentor_id, amount_minor, currency, reference, status, pending_transfer_id,"
    " mentor_share_bps, vat_rate_bps, auto_release_at, released_minor, refunded_minor,"
    " created_at, resolved_at"
)


async def mentor_share_bps(conn: Connection, mentor_id: uuid.UUID) -> int | None:
    value = await conn.fetchval(
        "SELECT share_bps FROM mentor_contracts WHERE mentor_id = $1", mentor_id
    )
    return None if value is None else int(value)


async def set_mentor_share(
    conn: Connection, mentor_id: uuid.UUID, share_bps: int, now: datetime
) -> None:
    await conn.execute(
        """INSERT INTO mentor_contracts (mentor_id, share_bps, updated_at) VALUES ($1, $2, $3)
           ON CONFLICT (mentor_id) DO UPDATE SET share_bps = $2, updated_at = $3""",
        mentor_id,
        share_bps,
        now,
    )


async def insert_escrow(
    conn: Connection,
    *,
    escrow_id: uuid.UUID,
    payer_id: uuid.UUID,
    mentor_id: uuid.UUID,
    amount_minor: int,
    currency: str,
    reference: str,
    pending_transfer_id: uuid.UUID,
    mentor_share_bps: int,
    vat_rate_bps: int,
    auto_release_at: datetime,
    now: datetime,
) -> None:
    await conn.execute(
        """INSERT INTO escrows (id, payer_id, mentor_id, amount_minor, currency, reference,
               status, pending_transfer_id, mentor_share_bps, vat_rate_bps, auto_release_at,
               created_at)
           VALUES ($1, $2, $3, $4, $5, $6, 'held', $7, $8, $9, $10, $11)""",
        escrow_id,
        payer_id,
        mentor_id,
        amount_minor,
        currency,
        reference,
        pending_transfer_id,
        mentor_share_bps,
        vat_rate_bps,
        auto_release_at,
        now,
    )


async def get_escrow(conn: Connection, escrow_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(f"SELECT {_ESCROW_COLUMNS} FROM escrows WHERE id = $1", escrow_id)


async def lock_escrow(conn: Connection, escrow_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {_ESCROW_COLUMNS} FROM escrows WHERE id = $1 FOR UPDATE", escrow_id
    )


async def settle_escrow(
    conn: Connection,
    escrow_id: uuid.UUID,
    *,
    status: str,
    released_minor: int,
    refunded_minor: int,
    now: datetime,
) -> None:
    await conn.execute(
        """UPDATE escrows SET status = $2, released_minor = $3, refunded_minor = $4,
               resolved_at = $5 WHERE id = $1""",
        escrow_id,
        status,
        released_minor,
        refunded_minor,
        now,
    )


async def set_escrow_status(conn: Connection, escrow_id: uuid.UUID, status: str) -> None:
    await conn.execute("UPDATE escrows SET status = $2 WHERE id = $1", escrow_id, status)


async def due_escrow_ids(conn: Connection, now: datetime) -> list[uuid.UUID]:
    rows = await conn.fetch(
        """SELECT id FROM escrows WHERE status = 'held' AND auto_release_at <= $1
           ORDER BY auto_release_at LIMIT 500""",
        now,
    )
    return [r["id"] for r in rows]


_DISPUTE_COLUMNS = (
    "id, escrow_id, opened_by, reason, evidence, status, refund_minor, resolution_note, created_at"
)


async def insert_dispute(
    conn: Connection,
    *,
    dispute_id: uuid.UUID,
    escrow_id: uuid.UUID,
    opened_by: uuid.UUID,
    reason: str,
    evidence: list[str],
    now: datetime,
) -> None:
    await conn.execute(
        """INSERT INTO escrow_disputes (id, escrow_id, opened_by, reason, evidence, status,
               created_at) VALUES ($1, $2, $3, $4, $5, 'open', $6)""",
        dispute_id,
        escrow_id,
        opened_by,
        reason,
        evidence,
        now,
    )


async def dispute_of_escrow(conn: Connection, escrow_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {_DISPUTE_COLUMNS} FROM escrow_disputes WHERE escrow_id = $1", escrow_id
    )


async def lock_dispute(conn: Connection, dispute_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {_DISPUTE_COLUMNS} FROM escrow_disputes WHERE id = $1 FOR UPDATE", dispute_id
    )


async def add_dispute_evidence(
    conn: Connection, dispute_id: uuid.UUID, evidence: list[str]
) -> None:
    await conn.execute(
        "UPDATE escrow_disputes SET evidence = evidence || $2::jsonb WHERE id = $1",
        dispute_id,
        evidence,
    )


async def resolve_dispute(
    conn: Connection,
    dispute_id: uuid.UUID,
    *,
    refund_minor: int,
    resolved_by: uuid.UUID,
    note: str,
    now: datetime,
) -> None:
    await conn.execute(
        """UPDATE escrow_disputes SET status = 'resolved', refund_minor = $2, resolved_by = $3,
               resolution_note = $4, resolved_at = $5 WHERE id = $1""",
        dispute_id,
        refund_minor,
        resolved_by,
        note,
        now,
    )


async def open_disputes(conn: Connection, limit: int) -> list[asyncpg.Record]:
    return list(
        await conn.fetch(
            f"""SELECT {_DISPUTE_COLUMNS} FROM escrow_disputes WHERE status = 'open'
                ORDER BY created_at LIMIT $1""",
            limit,
        )
    )


async def insert_holdback(
    conn: Connection,
    *,
    escrow_id: uuid.UUID,
    mentor_id: uuid.UUID,
    amount_minor: int,
    currency: str,
    release_at: datetime,
    now: datetime,
) -> None:
    await conn.execute(
        """INSERT INTO mentor_holdbacks (id, escrow_id, mentor_id, amount_minor, currency,
               release_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)""",
        uuid.uuid4(),
        escrow_id,
        mentor_id,
        amount_minor,
        currency,
        release_at,
        now,
    )


async def lock_due_holdbacks(conn: Connection, now: datetime) -> list[asyncpg.Record]:
    return list(
        await conn.fetch(
            """SELECT id, escrow_id, mentor_id, amount_minor, currency FROM mentor_holdbacks
               WHERE released_at IS NULL AND release_at <= $1
               ORDER BY release_at LIMIT 500 FOR UPDATE SKIP LOCKED""",
            now,
        )
    )


async def mark_holdback_released(conn: Connection, holdback_id: uuid.UUID, now: datetime) -> None:
    await conn.execute(
        "UPDATE mentor_holdbacks SET released_at = $2 WHERE id = $1", holdback_id, now
    )


# ---- charges and invoices ---------------------------------------------------------


async def insert_charge(
    conn: Connection,
    *,
    charge_id: uuid.UUID,
    user_id: uuid.UUID,
    purpose: str,
    reference: str,
    amount_minor: int,
    currency: str,
    country: str,
    escrow_id: uuid.UUID | None,
    now: datetime,
) -> None:
    await conn.execute(
        """INSERT INTO wallet_charges (id, user_id, purpose, reference, amount_minor, currency,
               country, escrow_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)""",
        charge_id,
        user_id,
        purpose,
        reference,
        amount_minor,
        currency,
        country,
        escrow_id,
        now,
    )


async def take_invoice_number(conn: Connection, year: int) -> int:
    """The next number of `year`; the counter row stays locked until the transaction ends,
    and a rollback gives the number back, so numbers have no gaps."""
    value = await conn.fetchval(
        """INSERT INTO invoice_counters (year, last_number) VALUES ($1, 1)
           ON CONFLICT (year) DO UPDATE SET last_number = invoice_counters.last_number + 1
           RETURNING last_number""",
        year,
    )
    return int(value)


_INVOICE_COLUMNS = (
    "id, number, year, seq, user_id, description, net_minor, vat_minor, gross_minor, currency,"
    " country, vat_rate_bps, charge_id, issued_at, kind, corrects_id"
)


async def insert_invoice(conn: Connection, values: dict[str, Any]) -> None:
    await conn.execute(
        """INSERT INTO invoices (id, number, year, seq, user_id, description, net_minor,
               vat_minor, gross_minor, currency, country, vat_rate_bps, charge_id, issued_at,
               kind, corrects_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)""",
        *(values[c.strip()] for c in _INVOICE_COLUMNS.split(",")),
    )


async def get_invoice(conn: Connection, invoice_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {_INVOICE_COLUMNS} FROM invoices WHERE id = $1",
        invoice_id,
    )


async def invoice_of_charge(conn: Connection, charge_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {_INVOICE_COLUMNS} FROM invoices WHERE charge_id = $1 AND kind = 'invoice'",
        charge_id,
    )


async def invoices_between(
    conn: Connection, start: datetime, end: datetime
) -> list[asyncpg.Record]:
    return list(
        await conn.fetch(
            f"""SELECT {_INVOICE_COLUMNS} FROM invoices
                WHERE issued_at >= $1 AND issued_at < $2 ORDER BY year, seq""",
            start,
            end,
        )
    )


async def invoices_of_user(conn: Connection, user_id: uuid.UUID) -> list[asyncpg.Record]:
    return list(
        await conn.fetch(
            f"SELECT {_INVOICE_COLUMNS} FROM invoices WHERE user_id = $1 ORDER BY issued_at DESC",
            user_id,
        )
    )


async def insert_mentor_bonus(
    conn: Connection,
    *,
    mentor_id: uuid.UUID,
    month: str,
    amount_minor: int,
    currency: str,
    avg_rating: float,
    attendance_bps: int,
    transfer_id: uuid.UUID,
    now: datetime,
) -> bool:
    inserted = await conn.fetchval(
        """INSERT INTO mentor_bonuses (mentor_id, month, amount_minor, currency, avg_rating,
               attendance_bps, transfer_id, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (mentor_id, month) DO NOTHING RETURNING true""",
        mentor_id,
        month,
        amount_minor,
        currency,
        avg_rating,
        attendance_bps,
        transfer_id,
        now,
    )
    return bool(inserted)


async def get_charge(conn: Connection, charge_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """SELECT c.id, c.user_id, c.purpose, c.reference, c.amount_minor, c.currency,
                  c.escrow_id, i.vat_rate_bps
           FROM wallet_charges c JOIN invoices i ON i.charge_id = coalesce(c.escrow_id, c.id)
           WHERE c.id = $1 AND i.kind = 'invoice'""",
        charge_id,
    )


async def refunded_of_charge(conn: Connection, charge_id: uuid.UUID) -> int:
    return int(
        await conn.fetchval(
            """SELECT coalesce(sum(amount_minor), 0) FROM ledger_transfers
               WHERE reference = $1 AND code IN ('charge_refund', 'charge_refund_vat')""",
            str(charge_id),
        )
    )


# ---- card chargebacks ------------------------------------------------------------------

_CHARGEBACK_COLUMNS = (
    "id, deposit_id, user_id, amount_minor, currency, reason, status, held_minor,"
    " hold_transfer_id, unrecovered_minor, created_at, updated_at"
)


async def lock_deposit_by_receipt(
    conn: Connection, method: str, receipt: str
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"""SELECT {_DEPOSIT_COLUMNS} FROM wallet_deposits
            WHERE method = $1 AND provider_receipt = $2 FOR UPDATE""",
        method,
        receipt,
    )


async def lock_chargeback(conn: Connection, chargeback_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {_CHARGEBACK_COLUMNS} FROM card_chargebacks WHERE id = $1 FOR UPDATE",
        chargeback_id,
    )


async def insert_chargeback(
    conn: Connection,
    *,
    chargeback_id: str,
    deposit_id: uuid.UUID,
    user_id: uuid.UUID,
    amount_minor: int,
    currency: str,
    reason: str,
    held_minor: int,
    hold_transfer_id: uuid.UUID | None,
    now: datetime,
) -> asyncpg.Record:
    row: asyncpg.Record | None = await conn.fetchrow(
        f"""INSERT INTO card_chargebacks (id, deposit_id, user_id, amount_minor, currency,
               reason, status, held_minor, hold_transfer_id, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, 'open', $7, $8, $9, $9)
           RETURNING {_CHARGEBACK_COLUMNS}""",
        chargeback_id,
        deposit_id,
        user_id,
        amount_minor,
        currency,
        reason,
        held_minor,
        hold_transfer_id,
        now,
    )
    assert row is not None  # INSERT ... RETURNING always returns the row
    return row


async def close_chargeback(
    conn: Connection, chargeback_id: str, *, status: str, unrecovered_minor: int, now: datetime
) -> None:
    await conn.execute(
        """UPDATE card_chargebacks SET status = $2, unrecovered_minor = $3, updated_at = $4
            WHERE id = $1""",
        chargeback_id,
        status,
        unrecovered_minor,
        now,
    )


async def recent_chargebacks(conn: Connection, limit: int) -> list[asyncpg.Record]:
    """Open chargebacks first, then the most recently changed."""
    rows: list[asyncpg.Record] = await conn.fetch(
        f"""SELECT {_CHARGEBACK_COLUMNS} FROM card_chargebacks
            ORDER BY status <> 'open', updated_at DESC LIMIT $1""",
        limit,
    )
    return rows


# ---- sealing payment details older versions stored in plain ---------------------------

SEALING_LOCK_KEY = 0x44524143_5041594C  # "DRACPAYL"
_SEALED_CONSTRAINTS = (
    ("wallet_deposits", "wallet_deposits_sealed"),
    ("payouts", "payouts_sealed"),
    ("provider_callbacks", "provider_callbacks_sealed"),
)


async def plain_deposit_phones(conn: Connection, limit: int) -> list[asyncpg.Record]:
    return list(
        await conn.fetch(
            """SELECT id, plain_phone FROM wallet_deposits WHERE plain_phone IS NOT NULL
               LIMIT $1 FOR UPDATE""",
            limit,
        )
    )


async def store_sealed_deposit_phones(
    conn: Connection, sealed: list[tuple[uuid.UUID, bytes]]
) -> None:
    await conn.execute(
        """UPDATE wallet_deposits d SET phone_sealed = s.phone_sealed, plain_phone = NULL
           FROM unnest($1::uuid[], $2::bytea[]) AS s (id, phone_sealed)
           WHERE d.id = s.id""",
        [deposit_id for deposit_id, _ in sealed],
        [phone for _, phone in sealed],
    )


async def plain_payout_destinations(conn: Connection, limit: int) -> list[asyncpg.Record]:
    return list(
        await conn.fetch(
            """SELECT id, plain_destination FROM payouts WHERE plain_destination IS NOT NULL
               LIMIT $1 FOR UPDATE""",
            limit,
        )
    )


async def store_sealed_payout_destinations(
    conn: Connection, sealed: list[tuple[uuid.UUID, bytes]]
) -> None:
    await conn.execute(
        """UPDATE payouts p SET destination_sealed = s.destination_sealed,
                                plain_destination = NULL
           FROM unnest($1::uuid[], $2::bytea[]) AS s (id, destination_sealed)
           WHERE p.id = s.id""",
        [payout_id for payout_id, _ in sealed],
        [destination for _, destination in sealed],
    )


async def plain_callbacks(conn: Connection, limit: int) -> list[asyncpg.Record]:
    return list(
        await conn.fetch(
            # As JSON text whatever the connection's codecs: it is sealed as it reads.
            """SELECT id, plain_payload::text AS plain_payload FROM provider_callbacks
               WHERE plain_payload IS NOT NULL ORDER BY id LIMIT $1 FOR UPDATE""",
            limit,
        )
    )


async def store_sealed_callbacks(conn: Connection, sealed: list[tuple[int, bytes]]) -> None:
    """The one update the append-only trigger lets through (migration 0660)."""
    await conn.execute(
        """UPDATE provider_callbacks c SET payload_sealed = s.payload_sealed,
                                           plain_payload = NULL
           FROM unnest($1::bigint[], $2::bytea[]) AS s (id, payload_sealed)
           WHERE c.id = s.id""",
        [callback_id for callback_id, _ in sealed],
        [payload for _, payload in sealed],
    )


async def validate_payment_details_constraints(conn: Connection) -> None:
    """Once validated, PostgreSQL itself vouches that no plain value is left."""
    pending = {
        row["conname"]
        for row in await conn.fetch(
            """SELECT conname FROM pg_constraint
               WHERE conname = ANY($1::text[]) AND NOT convalidated""",
            [name for _, name in _SEALED_CONSTRAINTS],
        )
    }
    for table, name in _SEALED_CONSTRAINTS:
        if name in pending:
            await conn.execute(f"ALTER TABLE {table} VALIDATE CONSTRAINT {name}")
