"""The SQL of payouts, their M-Pesa attempts and the weekly batches."""

from __future__ import annotations

import uuid
from datetime import datetime

from dracarys.db import Connection, record_or_none, records
from dracarys.wallet.payouts.models import Payout, PayoutAttempt, PayoutWithAttempt

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

# ---- payouts --------------------------------------------------------------------------


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


async def get_payout(conn: Connection, payout_id: uuid.UUID) -> PayoutWithAttempt | None:
    """The payout with its current attempt's number, state, start and status queries."""
    row = await conn.fetchrow(f"{_PAYOUT_WITH_ATTEMPT} WHERE p.id = $1", payout_id)
    return record_or_none(PayoutWithAttempt, row)


async def lock_payout(conn: Connection, payout_id: uuid.UUID) -> Payout | None:
    """Every change to a payout or its attempts happens under this lock."""
    row = await conn.fetchrow(
        f"SELECT {_PAYOUT_COLUMNS} FROM payouts WHERE id = $1 FOR UPDATE", payout_id
    )
    return record_or_none(Payout, row)


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


async def payouts_awaiting_admin(
    conn: Connection, stuck_since: datetime
) -> list[PayoutWithAttempt]:
    """Held for review, bank transfers to make, and M-Pesa sends in flight since before
    `stuck_since`."""
    rows = await conn.fetch(
        f"""{_PAYOUT_WITH_ATTEMPT}
            WHERE p.status IN ('needs_review', 'awaiting_bank_transfer')
               OR (p.status IN ('sending', 'sent') AND a.started_at <= $1)
            ORDER BY p.updated_at, p.id""",
        stuck_since,
    )
    return records(PayoutWithAttempt, rows)


async def payouts_of_user(
    conn: Connection, user_id: uuid.UUID, limit: int
) -> list[PayoutWithAttempt]:
    """A user's payouts (withdrawals and scheduled ones), newest first."""
    rows = await conn.fetch(
        f"""{_PAYOUT_WITH_ATTEMPT} WHERE p.user_id = $1
            ORDER BY p.created_at DESC, p.id DESC LIMIT $2""",
        user_id,
        limit,
    )
    return records(PayoutWithAttempt, rows)


async def set_payout_review_reason(conn: Connection, payout_id: uuid.UUID, reason: str) -> None:
    await conn.execute("UPDATE payouts SET review_reason = $2 WHERE id = $1", payout_id, reason)


async def due_payout_ids(conn: Connection, now: datetime) -> list[uuid.UUID]:
    rows = await conn.fetch(
        """SELECT id FROM payouts WHERE status = 'queued' AND next_attempt_at <= $1
           ORDER BY next_attempt_at LIMIT 500""",
        now,
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


# ---- weekly batches -------------------------------------------------------------------


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


async def batch_payout_exists(conn: Connection, batch_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM payouts WHERE batch_id = $1 AND user_id = $2)",
            batch_id,
            user_id,
        )
    )


# ---- M-Pesa attempts ------------------------------------------------------------------


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


async def get_payout_attempt(conn: Connection, originator_id: str) -> PayoutAttempt | None:
    row = await conn.fetchrow(
        """SELECT originator_conversation_id, payout_id, attempt, status, conversation_id,
                  receipt, detail, status_queries, next_query_at, started_at
           FROM payout_attempts WHERE originator_conversation_id = $1""",
        originator_id,
    )
    return record_or_none(PayoutAttempt, row)


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
