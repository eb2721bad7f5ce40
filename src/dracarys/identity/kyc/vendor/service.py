"""Vendor checks of KYC documents: a government ID photo is queued for the vendor in its
upload's transaction and sent once that commits; the vendor's signed result (a callback,
or the status query of the reconciliation) decides the document when it is clear, and
hands it to the reviewers when it is not. A result counts once: a check closes with its
first result, and a repeated callback finds it closed."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import structlog

from dracarys.db import Connection, after_commit, transaction
from dracarys.errors import NotFound, ServiceUnavailable
from dracarys.identity.audit.service import record_audit
from dracarys.identity.kyc import store as kyc_store
from dracarys.identity.kyc.decisions import document_bytes, record_decision
from dracarys.identity.kyc.models import KycDocumentRecord
from dracarys.identity.kyc.vendor import store
from dracarys.identity.kyc.vendor.models import (
    DocumentVerifier,
    VendorCheckRecord,
    VendorResult,
    VerificationJob,
)
from dracarys.identity.kyc.vendor.smile_id import configured_verifier
from dracarys.identity.models import DocType, KycVendorCheck
from dracarys.platform import Platform

log = structlog.get_logger("dracarys.kyc.vendor")

# Smile ID's id_type names of the Kenyan documents its document verification reads.
ID_TYPES = ("NATIONAL_ID", "PASSPORT", "DRIVERS_LICENSE", "ALIEN_CARD")
DEFAULT_ID_TYPE = "NATIONAL_ID"
# The vendor reads photos; a PDF scan stays with the reviewers.
VENDOR_CONTENT_TYPES = ("image/jpeg", "image/png")
VENDOR_NAMES = {"smile_id": "Smile ID"}
RECONCILE_BATCH = 100


def _vendor_name(vendor: str) -> str:
    return VENDOR_NAMES.get(vendor, vendor)


def goes_to_vendor(document: KycDocumentRecord) -> bool:
    return (
        document.doc_type == DocType.GOVERNMENT_ID.value
        and document.content_type in VENDOR_CONTENT_TYPES
    )


async def queue_check(
    conn: Connection,
    platform: Platform,
    verifier: DocumentVerifier,
    document: KycDocumentRecord,
    id_type: str,
    now: datetime,
) -> None:
    """In the upload's transaction: the check is recorded with the document (a crash after
    the commit leaves it queued for the reconciliation), and sent once that commits."""
    await store.insert_check(
        conn,
        document_id=document.id,
        user_id=document.user_id,
        vendor=verifier.name,
        job_id=str(uuid.uuid4()),
        id_type=id_type,
        country=platform.settings.smile_id_country,
        now=now,
    )

    async def send() -> None:
        await submit_check(platform, verifier, document.id)

    after_commit(conn, send)


async def submit_check(
    platform: Platform, verifier: DocumentVerifier, document_id: uuid.UUID
) -> bool:
    """Send a queued check's job to the vendor; False when the vendor could not take it
    (the reconciliation tries again until the deadline)."""
    async with platform.pool.acquire() as conn:
        check = await store.check_of_document(conn, document_id)
        document = await kyc_store.kyc_document(conn, document_id)
    if check is None or document is None or check.state != "queued":
        return False
    job = VerificationJob(
        job_id=check.job_id,
        user_id=str(check.user_id),
        country=check.country,
        id_type=check.id_type,
        image=await document_bytes(platform, document),
        content_type=document.content_type,
    )
    try:
        vendor_job_id = await verifier.submit(job)
    except ServiceUnavailable as exc:
        log.warning("kyc_vendor_submit_failed", job_id=check.job_id, error=str(exc))
        async with transaction(platform.pool) as conn:
            await store.count_failed_attempt(conn, document_id)
        return False
    async with transaction(platform.pool) as conn:
        await store.mark_submitted(conn, document_id, vendor_job_id, platform.clock.now())
    return True


async def receive_callback(platform: Platform, body: bytes) -> bool:
    """A vendor's callback: refused (401) unless signed with our key and recent; True when
    it decided or referred the document, False when its job was already closed."""
    verifier = configured_verifier(platform.settings)
    if verifier is None:
        raise NotFound("KYC checks by a vendor are not configured here")
    now = platform.clock.now()
    result = verifier.read_callback(body, now)
    return await apply_result(platform, verifier.name, result, now)


def _rejection_reason(vendor: str, result: VendorResult) -> str:
    said = result.result_text or f"result {result.result_code}"
    return (
        f"The automatic identity check by {_vendor_name(vendor)} could not accept this "
        f"document ({said}). Upload a clear photo of a valid document, every corner visible."
    )


async def apply_result(
    platform: Platform, vendor: str, result: VendorResult, now: datetime
) -> bool:
    """Close the job's check with `result`: a clear verdict decides the document as a
    reviewer would (actor: the vendor), an unclear one hands it to the reviewers."""
    async with transaction(platform.pool) as conn:
        check = await store.check_by_job(conn, result.job_id, lock=True)
        if check is None or check.vendor != vendor:
            raise NotFound("no such verification job", field="job_id")
        if check.state not in store.OPEN_STATES:
            return False
        document = await kyc_store.kyc_document(conn, check.document_id, lock=True)
        assert document is not None
        referral: str | None = None
        if document.status != "pending":
            referral = "A reviewer decided the document before the vendor's result came."
        elif result.verdict == "unclear":
            referral = (
                f"{_vendor_name(vendor)} could not decide: "
                f"{result.result_text or 'no reason given'} (code {result.result_code})."
            )
        await store.close_check(
            conn,
            check.document_id,
            state="referred" if referral else "decided",
            verdict=result.verdict,
            result_code=result.result_code,
            result_text=result.result_text,
            vendor_job_id=result.vendor_job_id,
            referral=referral,
            now=now,
        )
        if referral is None:
            approve = result.verdict == "verified"
            await record_decision(
                conn,
                platform,
                document,
                approve=approve,
                reason=None if approve else _rejection_reason(vendor, result),
                reviewer_id=None,
                source_ip=None,
                now=now,
                decided_by=f"vendor:{vendor}",
            )
        elif document.status == "pending":
            await _audit_referral(conn, check, referral, now, result.result_code)
    return True


async def _audit_referral(
    conn: Connection,
    check: VendorCheckRecord,
    referral: str,
    now: datetime,
    result_code: str | None,
) -> None:
    await record_audit(
        conn,
        None,
        "kyc.referred_to_reviewers",
        f"user:{check.user_id}",
        None,
        {
            "document_id": str(check.document_id),
            "decided_by": f"vendor:{check.vendor}",
            "result_code": result_code or "",
            "reason": referral,
        },
        at=now,
    )


async def _refer(platform: Platform, check: VendorCheckRecord, referral: str) -> None:
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        current = await store.check_by_job(conn, check.job_id, lock=True)
        if current is None or current.state not in store.OPEN_STATES:
            return
        await store.close_check(
            conn,
            check.document_id,
            state="referred",
            verdict=None,
            result_code=None,
            result_text=None,
            vendor_job_id=None,
            referral=referral,
            now=now,
        )
        await _audit_referral(conn, check, referral, now, None)


async def reconcile_checks(platform: Platform, verifier: DocumentVerifier) -> list[str]:
    """Checks with no result after `smile_id_status_query_after_s`: a queued one is sent
    again, a submitted one's status is asked for; past `smile_id_result_deadline_s`
    without a result, the reviewers get the document. Returns the jobs it closed."""
    settings = platform.settings
    now = platform.clock.now()
    deadline = timedelta(seconds=settings.smile_id_result_deadline_s)
    async with platform.pool.acquire() as conn:
        checks = await store.open_checks_created_before(
            conn, now - timedelta(seconds=settings.smile_id_status_query_after_s), RECONCILE_BATCH
        )
    closed: list[str] = []
    name = _vendor_name(verifier.name)
    for check in checks:
        late = now - check.created_at > deadline
        if check.state == "queued":
            if late:
                await _refer(platform, check, f"{name} could not be reached to check it in time.")
                closed.append(check.job_id)
            else:
                await submit_check(platform, verifier, check.document_id)
            continue
        try:
            result = await verifier.job_status(job_id=check.job_id, user_id=str(check.user_id))
        except ServiceUnavailable as exc:
            log.warning("kyc_vendor_status_failed", job_id=check.job_id, error=str(exc))
            result = None
        if result is not None:
            if await apply_result(platform, verifier.name, result, platform.clock.now()):
                closed.append(check.job_id)
        elif late:
            hours = settings.smile_id_result_deadline_s // 3600
            await _refer(platform, check, f"{name} gave no result within {hours} hours.")
            closed.append(check.job_id)
    return closed


async def reconcile_vendor_checks(platform: Platform) -> list[str]:
    """The scheduled job: nothing to do unless a vendor is configured."""
    verifier = configured_verifier(platform.settings)
    if verifier is None:
        return []
    return await reconcile_checks(platform, verifier)


def check_view(check: VendorCheckRecord) -> KycVendorCheck:
    return KycVendorCheck(
        vendor=_vendor_name(check.vendor),
        state=check.state,  # type: ignore[arg-type]
        verdict=check.verdict,  # type: ignore[arg-type]
        result_code=check.result_code,
        result_text=check.result_text,
        referral=check.referral,
        resulted_at=check.resulted_at,
    )
