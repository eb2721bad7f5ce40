"""Every SQL statement of the identity domain (asyncpg, plain SQL)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Collection
from datetime import datetime
from typing import Any

import asyncpg

from dracarys.db import Connection
from dracarys.identity.models import SealedContact

Row = asyncpg.Record

# ---- accounts -----------------------------------------------------------------------


async def insert_user(
    conn: Connection,
    *,
    user_id: uuid.UUID,
    contact: SealedContact,
    password_hash: str | None,
    role: str,
    now: datetime,
    email_verified: bool = False,
    kyc_level: int = 0,
) -> None:
    """The account row alone; `insert_profile` adds its profile."""
    await conn.execute(
        """INSERT INTO users (id, email_sealed, email_index, name_sealed, phone_sealed,
                              phone_index, password_hash, role, kyc_level, created_at,
                              updated_at, email_verified_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::timestamptz, $10::timestamptz,
                   CASE WHEN $11::boolean THEN $10::timestamptz END)""",
        user_id,
        contact.email_sealed,
        contact.email_index,
        contact.name_sealed,
        contact.phone_sealed,
        contact.phone_index,
        password_hash,
        role,
        kyc_level,
        now,
        email_verified,
    )


async def insert_profile(conn: Connection, user_id: uuid.UUID, now: datetime) -> None:
    await conn.execute(
        "INSERT INTO user_profiles (user_id, updated_at) VALUES ($1, $2)", user_id, now
    )


async def user_by_email_index(conn: Connection, email_index: bytes) -> Row | None:
    return await conn.fetchrow("SELECT * FROM users WHERE email_index = $1", email_index)


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


async def set_phone(
    conn: Connection, user_id: uuid.UUID, phone_sealed: bytes, phone_index: bytes, now: datetime
) -> None:
    await conn.execute(
        """UPDATE users SET phone_sealed = $2, phone_index = $3, phone_verified_at = NULL,
                            updated_at = $4
           WHERE id = $1 AND phone_index IS DISTINCT FROM $3""",
        user_id,
        phone_sealed,
        phone_index,
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


async def set_name(conn: Connection, user_id: uuid.UUID, name_sealed: bytes, now: datetime) -> None:
    await conn.execute(
        "UPDATE users SET name_sealed = $2, updated_at = $3 WHERE id = $1",
        user_id,
        name_sealed,
        now,
    )


async def me_row(conn: Connection, user_id: uuid.UUID) -> Row | None:
    return await conn.fetchrow(
        """SELECT id, email_sealed, name_sealed, phone_sealed, role, kyc_level,
                  email_verified_at, phone_verified_at, totp_enabled_at, reputation_score
           FROM users WHERE id = $1""",
        user_id,
    )


async def sealed_contacts(
    conn: Connection, user_ids: list[uuid.UUID], *, active_only: bool
) -> list[Row]:
    return await conn.fetch(
        """SELECT id, email_sealed, name_sealed, phone_sealed FROM users
           WHERE id = ANY($1::uuid[]) AND (NOT $2 OR status = 'active')""",
        user_ids,
        active_only,
    )


async def sealed_names(conn: Connection, user_ids: Collection[uuid.UUID]) -> list[Row]:
    return await conn.fetch(
        "SELECT id, name_sealed FROM users WHERE id = ANY($1::uuid[])", list(user_ids)
    )


async def user_view_row(conn: Connection, user_id: uuid.UUID) -> Row | None:
    return await conn.fetchrow(
        """SELECT u.id, u.email_sealed, u.name_sealed, u.phone_sealed, u.role, u.kyc_level,
                  u.status, u.email_verified_at, u.phone_verified_at, u.totp_enabled_at,
                  u.reputation_score, u.created_at,
                  p.headline, p.bio, p.specialties, p.social_links, p.timezone,
                  p.experience_level, p.trading_style, p.address_sealed, p.country,
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
    email_index: bytes,
    expires_at: datetime,
) -> None:
    await conn.execute(
        """INSERT INTO email_verification_tokens (token_hash, user_id, email_index, expires_at)
           VALUES ($1, $2, $3, $4)""",
        token_hash,
        user_id,
        email_index,
        expires_at,
    )


async def consume_email_token(conn: Connection, token_hash: bytes, now: datetime) -> Row | None:
    """Marks the token used and returns it, or None if unknown, used or expired."""
    return await conn.fetchrow(
        """UPDATE email_verification_tokens SET used_at = $2
           WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2
           RETURNING user_id, email_index""",
        token_hash,
        now,
    )


async def insert_phone_code(
    conn: Connection,
    *,
    user_id: uuid.UUID,
    phone_index: bytes,
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
        """INSERT INTO phone_verification_codes (id, user_id, phone_index, code_hash,
                                                 expires_at)
           VALUES ($1, $2, $3, $4, $5)""",
        uuid.uuid4(),
        user_id,
        phone_index,
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
        """SELECT id, phone_index, code_hash, attempts FROM phone_verification_codes
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


async def set_address(
    conn: Connection, user_id: uuid.UUID, address_sealed: bytes, now: datetime
) -> None:
    await conn.execute(
        "UPDATE user_profiles SET address_sealed = $2, updated_at = $3 WHERE user_id = $1",
        user_id,
        address_sealed,
        now,
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
    contact: SealedContact,
    role: str,
    kyc_level: int,
    password_hash: str,
    totp_secret_encrypted: bytes | None,
    now: datetime,
) -> bool:
    """Insert a verified demo account unless one with this e-mail exists."""
    status = await conn.execute(
        """INSERT INTO users (id, email_sealed, email_index, name_sealed, phone_sealed,
                              phone_index, role, kyc_level, password_hash, email_verified_at,
                              phone_verified_at, totp_secret_encrypted, totp_enabled_at,
                              created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $11, $11, $10,
                   CASE WHEN $10::bytea IS NULL THEN NULL ELSE $11::timestamptz END, $11, $11)
           ON CONFLICT (email_index) DO NOTHING""",
        user_id,
        contact.email_sealed,
        contact.email_index,
        contact.name_sealed,
        contact.phone_sealed,
        contact.phone_index,
        role,
        kyc_level,
        password_hash,
        totp_secret_encrypted,
        now,
    )
    if not status.endswith(" 1"):
        return False
    await insert_profile(conn, user_id, now)
    return True


# ---- sealing plain personal data left by older versions ------------------------------

SEALING_LOCK_KEY = 0x44524143_5049494C  # "DRACPIIL"


async def plain_users(conn: Connection, limit: int) -> list[Row]:
    return await conn.fetch(
        """SELECT id, plain_email, plain_name, plain_phone FROM users
           WHERE plain_email IS NOT NULL OR plain_name IS NOT NULL OR plain_phone IS NOT NULL
           LIMIT $1 FOR UPDATE""",
        limit,
    )


async def store_sealed_users(
    conn: Connection, sealed: list[tuple[uuid.UUID, SealedContact]]
) -> None:
    await conn.execute(
        """UPDATE users u SET email_sealed = s.email_sealed, email_index = s.email_index,
                              name_sealed = s.name_sealed, phone_sealed = s.phone_sealed,
                              phone_index = s.phone_index, plain_email = NULL,
                              plain_name = NULL, plain_phone = NULL
           FROM unnest($1::uuid[], $2::bytea[], $3::bytea[], $4::bytea[], $5::bytea[],
                       $6::bytea[])
                AS s (id, email_sealed, email_index, name_sealed, phone_sealed, phone_index)
           WHERE u.id = s.id""",
        [user_id for user_id, _ in sealed],
        [c.email_sealed for _, c in sealed],
        [c.email_index for _, c in sealed],
        [c.name_sealed for _, c in sealed],
        [c.phone_sealed for _, c in sealed],
        [c.phone_index for _, c in sealed],
    )


async def plain_email_tokens(conn: Connection, limit: int) -> list[Row]:
    return await conn.fetch(
        """SELECT token_hash, plain_email FROM email_verification_tokens
           WHERE plain_email IS NOT NULL LIMIT $1 FOR UPDATE""",
        limit,
    )


async def store_email_token_indexes(conn: Connection, indexes: list[tuple[bytes, bytes]]) -> None:
    await conn.execute(
        """UPDATE email_verification_tokens t SET email_index = s.email_index,
                                                  plain_email = NULL
           FROM unnest($1::bytea[], $2::bytea[]) AS s (token_hash, email_index)
           WHERE t.token_hash = s.token_hash""",
        [token for token, _ in indexes],
        [index for _, index in indexes],
    )


async def plain_phone_codes(conn: Connection, limit: int) -> list[Row]:
    return await conn.fetch(
        """SELECT id, plain_phone FROM phone_verification_codes
           WHERE plain_phone IS NOT NULL LIMIT $1 FOR UPDATE""",
        limit,
    )


async def store_phone_code_indexes(
    conn: Connection, indexes: list[tuple[uuid.UUID, bytes]]
) -> None:
    await conn.execute(
        """UPDATE phone_verification_codes c SET phone_index = s.phone_index, plain_phone = NULL
           FROM unnest($1::uuid[], $2::bytea[]) AS s (id, phone_index)
           WHERE c.id = s.id""",
        [code_id for code_id, _ in indexes],
        [index for _, index in indexes],
    )


async def plain_oidc_emails(conn: Connection, limit: int) -> list[Row]:
    return await conn.fetch(
        """SELECT provider, subject, user_id, plain_email FROM oidc_identities
           WHERE plain_email IS NOT NULL LIMIT $1 FOR UPDATE""",
        limit,
    )


async def store_sealed_oidc_emails(conn: Connection, sealed: list[tuple[str, str, bytes]]) -> None:
    await conn.execute(
        """UPDATE oidc_identities o SET email_sealed = s.email_sealed, plain_email = NULL
           FROM unnest($1::text[], $2::text[], $3::bytea[]) AS s (provider, subject, email_sealed)
           WHERE o.provider = s.provider AND o.subject = s.subject""",
        [provider for provider, _, _ in sealed],
        [subject for _, subject, _ in sealed],
        [email for _, _, email in sealed],
    )


_SEALED_CONSTRAINTS = (
    ("users", "users_personal_data_sealed"),
    ("email_verification_tokens", "email_verification_tokens_sealed"),
    ("phone_verification_codes", "phone_verification_codes_sealed"),
    ("oidc_identities", "oidc_identities_sealed"),
)


async def validate_personal_data_constraints(conn: Connection) -> None:
    """Once validated, PostgreSQL itself vouches that no plain value is left."""
    pending = {
        row["conname"]
        for row in await conn.fetch(
            """SELECT conname FROM pg_constraint
               WHERE conname = ANY($1::text[]) AND NOT convalidated""",
            [name for _, name in _SEALED_CONSTRAINTS],
        )
    }
    for table, name in _SEALED_CONSTRAINTS:
        if name in pending:
            await conn.execute(f"ALTER TABLE {table} VALIDATE CONSTRAINT {name}")


# ---- account facts other domains read (through dracarys.identity.accounts) ----------


_ACCOUNT_COLUMNS = """u.id, u.role, u.status, u.kyc_level, p.experience_level, u.created_at
               FROM users u LEFT JOIN user_profiles p ON p.user_id = u.id"""


async def account(conn: Connection, user_id: uuid.UUID, *, lock: bool = False) -> Row | None:
    sql = f"SELECT {_ACCOUNT_COLUMNS} WHERE u.id = $1" + (" FOR UPDATE OF u" if lock else "")
    return await conn.fetchrow(sql, user_id)


async def accounts(conn: Connection, user_ids: Collection[uuid.UUID]) -> list[Row]:
    return list(
        await conn.fetch(f"SELECT {_ACCOUNT_COLUMNS} WHERE u.id = ANY($1::uuid[])", list(user_ids))
    )


async def active_accounts_with_role(
    conn: Connection, role: str, *, min_kyc_level: int = 0, limit: int | None = None
) -> list[Row]:
    return list(
        await conn.fetch(
            f"""SELECT {_ACCOUNT_COLUMNS}
               WHERE u.role = $1 AND u.status = 'active' AND u.kyc_level >= $2
               ORDER BY u.created_at, u.id LIMIT $3""",
            role,
            min_kyc_level,
            limit,
        )
    )


async def live_sessions_of_active_users(
    conn: Connection, session_ids: Collection[uuid.UUID]
) -> list[Row]:
    """(session id, user id, role) of the sessions not revoked whose user is active."""
    return list(
        await conn.fetch(
            """SELECT s.id AS session_id, u.id AS user_id, u.role
               FROM auth_sessions s JOIN users u ON u.id = s.user_id
               WHERE s.id = ANY($1::uuid[]) AND s.revoked_at IS NULL AND u.status = 'active'""",
            list(session_ids),
        )
    )


async def listed_mentors(
    conn: Connection,
    *,
    specialty: str | None,
    min_rate_minor: int | None,
    max_rate_minor: int | None,
    min_rating: float | None,
    among: Collection[uuid.UUID] | None,
    limit: int,
) -> list[Row]:
    return list(
        await conn.fetch(
            """SELECT u.id, u.reputation_score, m.specialties, m.hourly_rate_minor,
                      rtrim(m.currency) AS currency, m.rating_count, m.rating_sum,
                      m.total_sessions, coalesce(p.headline, '') AS headline, p.trading_style
               FROM users u
               JOIN mentor_profiles m ON m.user_id = u.id
               LEFT JOIN user_profiles p ON p.user_id = u.id
               WHERE u.role = 'mentor' AND u.status = 'active' AND NOT m.on_probation
                 AND ($1::text IS NULL OR $1 = ANY(m.specialties))
                 AND ($2::bigint IS NULL OR m.hourly_rate_minor >= $2)
                 AND ($3::bigint IS NULL OR m.hourly_rate_minor <= $3)
                 AND ($4::float8 IS NULL OR (m.rating_count > 0
                      AND m.rating_sum::float8 / m.rating_count >= $4))
                 AND ($5::uuid[] IS NULL OR u.id = ANY($5))
               ORDER BY u.reputation_score DESC, m.rating_count DESC, u.id
               LIMIT $6""",
            specialty,
            min_rate_minor,
            max_rate_minor,
            min_rating,
            None if among is None else list(among),
            limit,
        )
    )


async def profile_timezones(conn: Connection, user_ids: Collection[uuid.UUID]) -> list[Row]:
    """(user id, timezone) of the profiles, of those given, that name a time zone."""
    return list(
        await conn.fetch(
            """SELECT user_id, timezone FROM user_profiles
               WHERE user_id = ANY($1::uuid[]) AND timezone IS NOT NULL""",
            list(user_ids),
        )
    )


async def last_sign_ins(conn: Connection, user_ids: Collection[uuid.UUID]) -> list[Row]:
    """(user id, when their newest session began) of those given who ever signed in."""
    return list(
        await conn.fetch(
            """SELECT user_id, max(created_at) AS signed_in_at FROM auth_sessions
               WHERE user_id = ANY($1::uuid[]) GROUP BY user_id""",
            list(user_ids),
        )
    )
