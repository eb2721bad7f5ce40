"""What deciding a KYC document does, whoever decides it (a reviewer, or the verification
vendor's clear result): its new status, the level it may raise (with `kyc.approved`), the
mail to the member in their language, `kyc.rejected` on a rejection, and the hash-chained
audit entry naming the decider. Also the document's bytes, for the reviewer's viewer and
the vendor's job. The caller holds the transaction and the document's row lock."""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path

import anyio

from dracarys.crypto import kyc_document_key, unseal
from dracarys.db import Connection
from dracarys.identity import events, store
from dracarys.identity.accounts import language_of
from dracarys.identity.audit.service import record_audit
from dracarys.identity.kyc import store as kyc_store
from dracarys.identity.kyc.models import KycDocumentRecord
from dracarys.identity.kyc.tiers import document_name
from dracarys.identity.mail import KYC_APPROVED, KYC_REJECTED, in_language
from dracarys.identity.models import DocType
from dracarys.identity.personal import personal_data_cipher
from dracarys.messaging import queue_email
from dracarys.outbox import emit_event
from dracarys.platform import Platform


def document_dir(platform: Platform) -> Path:
    return platform.settings.data_path / "kyc"


async def document_bytes(platform: Platform, document: KycDocumentRecord) -> bytes:
    sealed = await anyio.Path(document_dir(platform) / document.stored_name).read_bytes()
    return unseal(kyc_document_key(platform.settings), sealed, document.id.bytes)


async def recompute_kyc_level(conn: Connection, user_id: uuid.UUID, now: datetime) -> int:
    """Level 1: e-mail and phone verified; 2: plus government ID approved; 3: plus proof
    of address approved. Only ever raises the level (admins lower it by override)."""
    user = await store.user_by_id(conn, user_id, lock=True)
    assert user is not None
    approved = await kyc_store.approved_doc_types(conn, user_id)
    level = 0
    if user.email_verified_at is not None and user.phone_verified_at is not None:
        level = 1
        if DocType.GOVERNMENT_ID.value in approved:
            level = 2
            if DocType.PROOF_OF_ADDRESS.value in approved:
                level = 3
    if level > user.kyc_level:
        await store.set_kyc_level(conn, user_id, level, now)
        await emit_event(conn, events.KycApproved(user_id=user_id, level=level))
        return level
    return user.kyc_level


async def record_decision(
    conn: Connection,
    platform: Platform,
    document: KycDocumentRecord,
    *,
    approve: bool,
    reason: str | None,
    reviewer_id: uuid.UUID | None,
    source_ip: str | None,
    now: datetime,
    decided_by: str | None = None,
) -> None:
    """Decide a pending `document` (locked by the caller). `reviewer_id` is the staff
    member who decided, or None when a vendor did: `decided_by` then names it
    ("vendor:smile_id") in the audit entry, whose actor is empty."""
    user_id = document.user_id
    status = "approved" if approve else "rejected"
    await kyc_store.decide_kyc_document(
        conn, document.id, status=status, reviewer_id=reviewer_id, reason=reason, now=now
    )
    level = await recompute_kyc_level(conn, user_id, now)
    user = await store.user_by_id(conn, user_id)
    assert user is not None
    contact = personal_data_cipher(platform.settings).open_contact(user)
    language = await language_of(conn, user_id)
    named = document_name(document.doc_type, language)
    if approve:
        template = KYC_APPROVED
        context = {"name": contact.name, "document": named, "level": level}
    else:
        template = KYC_REJECTED
        context = {
            "name": contact.name,
            "document": named,
            "reason": reason,
            "link": f"{platform.settings.public_url}/kyc",
        }
        await emit_event(
            conn,
            events.KycRejected(
                user_id=user_id,
                document_id=document.id,
                doc_type=document.doc_type,
                reason=reason,
            ),
        )
    await queue_email(
        conn,
        platform.settings,
        to=contact.email,
        template=in_language(template, language),
        context=context,
        now=now,
        user_id=user_id,
    )
    details: dict[str, object] = {
        "document_id": str(document.id),
        "doc_type": document.doc_type,
        "reason": reason or "",
        "level": level,
    }
    if decided_by is not None:
        details["decided_by"] = decided_by
    await record_audit(
        conn, reviewer_id, f"kyc.{status}", f"user:{user_id}", source_ip, details, at=now
    )
