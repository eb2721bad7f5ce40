"""SQL of login sessions, refresh tokens and OpenID Connect sign-ins (state in flight,
linked identities)."""

from __future__ import annotations

import uuid
from datetime import datetime

from dracarys.db import Connection, record_or_none, records
from dracarys.identity.models import SessionState
from dracarys.identity.sessions.models import (
    OidcStateRecord,
    RefreshTokenRecord,
    SessionListing,
    SessionRecord,
)

# ---- sessions and refresh tokens ----------------------------------------------------


async def insert_session(
    conn: Connection,
    *,
    session_id: uuid.UUID,
    user_id: uuid.UUID,
    now: datetime,
    expires_at: datetime,
    source_ip: str | None,
    user_agent: str | None,
    two_factor: bool,
) -> None:
    await conn.execute(
        """INSERT INTO auth_sessions (id, user_id, created_at, expires_at, source_ip,
                                      user_agent, two_factor_at)
           VALUES ($1, $2, $3::timestamptz, $4, $5, $6,
                   CASE WHEN $7::boolean THEN $3::timestamptz END)""",
        session_id,
        user_id,
        now,
        expires_at,
        source_ip,
        user_agent,
        two_factor,
    )


async def insert_refresh_token(
    conn: Connection,
    *,
    session_id: uuid.UUID,
    token_hash: bytes,
    now: datetime,
    expires_at: datetime,
) -> None:
    await conn.execute(
        """INSERT INTO refresh_tokens (id, session_id, token_hash, created_at, expires_at)
           VALUES ($1, $2, $3, $4, $5)""",
        uuid.uuid4(),
        session_id,
        token_hash,
        now,
        expires_at,
    )


async def refresh_token_for_update(
    conn: Connection, token_hash: bytes
) -> RefreshTokenRecord | None:
    row = await conn.fetchrow(
        """SELECT r.id, r.session_id, r.expires_at, r.used_at, s.revoked_at, s.user_id,
                  s.two_factor_at, s.expires_at AS session_expires_at, u.role, u.status
           FROM refresh_tokens r
           JOIN auth_sessions s ON s.id = r.session_id
           JOIN users u ON u.id = s.user_id
           WHERE r.token_hash = $1
           FOR UPDATE OF r, s""",
        token_hash,
    )
    return record_or_none(RefreshTokenRecord, row)


async def mark_refresh_token_used(conn: Connection, token_id: uuid.UUID, now: datetime) -> None:
    await conn.execute("UPDATE refresh_tokens SET used_at = $2 WHERE id = $1", token_id, now)


async def revoke_session(conn: Connection, session_id: uuid.UUID, now: datetime) -> bool:
    status = await conn.execute(
        "UPDATE auth_sessions SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
        session_id,
        now,
    )
    return status.endswith(" 1")


async def revoke_all_sessions(conn: Connection, user_id: uuid.UUID, now: datetime) -> int:
    status = await conn.execute(
        "UPDATE auth_sessions SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL",
        user_id,
        now,
    )
    return int(status.split()[-1])


async def revoke_session_of_user(
    conn: Connection, session_id: uuid.UUID, user_id: uuid.UUID, now: datetime
) -> bool:
    """Revoke the session if it is the user's and live; False otherwise."""
    status = await conn.execute(
        """UPDATE auth_sessions SET revoked_at = $3
           WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL
             AND (expires_at IS NULL OR expires_at > $3)""",
        session_id,
        user_id,
        now,
    )
    return status.endswith(" 1")


async def live_sessions_of_user(
    conn: Connection, user_id: uuid.UUID, now: datetime
) -> list[SessionListing]:
    """The user's sessions neither revoked nor expired, the most recently seen first. A
    session is seen when it signs in and each time it rotates its refresh token."""
    rows = await conn.fetch(
        """SELECT s.id, s.created_at, s.expires_at, s.source_ip, s.user_agent, s.two_factor_at,
                  greatest(s.created_at, max(r.created_at)) AS last_seen_at
           FROM auth_sessions s
           LEFT JOIN refresh_tokens r ON r.session_id = s.id
           WHERE s.user_id = $1 AND s.revoked_at IS NULL
             AND (s.expires_at IS NULL OR s.expires_at > $2)
           GROUP BY s.id
           ORDER BY last_seen_at DESC, s.created_at DESC""",
        user_id,
        now,
    )
    return records(SessionListing, rows)


async def session_record(conn: Connection, session_id: uuid.UUID) -> SessionRecord | None:
    row = await conn.fetchrow(
        """SELECT id, user_id, created_at, expires_at, revoked_at, two_factor_at
           FROM auth_sessions WHERE id = $1""",
        session_id,
    )
    return record_or_none(SessionRecord, row)


async def live_session_state(
    conn: Connection, session_id: uuid.UUID, user_id: uuid.UUID
) -> SessionState | None:
    """The role and two-factor state of a session that is not revoked, of a user who is
    active; None otherwise."""
    row = await conn.fetchrow(
        """SELECT u.role, s.two_factor_at IS NOT NULL AS two_factor
           FROM auth_sessions s JOIN users u ON u.id = s.user_id
           WHERE s.id = $1 AND s.user_id = $2 AND s.revoked_at IS NULL
             AND u.status = 'active'""",
        session_id,
        user_id,
    )
    return record_or_none(SessionState, row)


async def clear_two_factor(conn: Connection, user_id: uuid.UUID) -> None:
    await conn.execute("UPDATE auth_sessions SET two_factor_at = NULL WHERE user_id = $1", user_id)


async def mark_session_two_factor(conn: Connection, session_id: uuid.UUID, now: datetime) -> None:
    await conn.execute("UPDATE auth_sessions SET two_factor_at = $2 WHERE id = $1", session_id, now)


# ---- OpenID Connect ---------------------------------------------------------------------------


async def insert_oidc_state(
    conn: Connection,
    *,
    state_hash: bytes,
    provider: str,
    nonce: str,
    code_verifier: str,
    redirect_uri: str,
    expires_at: datetime,
) -> None:
    await conn.execute(
        """INSERT INTO oidc_login_states (state_hash, provider, nonce, code_verifier,
                                          redirect_uri, expires_at)
           VALUES ($1, $2, $3, $4, $5, $6)""",
        state_hash,
        provider,
        nonce,
        code_verifier,
        redirect_uri,
        expires_at,
    )


async def consume_oidc_state(
    conn: Connection, state_hash: bytes, provider: str, now: datetime
) -> OidcStateRecord | None:
    row = await conn.fetchrow(
        """UPDATE oidc_login_states SET used_at = $3
           WHERE state_hash = $1 AND provider = $2 AND used_at IS NULL AND expires_at > $3
           RETURNING nonce, code_verifier, redirect_uri""",
        state_hash,
        provider,
        now,
    )
    return record_or_none(OidcStateRecord, row)


async def oidc_linked_user(conn: Connection, provider: str, subject: str) -> uuid.UUID | None:
    """The account a provider's subject is linked to."""
    user_id: uuid.UUID | None = await conn.fetchval(
        "SELECT user_id FROM oidc_identities WHERE provider = $1 AND subject = $2",
        provider,
        subject,
    )
    return user_id


async def link_oidc_identity(
    conn: Connection,
    *,
    provider: str,
    subject: str,
    user_id: uuid.UUID,
    email_sealed: bytes | None,
    now: datetime,
) -> None:
    await conn.execute(
        """INSERT INTO oidc_identities (provider, subject, user_id, email_sealed, linked_at)
           VALUES ($1, $2, $3, $4, $5)""",
        provider,
        subject,
        user_id,
        email_sealed,
        now,
    )
