"""Records of KYC documents."""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec


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
