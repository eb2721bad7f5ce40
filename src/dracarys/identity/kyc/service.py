"""KYC documents: upload (size limit, type from magic bytes, generated file name,
AES-256-GCM at rest with the document id as associated data; one document of a kind open
at a time, a new one only after a rejection), download for the owner and reviewers only,
the reviewer queue with approve/reject and a mail to the user, the KYC level those
decisions and the verified addresses add up to, and the owner's view of it per tier."""

from __future__ import annotations

import uuid

import anyio
import msgspec

from dracarys.crypto import kyc_document_key, seal
from dracarys.db import transaction, xact_lock
from dracarys.errors import Conflict, InvalidInput, NotFound
from dracarys.files import sniff_file_type
from dracarys.identity import store
from dracarys.identity.access import CurrentUser, Role
from dracarys.identity.audit.service import record_audit
from dracarys.identity.kyc import store as kyc_store
from dracarys.identity.kyc.decisions import document_bytes, document_dir, record_decision
from dracarys.identity.kyc.models import (
    KycDocumentRecord,
    KycDocumentSlot,
    KycRequirementProgress,
    KycTierProgress,
    KycTiers,
    MyKyc,
)
from dracarys.identity.kyc.tiers import (
    DOCUMENT_KINDS,
    DOCUMENT_TYPE_NAMES,
    DOCUMENT_TYPES,
    KYC_MAX_LEVEL,
)
from dracarys.identity.kyc.tiers import kyc_tiers as describe_tiers
from dracarys.identity.kyc.vendor import service as vendor
from dracarys.identity.kyc.vendor import store as vendor_store
from dracarys.identity.kyc.vendor.models import DocumentVerifier
from dracarys.identity.models import DocType, KycDocument, KycStatus, UserRecord
from dracarys.platform import Platform


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
        replaces=document.replaces,
    )


def _megabytes(size_bytes: int) -> str:
    return f"{size_bytes / 1_000_000:.1f}".removesuffix(".0") + " MB"


async def upload_document(
    platform: Platform,
    viewer: CurrentUser,
    user_id: uuid.UUID,
    doc_type: str,
    content: bytes,
    source_ip: str | None,
    *,
    verifier: DocumentVerifier | None = None,
    id_type: str | None = None,
) -> KycDocument:
    """Store a document for review. A kind of document is uploaded once, and again only
    after a reviewer rejected the last one (the new one names it in `replaces`): while one
    is pending or approved, another is a 409 naming `doc_type`. With a `verifier`, a
    government ID photo goes to the vendor first (`id_type`: which ID it is, a national
    ID unless said) and reaches the reviewers only if its result is not clear."""
    if viewer.id != user_id:
        # Nobody uploads identity documents for someone else, staff included.
        raise NotFound("no such user")
    if id_type is not None and id_type not in vendor.ID_TYPES:
        raise InvalidInput(
            "Choose which ID this is: a national ID, a passport, a driving licence or an "
            "alien card.",
            field="id_type",
        )
    try:
        kind = DOCUMENT_KINDS[DocType(doc_type)]
    except ValueError:
        raise InvalidInput(
            "Choose which document this is: a government ID or a proof of address.",
            field="doc_type",
        ) from None
    limit = platform.settings.kyc_max_upload_bytes
    if len(content) > limit:
        raise InvalidInput(
            f"This file is {_megabytes(len(content))}, more than the {_megabytes(limit)} "
            "limit. Upload a smaller photo or scan.",
            field="file",
        )
    if not content:
        raise InvalidInput(
            "This file is empty. Choose the photo or scan of your document.", field="file"
        )
    sniffed = sniff_file_type(content)
    if sniffed is None or sniffed.content_type not in DOCUMENT_TYPES:
        raise InvalidInput(
            f"This file is not a {DOCUMENT_TYPE_NAMES} (we read the file itself, not its "
            "name). Upload a photo or scan in one of those formats.",
            field="file",
        )
    content_type = sniffed.content_type
    document_id = uuid.uuid4()
    stored_name = f"{uuid.uuid4().hex}.bin"
    directory = document_dir(platform)
    path = anyio.Path(directory / stored_name)
    now = platform.clock.now()
    try:
        async with transaction(platform.pool) as conn:
            # Two uploads of one kind at once: the second sees the first as pending.
            await xact_lock(conn, "kyc-upload", user_id, kind.doc_type.value)
            current = _current(await kyc_store.kyc_documents_of(conn, user_id, kind.doc_type.value))
            if current is not None and current.status == "pending":
                raise Conflict(
                    f"Your {kind.name} is waiting for a reviewer. You can upload it again "
                    "if it is rejected.",
                    field="doc_type",
                )
            if current is not None and current.status == "approved":
                raise Conflict(f"Your {kind.name} is already approved.", field="doc_type")
            replaces = current  # the rejected one, if any
            sealed = seal(kyc_document_key(platform.settings), content, document_id.bytes)
            await anyio.Path(directory).mkdir(parents=True, exist_ok=True)
            await path.write_bytes(sealed)
            document = await kyc_store.insert_kyc_document(
                conn,
                document_id=document_id,
                user_id=user_id,
                doc_type=kind.doc_type.value,
                content_type=content_type,
                size_bytes=len(content),
                stored_name=stored_name,
                replaces=replaces.id if replaces is not None else None,
                now=now,
            )
            await record_audit(
                conn,
                viewer.id,
                "kyc.document_uploaded",
                f"user:{user_id}",
                source_ip,
                {
                    "document_id": str(document_id),
                    "doc_type": kind.doc_type.value,
                    "replaces": str(replaces.id) if replaces is not None else "",
                },
                at=now,
            )
            if verifier is not None and vendor.goes_to_vendor(document):
                await vendor.queue_check(
                    conn, platform, verifier, document, id_type or vendor.DEFAULT_ID_TYPE, now
                )
    except BaseException:
        await path.unlink(missing_ok=True)
        raise
    return _view(document)


def _current(documents: list[KycDocumentRecord]) -> KycDocumentRecord | None:
    """The upload that decides a kind's state, from its documents oldest first: the
    approved or pending one (there is at most one since uploads wait for a rejection),
    else the last rejection nothing replaced yet."""
    for status in ("approved", "pending"):
        found = next((d for d in reversed(documents) if d.status == status), None)
        if found is not None:
            return found
    replaced = {d.replaces for d in documents}
    heads = [d for d in documents if d.id not in replaced]
    return heads[-1] if heads else (documents[-1] if documents else None)


def _slot(
    doc_type: DocType, documents: list[KycDocumentRecord], checked: set[uuid.UUID]
) -> KycDocumentSlot:
    kind = DOCUMENT_KINDS[doc_type]
    latest = _current(documents)
    if latest is None:
        return KycDocumentSlot(
            doc_type=doc_type.value,
            title=kind.title,
            name=kind.name,
            status="missing",
            may_upload=True,
        )
    rejected = latest.status == "rejected"
    return KycDocumentSlot(
        doc_type=doc_type.value,
        title=kind.title,
        name=kind.name,
        status="rejected" if rejected else "approved" if latest.status == "approved" else "pending",
        may_upload=rejected,
        automatic_check_under_way=latest.status == "pending" and latest.id in checked,
        rejection_reason=latest.reason if rejected else None,
        latest=_view(latest),
        earlier=[_view(d) for d in reversed(documents) if d.id != latest.id],
    )


def _progress(
    platform: Platform,
    user: UserRecord,
    documents: list[KycDocumentRecord],
    checked: set[uuid.UUID],
) -> MyKyc:
    tiers: list[KycTierProgress] = []
    for tier in describe_tiers(platform.settings).tiers:
        requirements: list[KycRequirementProgress] = []
        slots: list[KycDocumentSlot] = []
        for requirement in tier.requirements:
            if requirement.doc_type is not None:
                doc_type = DocType(requirement.doc_type)
                slot = _slot(
                    doc_type, [d for d in documents if d.doc_type == doc_type.value], checked
                )
                slots.append(slot)
                met = slot.status == "approved"
            elif requirement.kind == "email_verified":
                met = user.email_verified_at is not None
            else:
                met = user.phone_verified_at is not None
            requirements.append(
                KycRequirementProgress(
                    kind=requirement.kind,
                    title=requirement.title,
                    met=met,
                    doc_type=requirement.doc_type,
                )
            )
        tiers.append(
            KycTierProgress(
                level=tier.level,
                reached=user.kyc_level >= tier.level,
                requirements=requirements,
                documents=slots,
            )
        )
    return MyKyc(user_id=user.id, kyc_level=user.kyc_level, max_level=KYC_MAX_LEVEL, tiers=tiers)


def kyc_tiers(platform: Platform) -> KycTiers:
    """What each level needs and unlocks, with the limits in force."""
    return describe_tiers(platform.settings)


async def my_kyc(platform: Platform, viewer: CurrentUser) -> MyKyc:
    """The caller's own level, and per tier what is met and each document's state."""
    async with platform.pool.acquire() as conn:
        user = await store.user_by_id(conn, viewer.id)
        if user is None:
            raise NotFound("no such user")
        documents = await kyc_store.kyc_documents_of(conn, viewer.id)
        checks = await vendor_store.checks_of_documents(conn, [d.id for d in documents])
    under_way = {c.document_id for c in checks.values() if c.state in vendor_store.OPEN_STATES}
    return _progress(platform, user, documents, under_way)


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
    return _view(document), await document_bytes(platform, document)


async def pending_documents(platform: Platform, limit: int = 100) -> list[KycDocument]:
    """The reviewers' queue, oldest first: pending documents no vendor is still checking,
    each with the vendor's result when one handed it over."""
    async with platform.pool.acquire() as conn:
        documents = await kyc_store.pending_kyc_documents(conn, limit)
        checks = await vendor_store.checks_of_documents(conn, [d.id for d in documents])
    return [
        msgspec.structs.replace(
            _view(d), vendor_check=vendor.check_view(checks[d.id]) if d.id in checks else None
        )
        for d in documents
    ]


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
        await record_decision(
            conn,
            platform,
            document,
            approve=approve,
            reason=reason,
            reviewer_id=reviewer.id,
            source_ip=source_ip,
            now=now,
        )
        updated = await kyc_store.kyc_document(conn, document_id)
        assert updated is not None
    return _view(updated)
