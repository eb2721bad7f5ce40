"""Records of verification links and SMS codes."""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec


class EmailToken(msgspec.Struct, frozen=True, kw_only=True):
    """A verification link: whose, for which address (its blind index), until when, and
    whether it was used."""

    user_id: uuid.UUID
    email_index: bytes | None
    expires_at: datetime
    used_at: datetime | None


class PhoneCodesSent(msgspec.Struct, frozen=True, kw_only=True):
    sent: int
    latest_expiry: datetime | None


class OpenPhoneCode(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    phone_index: bytes | None
    code_hash: bytes
    attempts: int
