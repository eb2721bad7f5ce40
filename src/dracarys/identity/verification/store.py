"""SQL of e-mail verification links and SMS verification codes (both kept hashed)."""

from __future__ import annotations

import uuid
from datetime import datetime

from dracarys.db import Connection, record, record_or_none
from dracarys.identity.verification.models import EmailToken, OpenPhoneCode, PhoneCodesSent

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


async def email_token_for_update(conn: Connection, token_hash: bytes) -> EmailToken | None:
    """The link, locked until the transaction ends (used or not, expired or not)."""
    row = await conn.fetchrow(
        """SELECT user_id, email_index, expires_at, used_at FROM email_verification_tokens
           WHERE token_hash = $1 FOR UPDATE""",
        token_hash,
    )
    return record_or_none(EmailToken, row)


async def mark_email_token_used(conn: Connection, token_hash: bytes, now: datetime) -> None:
    await conn.execute(
        "UPDATE email_verification_tokens SET used_at = $2 WHERE token_hash = $1",
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
) -> PhoneCodesSent:
    """How many codes were sent (those expiring after the given moment) and the latest
    expiry; codes are sent with a fixed lifetime, so expiry orders them by sending time."""
    row = await conn.fetchrow(
        """SELECT count(*) AS sent, max(expires_at) AS latest_expiry
           FROM phone_verification_codes WHERE user_id = $1 AND expires_at > $2""",
        user_id,
        expiring_after,
    )
    assert row is not None
    return record(PhoneCodesSent, row)


async def open_phone_code(
    conn: Connection, user_id: uuid.UUID, now: datetime
) -> OpenPhoneCode | None:
    row = await conn.fetchrow(
        """SELECT id, phone_index, code_hash, attempts FROM phone_verification_codes
           WHERE user_id = $1 AND used_at IS NULL AND expires_at > $2
           ORDER BY expires_at DESC LIMIT 1 FOR UPDATE""",
        user_id,
        now,
    )
    return record_or_none(OpenPhoneCode, row)


async def count_phone_attempt(conn: Connection, code_id: uuid.UUID) -> None:
    await conn.execute(
        "UPDATE phone_verification_codes SET attempts = attempts + 1 WHERE id = $1", code_id
    )


async def close_phone_code(conn: Connection, code_id: uuid.UUID, now: datetime) -> None:
    await conn.execute(
        "UPDATE phone_verification_codes SET used_at = $2 WHERE id = $1", code_id, now
    )
