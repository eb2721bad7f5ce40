"""Every SQL statement of the identity domain (asyncpg, plain SQL)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import asyncpg

from dracarys.db import Connection

Row = asyncpg.Record

# ---- accounts -----------------------------------------------------------------------


async def insert_user(
    conn: Connection,
    *,
    user_id: uuid.UUID,
    email: str,
    password_hash: str | None,
    name: str,
    phone: str | None,
    role: str,
    now: datetime,
    email_verified: bool = False,
) -> None:
    await conn.execute(
        """INSERT INTO users (id, email, password_hash, name, phone, role, created_at,
                              updated_at, email_verified_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7::timestamptz, $7::timestamptz,
                   CASE WHEN $8::boolean THEN $7::timestamptz END)""",
        user_id,
        email,
        password_hash,
        name,
        phone,
        role,
        now,
        email_verified,
    )
    await conn.execute(
        "INSERT INTO user_profiles (user_id, updated_at) VALUES ($1, $2)", user_id, now
    )


async def user_by_email(conn: Connection, email: str) -> Row | None:
    return await conn.fetchrow("SELECT * FROM users WHERE lower(email) = lower($1)", email)


async def user_by_id(conn: Connection, user_id: uuid.UUID, *, lock: bool = False) -> Row | None:
    sql = "SELECT * FROM users WHERE id = $1" + (" FOR UPDATE" if lock else "")
    return await conn.fetchrow(sql, user_id)


async def set_password_hash(conn: Connection, user_id: uuid.UUID, password_hash: str) -> None:
    await conn.execute("UPDATE users SET password_hash = $2 WHERE id = $1", user_id, password_hash)


async def clear_password(conn: Connection, user_id: uuid.UUID, now: datetime) -> None:
    await conn.execute(
        "UPDATE users SET password_hash = NULL, updated_at = $2 WHERE id = $1", user_id, now
    )


async def mark_email_verified(conn: Connection, user_id: uuid.UUID, now: datetime) -> None:
    await conn.execute(
        """UPDATE users SET email_verified_at = coalesce(email_verified_at, $2), updated_at = $2
           WHERE id = $1""",
        user_id,
        now,
    )


async def set_phone(conn: Connection, user_id: uuid.UUID, phone: str, now: datetime) -> None:
    await conn.execute(
        """UPDATE users SET phone = $2, phone_verified_at = NULL, updated_at = $3
           WHERE id = $1 AND phone IS DISTINCT FROM $2""",
        user_id,
        phone,
        now,
    )


async def mark_phone_verified(conn: Connection, user_id: uuid.UUID, now: datetime) -> None:
    await conn.execute(
        "UPDATE users SET phone_verified_at = $2, updated_at = $2 WHERE id = $1", user_id, now
    )


async def set_kyc_level(conn: Connection, user_id: uuid.UUID, level: int, now: datetime) -> None:
    await conn.execute(
        "UPDATE users SET kyc_level = $2, updated_at = $3 WHERE id = $1", user_id, level, now
    )


async def set_role(conn: Connection, user_id: uuid.UUID, role: str, now: datetime) -> None:
    await conn.execute(
        "UPDATE users SET role = $2, updated_at = $3 WHERE id = $1", user_id, role, now
    )


async def set_status(
    conn: Connection, user_id: uuid.UUID, status: str, reason: str | None, now: datetime
) -> None:
    await conn.execute(
        "UPDATE users SET status = $2, banned_reason = $3, updated_at = $4 WHERE id = $1",
        user_id,
        status,
        reason,
        now,
    )


async def set_name(conn: Connection, user_id: uuid.UUID, name: str, now: datetime) -> None:
    await conn.execute(
        "UPDATE users SET name = $2, updated_at = $3 WHERE id = $1", user_id, name, now
    )


async def me_row(conn: Connection, user_id: uuid.UUID) -> Row | None:
    return await conn.fetchrow(
        """SELECT id, email, name, role, kyc_level, email_verified_at, phone,
                  phone_verified_at, totp_enabled_at, reputation_score
           FROM users WHERE id = $1""",
        user_id,
    )


async def user_view_row(conn: Connection, user_id: uuid.UUID) -> Row | None:
    return await conn.fetchrow(
        """SELECT u.id, u.email, u.name, u.role, u.kyc_level, u.status, u.email_verified_at,
                  u.phone, u.phone_verified_at, u.totp_enabled_at, u.reputation_score,
                  u.created_at,
                  p.headline, p.bio, p.specialties, p.social_links, p.timezone,
                  p.experience_level, p.trading_style, p.country,
                  (SELECT count(*) FROM endorsements e WHERE e.endorsee_id = u.id)
                      AS endorsement_count,
                  m.user_id AS mentor_user_id, m.specialties AS mentor_specialties,
                  m.hourly_rate_minor, m.currency, m.verified, m.on_probation,
                  m.rating_count, m.rating_sum, m.total_sessions
           FROM users u
           LEFT JOIN user_profiles p ON p.user_id = u.id
           LEFT JOIN mentor_profiles m ON m.user_id = u.id
           WHERE u.id = $1""",
        user_id,
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


async def refresh_token_for_update(conn: Connection, token_hash: bytes) -> Row | None:
    return await conn.fetchrow(
        """SELECT r.id, r.session_id, r.expires_at, r.used_at, s.revoked_at, s.user_id,
                  s.two_factor_at, s.expires_at AS session_expires_at, u.role, u.status
           FROM refresh_tokens r
           JOIN auth_sessions s ON s.id = r.session_id
           JOIN users u ON u.id = s.user_id
           WHERE r.token_hash = $1
           FOR UPDATE OF r, s""",
        token_hash,
    )


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


async def session_row(conn: Connection, session_id: uuid.UUID) -> Row | None:
    return await conn.fetchrow("SELECT * FROM auth_sessions WHERE id = $1", session_id)


async def mark_session_two_factor(conn: Connection, session_id: uuid.UUID, now: datetime) -> None:
    await conn.execute("UPDATE auth_sessions SET two_factor_at = $2 WHERE id = $1", session_id, now)


# ---- e-mail and phone verification --------------------------------------------------


async def insert_email_token(
    conn: Connection,
    *,
    token_hash: bytes,
    user_id: uuid.UUID,
    email: str,
    expires_at: datetime,
) -> None:
    await conn.execute(
        """INSERT INTO email_verification_tokens (token_hash, user_id, email, expires_at)
           VALUES ($1, $2, $3, $4)""",
        token_hash,
        user_id,
        email,
        expires_at,
    )


async def consume_email_token(conn: Connection, token_hash: bytes, now: datetime) -> Row | None:
    """Marks the token used and returns it, or None if unknown, used or expired."""
    return await conn.fetchrow(
        """UPDATE email_verification_tokens SET used_at = $2
           WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2
           RETURNING user_id, email""",
        token_hash,
        now,
    )


async def insert_phone_code(
    conn: Connection,
    *,
    user_id: uuid.UUID,
    phone: str,
    code_hash: bytes,
    expires_at: datetime,
    now: datetime,
) -> None:
    # A new code replaces any earlier one still open.
    await conn.execute(
        """UPDATE phone_verification_codes SET used_at = $2
           WHERE user_id = $1 AND used_at IS NULL""",
        user_id,
        now,
    )
    await conn.execute(
        """INSERT INTO phone_verification_codes (id, user_id, phone, code_hash, expires_at)
           VALUES ($1, $2, $3, $4, $5)""",
        uuid.uuid4(),
        user_id,
        phone,
        code_hash,
        expires_at,
    )


async def phone_codes_sent_since(
    conn: Connection, user_id: uuid.UUID, expiring_after: datetime
) -> Row:
    """How many codes were sent (those expiring after the given moment) and the latest
    expiry; codes are sent with a fixed lifetime, so expiry orders them by sending time."""
    row = await conn.fetchrow(
        """SELECT count(*) AS sent, max(expires_at) AS latest_expiry
           FROM phone_verification_codes WHERE user_id = $1 AND expires_at > $2""",
        user_id,
        expiring_after,
    )
    assert row is not None
    return row


async def open_phone_code(conn: Connection, user_id: uuid.UUID, now: datetime) -> Row | None:
    return await conn.fetchrow(
        """SELECT id, phone, code_hash, attempts FROM phone_verification_codes
           WHERE user_id = $1 AND used_at IS NULL AND expires_at > $2
           ORDER BY expires_at DESC LIMIT 1 FOR UPDATE""",
        user_id,
        now,
    )


async def count_phone_attempt(conn: Connection, code_id: uuid.UUID) -> None:
    await conn.execute(
        "UPDATE phone_verification_codes SET attempts = attempts + 1 WHERE id = $1", code_id
    )


async def close_phone_code(conn: Connection, code_id: uuid.UUID, now: datetime) -> None:
    await conn.execute(
        "UPDATE phone_verification_codes SET used_at = $2 WHERE id = $1", code_id, now
    )


# ---- two-factor ---------------------------------------------------------------------


async def set_totp_secret(conn: Connection, user_id: uuid.UUID, sealed: bytes) -> None:
    await conn.execute(
        """UPDATE users SET totp_secret_encrypted = $2, totp_enabled_at = NULL, totp_last_step = 0
           WHERE id = $1""",
        user_id,
        sealed,
    )


async def enable_totp(conn: Connection, user_id: uuid.UUID, now: datetime) -> None:
    await conn.execute("UPDATE users SET totp_enabled_at = $2 WHERE id = $1", user_id, now)


async def set_totp_last_step(conn: Connection, user_id: uuid.UUID, step: int) -> None:
    await conn.execute("UPDATE users SET totp_last_step = $2 WHERE id = $1", user_id, step)


async def replace_recovery_codes(
    conn: Connection, user_id: uuid.UUID, code_hashes: list[bytes]
) -> None:
    await conn.execute("DELETE FROM totp_recovery_codes WHERE user_id = $1", user_id)
    await conn.executemany(
        "INSERT INTO totp_recovery_codes (user_id, code_hash) VALUES ($1, $2)",
        [(user_id, h) for h in code_hashes],
    )


async def use_recovery_code(
    conn: Connection, user_id: uuid.UUID, code_hash: bytes, now: datetime
) -> bool:
    status = await conn.execute(
        """UPDATE totp_recovery_codes SET used_at = $3
           WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL""",
        user_id,
        code_hash,
        now,
    )
    return status.endswith(" 1")


# ---- OIDC ---------------------------------------------------------------------------


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
) -> Row | None:
    return await conn.fetchrow(
        """UPDATE oidc_login_states SET used_at = $3
           WHERE state_hash = $1 AND provider = $2 AND used_at IS NULL AND expires_at > $3
           RETURNING nonce, code_verifier, redirect_uri""",
        state_hash,
        provider,
        now,
    )


async def oidc_identity(conn: Connection, provider: str, subject: str) -> Row | None:
    return await conn.fetchrow(
        "SELECT user_id FROM oidc_identities WHERE provider = $1 AND subject = $2",
        provider,
        subject,
    )


async def link_oidc_identity(
    conn: Connection,
    *,
    provider: str,
    subject: str,
    user_id: uuid.UUID,
    email: str | None,
    now: datetime,
) -> None:
    await conn.execute(
        """INSERT INTO oidc_identities (provider, subject, user_id, email, linked_at)
           VALUES ($1, $2, $3, $4, $5)""",
        provider,
        subject,
        user_id,
        email,
        now,
    )


# ---- profiles and reputation --------------------------------------------------------


async def profile_for_update(conn: Connection, user_id: uuid.UUID) -> Row | None:
    return await conn.fetchrow("SELECT * FROM user_profiles WHERE user_id = $1 FOR UPDATE", user_id)


async def update_profile(
    conn: Connection, user_id: uuid.UUID, fields: dict[str, Any], now: datetime
) -> None:
    columns = sorted(fields)
    assignments = ", ".join(f"{c} = ${i + 3}" for i, c in enumerate(columns))
    await conn.execute(
        f"UPDATE user_profiles SET {assignments}, updated_at = $2 WHERE user_id = $1",
        user_id,
        now,
        *[fields[c] for c in columns],
    )


async def mark_profile_completed(conn: Connection, user_id: uuid.UUID, now: datetime) -> bool:
    status = await conn.execute(
        """UPDATE user_profiles SET completed_at = $2
           WHERE user_id = $1 AND completed_at IS NULL""",
        user_id,
        now,
    )
    return status.endswith(" 1")


async def ensure_mentor_profile(conn: Connection, user_id: uuid.UUID, now: datetime) -> None:
    await conn.execute(
        """INSERT INTO mentor_profiles (user_id, updated_at) VALUES ($1, $2)
           ON CONFLICT (user_id) DO NOTHING""",
        user_id,
        now,
    )


async def mentor_profile_for_update(conn: Connection, user_id: uuid.UUID) -> Row | None:
    return await conn.fetchrow(
        "SELECT * FROM mentor_profiles WHERE user_id = $1 FOR UPDATE", user_id
    )


async def update_mentor_profile(
    conn: Connection, user_id: uuid.UUID, fields: dict[str, Any], now: datetime
) -> None:
    columns = sorted(fields)
    assignments = ", ".join(f"{c} = ${i + 3}" for i, c in enumerate(columns))
    await conn.execute(
        f"UPDATE mentor_profiles SET {assignments}, updated_at = $2 WHERE user_id = $1",
        user_id,
        now,
        *[fields[c] for c in columns],
    )


async def insert_rating(
    conn: Connection,
    *,
    session_id: uuid.UUID,
    rater_id: uuid.UUID,
    rated_id: uuid.UUID,
    rating: int,
    now: datetime,
) -> bool:
    status = await conn.execute(
        """INSERT INTO ratings (session_id, rater_id, rated_id, rating, created_at)
           VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING""",
        session_id,
        rater_id,
        rated_id,
        rating,
        now,
    )
    return status.endswith(" 1")


async def add_mentor_rating(conn: Connection, mentor_id: uuid.UUID, rating: int) -> None:
    await conn.execute(
        """UPDATE mentor_profiles SET rating_count = rating_count + 1,
                                      rating_sum = rating_sum + $2
           WHERE user_id = $1""",
        mentor_id,
        rating,
    )


async def add_mentor_session(conn: Connection, mentor_id: uuid.UUID) -> None:
    await conn.execute(
        "UPDATE mentor_profiles SET total_sessions = total_sessions + 1 WHERE user_id = $1",
        mentor_id,
    )


async def rating_totals(conn: Connection, user_id: uuid.UUID) -> tuple[int, int]:
    row = await conn.fetchrow(
        "SELECT count(*) AS n, coalesce(sum(rating), 0) AS total FROM ratings WHERE rated_id = $1",
        user_id,
    )
    assert row is not None
    return int(row["n"]), int(row["total"])


async def endorsement_count(conn: Connection, user_id: uuid.UUID) -> int:
    count = await conn.fetchval("SELECT count(*) FROM endorsements WHERE endorsee_id = $1", user_id)
    return int(count)


async def insert_endorsement(
    conn: Connection, endorser_id: uuid.UUID, endorsee_id: uuid.UUID, skill: str, now: datetime
) -> bool:
    status = await conn.execute(
        """INSERT INTO endorsements (endorser_id, endorsee_id, skill, created_at)
           VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING""",
        endorser_id,
        endorsee_id,
        skill,
        now,
    )
    return status.endswith(" 1")


async def set_reputation(conn: Connection, user_id: uuid.UUID, score: int) -> None:
    await conn.execute("UPDATE users SET reputation_score = $2 WHERE id = $1", user_id, score)


# ---- KYC ----------------------------------------------------------------------------


async def insert_kyc_document(
    conn: Connection,
    *,
    document_id: uuid.UUID,
    user_id: uuid.UUID,
    doc_type: str,
    content_type: str,
    size_bytes: int,
    stored_name: str,
    now: datetime,
) -> Row:
    row = await conn.fetchrow(
        """INSERT INTO kyc_documents (id, user_id, doc_type, content_type, size_bytes,
                                      stored_name, uploaded_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *""",
        document_id,
        user_id,
        doc_type,
        content_type,
        size_bytes,
        stored_name,
        now,
    )
    assert row is not None
    return row


async def kyc_document(
    conn: Connection, document_id: uuid.UUID, *, lock: bool = False
) -> Row | None:
    sql = "SELECT * FROM kyc_documents WHERE id = $1" + (" FOR UPDATE" if lock else "")
    return await conn.fetchrow(sql, document_id)


async def kyc_documents_of(conn: Connection, user_id: uuid.UUID) -> list[Row]:
    return await conn.fetch(
        "SELECT * FROM kyc_documents WHERE user_id = $1 ORDER BY uploaded_at", user_id
    )


async def pending_kyc_documents(conn: Connection, limit: int) -> list[Row]:
    return await conn.fetch(
        """SELECT * FROM kyc_documents WHERE status = 'pending'
           ORDER BY uploaded_at, id LIMIT $1""",
        limit,
    )


async def decide_kyc_document(
    conn: Connection,
    document_id: uuid.UUID,
    *,
    status: str,
    reviewer_id: uuid.UUID,
    reason: str | None,
    now: datetime,
) -> None:
    await conn.execute(
        """UPDATE kyc_documents SET status = $2, reviewed_by = $3, reviewed_at = $4, reason = $5
           WHERE id = $1""",
        document_id,
        status,
        reviewer_id,
        now,
        reason,
    )


async def approved_doc_types(conn: Connection, user_id: uuid.UUID) -> set[str]:
    rows = await conn.fetch(
        "SELECT DISTINCT doc_type FROM kyc_documents WHERE user_id = $1 AND status = 'approved'",
        user_id,
    )
    return {r["doc_type"] for r in rows}


# ---- audit log ----------------------------------------------------------------------

AUDIT_LOCK_KEY = 0x44524143_41554454  # "DRACAUDT"


async def lock_audit_chain(conn: Connection) -> None:
    await conn.execute("SELECT pg_advisory_xact_lock($1)", AUDIT_LOCK_KEY)


async def audit_head(conn: Connection) -> Row | None:
    return await conn.fetchrow(
        "SELECT position, hash FROM audit_log ORDER BY position DESC LIMIT 1"
    )


async def database_now(conn: Connection) -> datetime:
    now: datetime = await conn.fetchval("SELECT clock_timestamp()")
    return now


async def insert_audit_row(
    conn: Connection,
    *,
    position: int,
    entry_id: uuid.UUID,
    occurred_at: datetime,
    actor_id: uuid.UUID | None,
    action: str,
    target: str,
    source_ip: str | None,
    details: dict[str, Any],
    prev_hash: bytes,
    entry_hash: bytes,
) -> None:
    await conn.execute(
        """INSERT INTO audit_log (position, id, occurred_at, actor_id, action, target,
                                  source_ip, details, prev_hash, hash)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)""",
        position,
        entry_id,
        occurred_at,
        actor_id,
        action,
        target,
        source_ip,
        details,
        prev_hash,
        entry_hash,
    )


async def audit_rows(conn: Connection) -> AsyncIterator[Row]:
    """In chain order; needs a transaction (server-side cursor)."""
    async for row in conn.cursor("SELECT * FROM audit_log ORDER BY position"):
        yield row


async def audit_rows_for(conn: Connection, target: str, limit: int) -> list[Row]:
    return await conn.fetch(
        "SELECT * FROM audit_log WHERE target = $1 ORDER BY position DESC LIMIT $2",
        target,
        limit,
    )


# ---- demo data ----------------------------------------------------------------------


async def insert_demo_user(
    conn: Connection,
    *,
    user_id: uuid.UUID,
    email: str,
    name: str,
    phone: str,
    role: str,
    kyc_level: int,
    password_hash: str,
    totp_secret_encrypted: bytes | None,
    now: datetime,
) -> bool:
    """Insert a verified demo account unless one with this e-mail exists."""
    status = await conn.execute(
        """INSERT INTO users (id, email, name, phone, role, kyc_level, password_hash,
                              email_verified_at, phone_verified_at, totp_secret_encrypted,
                              totp_enabled_at, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $9, $9, $8,
                   CASE WHEN $8::bytea IS NULL THEN NULL ELSE $9::timestamptz END, $9, $9)
           ON CONFLICT (lower(email)) DO NOTHING""",
        user_id,
        email,
        name,
        phone,
        role,
        kyc_level,
        password_hash,
        totp_secret_encrypted,
        now,
    )
    if not status.endswith(" 1"):
        return False
    await conn.execute(
        "INSERT INTO user_profiles (user_id, updated_at) VALUES ($1, $2)", user_id, now
    )
    return True
