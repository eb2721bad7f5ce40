"""Records of password reset links (kept hashed)."""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec


class ResetToken(msgspec.Struct, frozen=True, kw_only=True):
    """A reset link: whose, for which address (its blind index), until when, and whether
    it was used."""

    user_id: uuid.UUID
    email_index: bytes
    expires_at: datetime
    used_at: datetime | None
