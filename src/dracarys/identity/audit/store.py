"""SQL of the audit log: an append-only, hash-chained table (the database refuses
UPDATE, DELETE and TRUNCATE on it)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from dracarys.db import Connection, record, record_or_none, records, xact_lock
from dracarys.identity.audit.models import AuditHead, AuditRecord


async def lock_audit_chain(conn: Connection) -> None:
    """Appends take turns, so the chain's order is the commit order."""
    await xact_lock(conn, "audit-chain")


async def audit_head(conn: Connection) -> AuditHead | None:
    row = await conn.fetchrow("SELECT position, hash FROM audit_log ORDER BY position DESC LIMIT 1")
    return record_or_none(AuditHead, row)


async def database_now(conn: Connection) -> datetime:
    now: datetime = await conn.fetchval("SELECT clock_timestamp()")
    return now


async def insert_audit_row(
    conn: Connection,
    *,
    position: int,
    entry_id: uuid.UUID,
    occurred_at: datetime,
    actor_id: uuid.UUID | None,
    action: str,
    target: str,
    source_ip: str | None,
    details: dict[str, Any],
    prev_hash: bytes,
    entry_hash: bytes,
) -> None:
    await conn.execute(
        """INSERT INTO audit_log (position, id, occurred_at, actor_id, action, target,
                                  source_ip, details, prev_hash, hash)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)""",
        position,
        entry_id,
        occurred_at,
        actor_id,
        action,
        target,
        source_ip,
        details,
        prev_hash,
        entry_hash,
    )


async def audit_rows(conn: Connection) -> AsyncIterator[AuditRecord]:
    """In chain order; needs a transaction (server-side cursor)."""
    async for row in conn.cursor("SELECT * FROM audit_log ORDER BY position"):
        yield record(AuditRecord, row)


async def audit_rows_for(conn: Connection, target: str, limit: int) -> list[AuditRecord]:
    rows = await conn.fetch(
        "SELECT * FROM audit_log WHERE target = $1 ORDER BY position DESC LIMIT $2",
        target,
        limit,
    )
    return records(AuditRecord, rows)


async def audit_rows_about_user(
    conn: Connection, user_id: uuid.UUID, limit: int
) -> list[AuditRecord]:
    """Rows where the user acted or was acted on, newest first."""
    rows = await conn.fetch(
        """SELECT * FROM audit_log WHERE target = $1 OR actor_id = $2
           ORDER BY position DESC LIMIT $3""",
        f"user:{user_id}",
        user_id,
        limit,
    )
    return records(AuditRecord, rows)
