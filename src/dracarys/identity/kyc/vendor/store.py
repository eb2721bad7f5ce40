"""SQL of the vendor checks of KYC documents (`kyc_vendor_checks`)."""

from __future__ import annotations

import uuid
from datetime import datetime

from dracarys.db import Connection, record_or_none, records
from dracarys.identity.kyc.vendor.models import VendorCheckRecord

OPEN_STATES = ("queued", "submitted")


async def insert_check(
    conn: Connection,
    *,
    document_id: uuid.UUID,
    user_id: uuid.UUID,
    vendor: str,
    job_id: str,
    id_type: str,
    country: str,
    now: datetime,
) -> None:
    await conn.execute(
        """INSERT INTO kyc_vendor_checks (document_id, user_id, vendor, job_id, id_type,
                                          country, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7)""",
        document_id,
        user_id,
        vendor,
        job_id,
        id_type,
        country,
        now,
    )


async def check_of_document(conn: Connection, document_id: uuid.UUID) -> VendorCheckRecord | None:
    row = await conn.fetchrow("SELECT * FROM kyc_vendor_checks WHERE document_id = $1", document_id)
    return record_or_none(VendorCheckRecord, row)


async def check_by_job(
    conn: Connection, job_id: str, *, lock: bool = False
) -> VendorCheckRecord | None:
    sql = "SELECT * FROM kyc_vendor_checks WHERE job_id = $1" + (" FOR UPDATE" if lock else "")
    return record_or_none(VendorCheckRecord, await conn.fetchrow(sql, job_id))


async def checks_of_documents(
    conn: Connection, document_ids: list[uuid.UUID]
) -> dict[uuid.UUID, VendorCheckRecord]:
    rows = await conn.fetch(
        "SELECT * FROM kyc_vendor_checks WHERE document_id = ANY($1::uuid[])", document_ids
    )
    return {c.document_id: c for c in records(VendorCheckRecord, rows)}


async def open_checks_created_before(
    conn: Connection, before: datetime, limit: int
) -> list[VendorCheckRecord]:
    rows = await conn.fetch(
        """SELECT * FROM kyc_vendor_checks
           WHERE state IN ('queued', 'submitted') AND created_at <= $1
           ORDER BY created_at LIMIT $2""",
        before,
        limit,
    )
    return records(VendorCheckRecord, rows)


async def mark_submitted(
    conn: Connection, document_id: uuid.UUID, vendor_job_id: str, now: datetime
) -> None:
    """Only a queued check: a callback may have closed it before the submission returned."""
    await conn.execute(
        """UPDATE kyc_vendor_checks
           SET state = 'submitted', vendor_job_id = $2, submitted_at = $3,
               attempts = attempts + 1
           WHERE document_id = $1 AND state = 'queued'""",
        document_id,
        vendor_job_id,
        now,
    )


async def count_failed_attempt(conn: Connection, document_id: uuid.UUID) -> None:
    await conn.execute(
        "UPDATE kyc_vendor_checks SET attempts = attempts + 1 WHERE document_id = $1",
        document_id,
    )


async def close_check(
    conn: Connection,
    document_id: uuid.UUID,
    *,
    state: str,
    verdict: str | None,
    result_code: str | None,
    result_text: str | None,
    vendor_job_id: str | None,
    referral: str | None,
    now: datetime,
) -> None:
    await conn.execute(
        """UPDATE kyc_vendor_checks
           SET state = $2, verdict = $3, result_code = $4, result_text = $5,
               vendor_job_id = coalesce($6, vendor_job_id), referral = $7, resulted_at = $8
           WHERE document_id = $1""",
        document_id,
        state,
        verdict,
        result_code,
        result_text,
        vendor_job_id,
        referral,
        now,
    )
