"""Records of the audit log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec


class AuditHead(msgspec.Struct, frozen=True, kw_only=True):
    position: int
    hash: bytes


class AuditRecord(msgspec.Struct, frozen=True, kw_only=True):
    position: int
    id: uuid.UUID
    occurred_at: datetime
    actor_id: uuid.UUID | None
    action: str
    target: str
    source_ip: str | None
    details: dict[str, Any]
    prev_hash: bytes
    hash: bytes
