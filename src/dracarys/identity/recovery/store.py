"""SQL of password reset links (only the token's SHA-256 is stored)."""

from __future__ import annotations

import uuid
from datetime import datetime

from dracarys.db import Connection, record_or_none
from dracarys.identity.recovery.models import ResetToken


async def insert_reset_token(
    conn: Connection,
    *,
    token_hash: bytes,
    user_id: uuid.UUID,
    email_index: bytes,
    now: datetime,
    expires_at: datetime,
) -> None:
    await conn.execute(
        """INSERT INTO password_reset_tokens (token_hash, user_id, email_index, created_at,
                                              expires_at)
           VALUES ($1, $2, $3, $4, $5)""",
        token_hash,
        user_id,
        email_index,
        now,
        expires_at,
    )


async def reset_token(
    conn: Connection, token_hash: bytes, *, lock: bool = False
) -> ResetToken | None:
    """The link, used or not, expired or not; `lock` holds it until the transaction ends."""
    row = await conn.fetchrow(
        """SELECT user_id, email_index, expires_at, used_at FROM password_reset_tokens
           WHERE token_hash = $1"""
        + (" FOR UPDATE" if lock else ""),
        token_hash,
    )
    return record_or_none(ResetToken, row)


async def spend_open_reset_tokens(conn: Connection, user_id: uuid.UUID, now: datetime) -> None:
    """Every link of the user not yet used counts as used (one reset spends them all)."""
    await conn.execute(
        """UPDATE password_reset_tokens SET used_at = $2
           WHERE user_id = $1 AND used_at IS NULL""",
        user_id,
        now,
    )
