"""Records of KYC documents, and the API bodies of the tiers and of a user's progress
through them (the document itself is `identity.models.KycDocument`)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

import msgspec

from dracarys.identity.models import KycDocument
from dracarys.wire import Schema


class KycDocumentRecord(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    user_id: uuid.UUID
    doc_type: str
    status: str
    content_type: str
    size_bytes: int
    stored_name: str
    uploaded_at: datetime
    reviewed_by: uuid.UUID | None
    reviewed_at: datetime | None
    reason: str | None
    replaces: uuid.UUID | None


# ---- the tiers ------------------------------------------------------------------------

RequirementKind = Literal["email_verified", "phone_verified", "document"]


class KycRequirement(Schema):
    """One thing a level needs: a verified contact detail, or an approved document
    (`doc_type`, with a `hint` on what to upload)."""

    kind: RequirementKind
    title: str
    doc_type: str | None = None
    hint: str | None = None


class KycLimit(Schema):
    """An amount an unlocked action is bounded by: `daily_withdrawal` (at most this much a
    day) or `authenticator_code_from` (from this amount on, a fresh authenticator code)."""

    kind: Literal["daily_withdrawal", "authenticator_code_from"]
    currency: str
    amount_minor: int


class KycUnlock(Schema):
    """What a level opens. `capability` is stable for programs; `title` and `detail`
    are for people."""

    capability: str
    title: str
    detail: str
    limits: list[KycLimit] = msgspec.field(default_factory=list)
    hold_days: int | None = None


class KycTier(Schema):
    """Level `level` needs the level below it plus `requirements`."""

    level: int
    title: str
    summary: str
    requirements: list[KycRequirement]
    unlocks: list[KycUnlock]


class KycDocumentRules(Schema):
    """What an upload may be; the server tells the type from the file's bytes."""

    accepted_types: list[str]
    accepted_type_names: str
    max_upload_bytes: int


class KycTiers(Schema):
    max_level: int
    tiers: list[KycTier]
    documents: KycDocumentRules


# ---- a user's progress ----------------------------------------------------------------

SlotStatus = Literal["missing", "pending", "approved", "rejected"]


class KycRequirementProgress(Schema):
    kind: RequirementKind
    title: str
    met: bool
    doc_type: str | None = None


class KycDocumentSlot(Schema):
    """One kind of document for one user: its latest upload decides `status` (`missing`
    before the first); `may_upload` is true while nothing is pending or approved, i.e.
    before the first upload and after a rejection. `rejection_reason` is the reviewer's,
    when the latest upload was rejected; `earlier` lists the uploads before it, newest
    first. `automatic_check_under_way`: the pending upload is with the verification
    vendor, whose result may decide it before any reviewer looks."""

    doc_type: str
    title: str
    name: str  # inside a sentence: "upload your government ID"
    status: SlotStatus
    may_upload: bool
    automatic_check_under_way: bool = False
    rejection_reason: str | None = None
    latest: KycDocument | None = None
    earlier: list[KycDocument] = msgspec.field(default_factory=list)


class KycTierProgress(Schema):
    level: int
    reached: bool
    requirements: list[KycRequirementProgress]
    documents: list[KycDocumentSlot]


class MyKyc(Schema):
    """The caller's KYC level and, per tier, what is done and each document's state."""

    user_id: uuid.UUID
    kyc_level: int
    max_level: int
    tiers: list[KycTierProgress]
