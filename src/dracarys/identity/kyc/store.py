"""SQL of KYC documents (the files themselves are sealed on disk, not here)."""

from __future__ import annotations

import uuid
from datetime import datetime

from dracarys.db import Connection, record, record_or_none, records
from dracarys.identity.kyc.models import KycDocumentRecord


async def insert_kyc_document(
    conn: Connection,
    *,
    document_id: uuid.UUID,
    user_id: uuid.UUID,
    doc_type: str,
    content_type: str,
    size_bytes: int,
    stored_name: str,
    replaces: uuid.UUID | None,
    now: datetime,
) -> KycDocumentRecord:
    row = await conn.fetchrow(
        """INSERT INTO kyc_documents (id, user_id, doc_type, content_type, size_bytes,
                                      stored_name, replaces, uploaded_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *""",
        document_id,
        user_id,
        doc_type,
        content_type,
        size_bytes,
        stored_name,
        replaces,
        now,
    )
    assert row is not None
    return record(KycDocumentRecord, row)


async def kyc_document(
    conn: Connection, document_id: uuid.UUID, *, lock: bool = False
) -> KycDocumentRecord | None:
    sql = "SELECT * FROM kyc_documents WHERE id = $1" + (" FOR UPDATE" if lock else "")
    return record_or_none(KycDocumentRecord, await conn.fetchrow(sql, document_id))


async def kyc_documents_of(
    conn: Connection, user_id: uuid.UUID, doc_type: str | None = None
) -> list[KycDocumentRecord]:
    """A user's documents (of one type, when given), oldest first."""
    rows = await conn.fetch(
        """SELECT * FROM kyc_documents WHERE user_id = $1 AND ($2::text IS NULL OR doc_type = $2)
           ORDER BY uploaded_at, id""",
        user_id,
        doc_type,
    )
    return records(KycDocumentRecord, rows)


async def pending_kyc_documents(conn: Connection, limit: int) -> list[KycDocumentRecord]:
    """Pending documents for reviewers: none a verification vendor is still checking."""
    rows = await conn.fetch(
        """SELECT * FROM kyc_documents d
           WHERE status = 'pending'
             AND NOT EXISTS (SELECT 1 FROM kyc_vendor_checks c
                             WHERE c.document_id = d.id AND c.state IN ('queued', 'submitted'))
           ORDER BY uploaded_at, id LIMIT $1""",
        limit,
    )
    return records(KycDocumentRecord, rows)


async def decide_kyc_document(
    conn: Connection,
    document_id: uuid.UUID,
    *,
    status: str,
    reviewer_id: uuid.UUID | None,
    reason: str | None,
    now: datetime,
) -> None:
    await conn.execute(
        """UPDATE kyc_documents SET status = $2, reviewed_by = $3, reviewed_at = $4, reason = $5
           WHERE id = $1""",
        document_id,
        status,
        reviewer_id,
        now,
        reason,
    )


async def approved_doc_types(conn: Connection, user_id: uuid.UUID) -> set[str]:
    rows = await conn.fetch(
        "SELECT DISTINCT doc_type FROM kyc_documents WHERE user_id = $1 AND status = 'approved'",
        user_id,
    )
    return {r["doc_type"] for r in rows}
