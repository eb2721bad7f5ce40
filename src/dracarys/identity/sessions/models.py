"""Records of login sessions, refresh tokens and OpenID Connect sign-ins in flight."""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec

from dracarys.identity.models import Role


class SessionRecord(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    user_id: uuid.UUID
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    two_factor_at: datetime | None


class RefreshTokenRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A refresh token with its session and the session's user."""

    id: uuid.UUID
    session_id: uuid.UUID
    expires_at: datetime
    used_at: datetime | None
    revoked_at: datetime | None
    user_id: uuid.UUID
    two_factor_at: datetime | None
    session_expires_at: datetime | None
    role: Role
    status: str


class OidcStateRecord(msgspec.Struct, frozen=True, kw_only=True):
    """What a sign-in started with, to finish it: PKCE verifier, nonce, redirect."""

    nonce: str
    code_verifier: str
    redirect_uri: str


class SessionListing(msgspec.Struct, frozen=True, kw_only=True):
    """A live session of a user, for their list of signed-in devices."""

    id: uuid.UUID
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime | None
    source_ip: str | None
    user_agent: str | None
    two_factor_at: datetime | None
