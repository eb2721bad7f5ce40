"""Records of profiles: a user as their profile page shows them, and the profile row."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec

from dracarys.identity.models import Role, SealedContactRecord


class ProfileRecord(msgspec.Struct, frozen=True, kw_only=True):
    user_id: uuid.UUID
    headline: str
    bio: str
    specialties: list[str]
    social_links: dict[str, Any]
    timezone: str | None
    experience_level: str | None
    trading_style: str | None
    country: str | None
    language: str
    completed_at: datetime | None


class UserViewRecord(SealedContactRecord, frozen=True, kw_only=True):
    """The users row with its profile and mentor profile (None where the user has none)."""

    role: Role
    kyc_level: int
    status: str
    email_verified_at: datetime | None
    phone_verified_at: datetime | None
    totp_enabled_at: datetime | None
    reputation_score: int
    created_at: datetime
    headline: str | None
    bio: str | None
    specialties: list[str] | None
    social_links: dict[str, str] | None
    timezone: str | None
    experience_level: str | None
    trading_style: str | None
    address_sealed: bytes | None
    country: str | None
    # None without a profile row.
    language: str | None
    endorsement_count: int
    mentor_user_id: uuid.UUID | None
    mentor_specialties: list[str] | None
    hourly_rate_minor: int | None
    currency: str | None
    verified: bool | None
    on_probation: bool | None
    rating_count: int | None
    rating_sum: int | None
    total_sessions: int | None
