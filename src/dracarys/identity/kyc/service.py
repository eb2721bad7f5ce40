"""KYC documents: upload (size limit, type from magic bytes, generated file name,
AES-256-GCM at rest with the document id as associated data), download for the owner and
reviewers only, the reviewer queue with approve/reject and a mail to the user, and the
KYC level those decisions and the verified addresses add up to."""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path

import anyio

from dracarys.crypto import kyc_document_key, seal, unseal
from dracarys.db import Connection, transaction
from dracarys.errors import Conflict, InvalidInput, NotFound
from dracarys.files import sniff_file_type
from dracarys.identity import events, store
from dracarys.identity.access import CurrentUser, Role
from dracarys.identity.audit.service import record_audit
from dracarys.identity.kyc import store as kyc_store
from dracarys.identity.kyc.models import KycDocumentRecord
from dracarys.identity.mail import KYC_APPROVED, KYC_REJECTED
from dracarys.identity.models import DocType, KycDocument, KycStatus
from dracarys.identity.personal import personal_data_cipher
from dracarys.messaging import queue_email
from dracarys.outbox import emit
from dracarys.platform import Platform

DOCUMENT_NAMES = {
    DocType.GOVERNMENT_ID.value: "government ID",
    DocType.PROOF_OF_ADDRESS.value: "proof of address",
}


# Documents KYC accepts.
DOCUMENT_TYPES = frozenset({"image/jpeg", "image/png", "application/pdf"})


def _document_dir(platform: Platform) -> Path:
    return platform.settings.data_path / "kyc"


def _view(document: KycDocumentRecord) -> KycDocument:
    return KycDocument(
        id=document.id,
        user_id=document.user_id,
        doc_type=document.doc_type,
        status=document.status,
        content_type=document.content_type,
        size_bytes=document.size_bytes,
        uploaded_at=document.uploaded_at,
        reviewed_at=document.reviewed_at,
        reason=document.reason,
    )


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
        await emit(conn, events.KYC_APPROVED, {"user_id": str(user_id), "level": level})
        return level
    return user.kyc_level


async def upload_document(
    platform: Platform,
    viewer: CurrentUser,
    user_id: uuid.UUID,
    doc_type: str,
    content: bytes,
    source_ip: str | None,
) -> KycDocument:
    if viewer.id != user_id:
        # Nobody uploads identity documents for someone else, staff included.
        raise NotFound("no such user")
    try:
        kind = DocType(doc_type)
    except ValueError:
        raise InvalidInput(
            "doc_type is government_id or proof_of_address", field="doc_type"
        ) from None
    limit = platform.settings.kyc_max_upload_bytes
    if len(content) > limit:
        raise InvalidInput(f"the file is larger than {limit} bytes", field="file")
    if not content:
        raise InvalidInput("the file is empty", field="file")
    sniffed = sniff_file_type(content)
    if sniffed is None or sniffed.content_type not in DOCUMENT_TYPES:
        raise InvalidInput("upload a JPEG, PNG or PDF file", field="file")
    content_type = sniffed.content_type
    document_id = uuid.uuid4()
    stored_name = f"{uuid.uuid4().hex}.bin"
    sealed = seal(kyc_document_key(platform.settings), content, document_id.bytes)
    directory = _document_dir(platform)
    await anyio.Path(directory).mkdir(parents=True, exist_ok=True)
    path = anyio.Path(directory / stored_name)
    await path.write_bytes(sealed)
    now = platform.clock.now()
    try:
        async with transaction(platform.pool) as conn:
            document = await kyc_store.insert_kyc_document(
                conn,
                document_id=document_id,
                user_id=user_id,
                doc_type=kind.value,
                content_type=content_type,
                size_bytes=len(content),
                stored_name=stored_name,
                now=now,
            )
            await record_audit(
                conn,
                viewer.id,
                "kyc.document_uploaded",
                f"user:{user_id}",
                source_ip,
                {"document_id": str(document_id), "doc_type": kind.value},
                at=now,
            )
    except BaseException:
        await path.unlink(missing_ok=True)
        raise
    return _view(document)


async def kyc_status(platform: Platform, viewer: CurrentUser, user_id: uuid.UUID) -> KycStatus:
    if viewer.id != user_id and viewer.role not in (Role.REVIEWER, Role.ADMIN):
        raise NotFound("no such user")
    async with platform.pool.acquire() as conn:
        user = await store.user_by_id(conn, user_id)
        if user is None:
            raise NotFound("no such user")
        documents = await kyc_store.kyc_documents_of(conn, user_id)
    return KycStatus(
        user_id=user_id, kyc_level=user.kyc_level, documents=[_view(d) for d in documents]
    )


async def read_document(
    platform: Platform, viewer: CurrentUser, document_id: uuid.UUID
) -> tuple[KycDocument, bytes]:
    """The decrypted file, for its owner and for reviewers/admins; anyone else gets the
    same 404 as for a document that does not exist."""
    async with platform.pool.acquire() as conn:
        document = await kyc_store.kyc_document(conn, document_id)
    allowed = document is not None and (
        document.user_id == viewer.id or viewer.role in (Role.REVIEWER, Role.ADMIN)
    )
    if document is None or not allowed:
        raise NotFound("no such document")
    sealed = await anyio.Path(_document_dir(platform) / document.stored_name).read_bytes()
    content = unseal(kyc_document_key(platform.settings), sealed, document_id.bytes)
    return _view(document), content


async def pending_documents(platform: Platform, limit: int = 100) -> list[KycDocument]:
    async with platform.pool.acquire() as conn:
        return [_view(d) for d in await kyc_store.pending_kyc_documents(conn, limit)]


async def decide_document(
    platform: Platform,
    reviewer: CurrentUser,
    document_id: uuid.UUID,
    *,
    approve: bool,
    reason: str | None,
    source_ip: str | None,
) -> KycDocument:
    if not approve and not reason:
        raise InvalidInput("say why the document is rejected", field="reason")
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        document = await kyc_store.kyc_document(conn, document_id, lock=True)
        if document is None:
            raise NotFound("no such document")
        if document.status != "pending":
            raise Conflict(f"this document was already {document.status}")
        if document.user_id == reviewer.id:
            raise Conflict("you cannot review your own document")
        user_id = document.user_id
        status = "approved" if approve else "rejected"
        await kyc_store.decide_kyc_document(
            conn, document_id, status=status, reviewer_id=reviewer.id, reason=reason, now=now
        )
        level = await recompute_kyc_level(conn, user_id, now)
        user = await store.user_by_id(conn, user_id)
        assert user is not None
        contact = personal_data_cipher(platform.settings).open_contact(user)
        document_name = DOCUMENT_NAMES[document.doc_type]
        if approve:
            template = KYC_APPROVED
            context = {"name": contact.name, "document": document_name, "level": level}
        else:
            template = KYC_REJECTED
            context = {"name": contact.name, "document": document_name, "reason": reason}
            await emit(
                conn,
                events.KYC_REJECTED,
                {
                    "user_id": str(user_id),
                    "document_id": str(document_id),
                    "doc_type": document.doc_type,
                    "reason": reason,
                },
            )
        await queue_email(
            conn,
            platform.settings,
            to=contact.email,
            template=template,
            context=context,
            now=now,
            user_id=user_id,
        )
        await record_audit(
            conn,
            reviewer.id,
            f"kyc.{status}",
            f"user:{user_id}",
            source_ip,
            {
                "document_id": str(document_id),
                "doc_type": document.doc_type,
                "reason": reason or "",
                "level": level,
            },
            at=now,
        )
        updated = await kyc_store.kyc_document(conn, document_id)
        assert updated is not None
    return _view(updated)
