"""The SQL of escrows, their disputes, mentor holdbacks and mentor contracts."""

from __future__ import annotations

import uuid
from datetime import datetime

from dracarys.db import Connection, record_or_none, records
from dracarys.wallet.escrow.models import Dispute, Escrow, Holdback

_ESCROW_COLUMNS = (
    "id, payer_id, mentor_id, amount_minor, currency, reference, status, pending_transfer_id,"
    " mentor_share_bps, vat_rate_bps, auto_release_at, released_minor, refunded_minor,"
    " created_at, resolved_at"
)

# ---- mentor contracts -----------------------------------------------------------------


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


# ---- escrows --------------------------------------------------------------------------


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


async def get_escrow(conn: Connection, escrow_id: uuid.UUID) -> Escrow | None:
    row = await conn.fetchrow(f"SELECT {_ESCROW_COLUMNS} FROM escrows WHERE id = $1", escrow_id)
    return record_or_none(Escrow, row)


async def lock_escrow(conn: Connection, escrow_id: uuid.UUID) -> Escrow | None:
    row = await conn.fetchrow(
        f"SELECT {_ESCROW_COLUMNS} FROM escrows WHERE id = $1 FOR UPDATE", escrow_id
    )
    return record_or_none(Escrow, row)


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


async def set_auto_release(conn: Connection, escrow_id: uuid.UUID, release_at: datetime) -> None:
    await conn.execute(
        "UPDATE escrows SET auto_release_at = $2 WHERE id = $1", escrow_id, release_at
    )


async def due_escrow_ids(conn: Connection, now: datetime) -> list[uuid.UUID]:
    rows = await conn.fetch(
        """SELECT id FROM escrows WHERE status = 'held' AND auto_release_at <= $1
           ORDER BY auto_release_at LIMIT 500""",
        now,
    )
    return [r["id"] for r in rows]


# ---- disputes -------------------------------------------------------------------------

_DISPUTE_COLUMNS = (
    "id, escrow_id, opened_by, reason, evidence, status, refund_minor, resolution_note,"
    " created_at, response, response_evidence, responded_by, responded_at, resolved_at"
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


async def dispute_of_escrow(conn: Connection, escrow_id: uuid.UUID) -> Dispute | None:
    row = await conn.fetchrow(
        f"SELECT {_DISPUTE_COLUMNS} FROM escrow_disputes WHERE escrow_id = $1", escrow_id
    )
    return record_or_none(Dispute, row)


async def lock_dispute(conn: Connection, dispute_id: uuid.UUID) -> Dispute | None:
    row = await conn.fetchrow(
        f"SELECT {_DISPUTE_COLUMNS} FROM escrow_disputes WHERE id = $1 FOR UPDATE", dispute_id
    )
    return record_or_none(Dispute, row)


async def add_dispute_evidence(
    conn: Connection, dispute_id: uuid.UUID, evidence: list[str]
) -> None:
    await conn.execute(
        "UPDATE escrow_disputes SET evidence = evidence || $2::jsonb WHERE id = $1",
        dispute_id,
        evidence,
    )


async def record_dispute_response(
    conn: Connection,
    dispute_id: uuid.UUID,
    *,
    responded_by: uuid.UUID,
    response: str,
    evidence: list[str],
    now: datetime,
) -> None:
    await conn.execute(
        """UPDATE escrow_disputes SET response = $2, response_evidence = $3, responded_by = $4,
               responded_at = $5 WHERE id = $1""",
        dispute_id,
        response,
        evidence,
        responded_by,
        now,
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


async def open_disputes(conn: Connection, limit: int) -> list[Dispute]:
    rows = await conn.fetch(
        f"""SELECT {_DISPUTE_COLUMNS} FROM escrow_disputes WHERE status = 'open'
            ORDER BY created_at LIMIT $1""",
        limit,
    )
    return records(Dispute, rows)


async def escrows_by_id(conn: Connection, escrow_ids: list[uuid.UUID]) -> dict[uuid.UUID, Escrow]:
    rows = await conn.fetch(
        f"SELECT {_ESCROW_COLUMNS} FROM escrows WHERE id = ANY($1::uuid[])", escrow_ids
    )
    return {escrow.id: escrow for escrow in records(Escrow, rows)}


# ---- holdbacks ------------------------------------------------------------------------


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


async def lock_due_holdbacks(conn: Connection, now: datetime) -> list[Holdback]:
    rows = await conn.fetch(
        """SELECT id, escrow_id, mentor_id, amount_minor, currency FROM mentor_holdbacks
           WHERE released_at IS NULL AND release_at <= $1
           ORDER BY release_at LIMIT 500 FOR UPDATE SKIP LOCKED""",
        now,
    )
    return records(Holdback, rows)


async def mark_holdback_released(conn: Connection, holdback_id: uuid.UUID, now: datetime) -> None:
    await conn.execute(
        "UPDATE mentor_holdbacks SET released_at = $2 WHERE id = $1", holdback_id, now
    )


async def unreleased_holdbacks(conn: Connection, mentor_id: uuid.UUID) -> dict[str, int]:
    """What is held back of a mentor's shares and not yet released, by currency."""
    rows = await conn.fetch(
        """SELECT currency, sum(amount_minor)::bigint AS amount_minor FROM mentor_holdbacks
           WHERE mentor_id = $1 AND released_at IS NULL GROUP BY currency""",
        mentor_id,
    )
    return {r["currency"]: int(r["amount_minor"]) for r in rows}
