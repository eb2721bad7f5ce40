"""SQL of identity's accounts: the users row (personal data sealed), its two-factor
columns and recovery codes, the demo accounts, the sealing of what older versions kept in
plain, and (last) the account facts other domains read through `identity.accounts`.
Each sub-area (sessions, verification, KYC, profiles, audit) has a store of its own."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime

import asyncpg

from dracarys.db import Connection, record_or_none, records
from dracarys.identity.models import (
    MeRecord,
    PlainEmailToken,
    PlainOidcEmail,
    PlainPhoneCode,
    PlainUser,
    SealedAddressRecord,
    SealedContact,
    SealedContactRecord,
    SealedNameRecord,
    UserRecord,
)

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


_USER_COLUMNS = """id, email_sealed, email_index, name_sealed, phone_sealed, phone_index, role,
    status, kyc_level, password_hash, email_verified_at, phone_verified_at,
    totp_secret_encrypted, totp_enabled_at, totp_last_step, reputation_score, created_at"""


async def user_by_email_index(conn: Connection, email_index: bytes) -> UserRecord | None:
    row = await conn.fetchrow(
        f"SELECT {_USER_COLUMNS} FROM users WHERE email_index = $1", email_index
    )
    return record_or_none(UserRecord, row)


async def user_by_id(
    conn: Connection, user_id: uuid.UUID, *, lock: bool = False
) -> UserRecord | None:
    sql = f"SELECT {_USER_COLUMNS} FROM users WHERE id = $1" + (" FOR UPDATE" if lock else "")
    return record_or_none(UserRecord, await conn.fetchrow(sql, user_id))


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


async def me_row(conn: Connection, user_id: uuid.UUID) -> MeRecord | None:
    row = await conn.fetchrow(
        """SELECT id, email_sealed, name_sealed, phone_sealed, role, kyc_level,
                  email_verified_at, phone_verified_at, totp_enabled_at, reputation_score
           FROM users WHERE id = $1""",
        user_id,
    )
    return record_or_none(MeRecord, row)


async def sealed_contacts(
    conn: Connection, user_ids: list[uuid.UUID], *, active_only: bool, verified_phones: bool
) -> list[SealedContactRecord]:
    rows = await conn.fetch(
        """SELECT id, email_sealed, name_sealed,
                  CASE WHEN $3 AND phone_verified_at IS NULL THEN NULL ELSE phone_sealed END
                      AS phone_sealed
           FROM users WHERE id = ANY($1::uuid[]) AND (NOT $2 OR status = 'active')""",
        user_ids,
        active_only,
        verified_phones,
    )
    return records(SealedContactRecord, rows)


async def sealed_names(conn: Connection, user_ids: Collection[uuid.UUID]) -> list[SealedNameRecord]:
    rows = await conn.fetch(
        "SELECT id, name_sealed FROM users WHERE id = ANY($1::uuid[])", list(user_ids)
    )
    return records(SealedNameRecord, rows)


async def sealed_addresses(
    conn: Connection, user_ids: Collection[uuid.UUID]
) -> list[SealedAddressRecord]:
    rows = await conn.fetch(
        """SELECT user_id, address_sealed, rtrim(country) AS country FROM user_profiles
           WHERE user_id = ANY($1::uuid[]) AND address_sealed IS NOT NULL""",
        list(user_ids),
    )
    return records(SealedAddressRecord, rows)


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


async def disable_totp(conn: Connection, user_id: uuid.UUID) -> None:
    """The secret and the recovery codes go; the last accepted step stays, so a code of
    the old secret is never accepted again should the same secret come back."""
    await conn.execute(
        "UPDATE users SET totp_secret_encrypted = NULL, totp_enabled_at = NULL WHERE id = $1",
        user_id,
    )
    await conn.execute("DELETE FROM totp_recovery_codes WHERE user_id = $1", user_id)


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


async def plain_users(conn: Connection, limit: int) -> list[PlainUser]:
    rows = await conn.fetch(
        """SELECT id, plain_email, plain_name, plain_phone FROM users
           WHERE plain_email IS NOT NULL OR plain_name IS NOT NULL OR plain_phone IS NOT NULL
           LIMIT $1 FOR UPDATE""",
        limit,
    )
    return records(PlainUser, rows)


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


async def plain_email_tokens(conn: Connection, limit: int) -> list[PlainEmailToken]:
    rows = await conn.fetch(
        """SELECT token_hash, plain_email FROM email_verification_tokens
           WHERE plain_email IS NOT NULL LIMIT $1 FOR UPDATE""",
        limit,
    )
    return records(PlainEmailToken, rows)


async def store_email_token_indexes(conn: Connection, indexes: list[tuple[bytes, bytes]]) -> None:
    await conn.execute(
        """UPDATE email_verification_tokens t SET email_index = s.email_index,
                                                  plain_email = NULL
           FROM unnest($1::bytea[], $2::bytea[]) AS s (token_hash, email_index)
           WHERE t.token_hash = s.token_hash""",
        [token for token, _ in indexes],
        [index for _, index in indexes],
    )


async def plain_phone_codes(conn: Connection, limit: int) -> list[PlainPhoneCode]:
    rows = await conn.fetch(
        """SELECT id, plain_phone FROM phone_verification_codes
           WHERE plain_phone IS NOT NULL LIMIT $1 FOR UPDATE""",
        limit,
    )
    return records(PlainPhoneCode, rows)


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


async def plain_oidc_emails(conn: Connection, limit: int) -> list[PlainOidcEmail]:
    rows = await conn.fetch(
        """SELECT provider, subject, user_id, plain_email FROM oidc_identities
           WHERE plain_email IS NOT NULL LIMIT $1 FOR UPDATE""",
        limit,
    )
    return records(PlainOidcEmail, rows)


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


async def account_with_email_index(conn: Connection, email_index: bytes) -> Row | None:
    return await conn.fetchrow(f"SELECT {_ACCOUNT_COLUMNS} WHERE u.email_index = $1", email_index)


async def mentors_under_vetting(conn: Connection, limit: int) -> list[Row]:
    """Mentors a reviewer has not yet verified or taken off probation, longest waiting
    first (they became mentors when their profile was opened)."""
    return list(
        await conn.fetch(
            """SELECT u.id, u.status, m.verified, m.on_probation, m.specialties,
                      m.total_sessions, u.created_at
               FROM users u JOIN mentor_profiles m ON m.user_id = u.id
               WHERE u.role = 'mentor' AND (m.on_probation OR NOT m.verified)
               ORDER BY u.created_at, u.id LIMIT $1""",
            limit,
        )
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
                      m.total_sessions, coalesce(p.headline, '') AS headline, p.trading_style,
                      coalesce(p.bio, '') AS bio
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


async def profile_languages(conn: Connection, user_ids: Collection[uuid.UUID]) -> list[Row]:
    """(user id, language) of the profiles, of those given, that chose one other than
    English."""
    return list(
        await conn.fetch(
            """SELECT user_id, language FROM user_profiles
               WHERE user_id = ANY($1::uuid[]) AND language <> 'en'""",
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
