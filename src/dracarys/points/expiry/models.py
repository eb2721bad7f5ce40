"""Records of expiry and tier refreshes."""

from __future__ import annotations

import uuid

import msgspec


class TierMove(msgspec.Struct, frozen=True, kw_only=True):
    """A user whose stored tier (`previous`) is not the one their window earns (`tier`)."""

    user_id: uuid.UUID
    previous: str
    tier: str


class CreditsAndDebits(msgspec.Struct, frozen=True, kw_only=True):
    """A user's credits earned at or before a cutoff, and every debit ever, positive."""

    old_credits: int
    spent: int
