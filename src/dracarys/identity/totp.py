"""The second factor of an enrolled user: time-based one-time codes (RFC 6238, 30-second
steps), the secret sealed at rest and each step accepted once (the last accepted step is
stored with the user, so a code seen over someone's shoulder cannot be replayed), and the
single-use recovery codes."""

from __future__ import annotations

import hmac
import uuid
from datetime import datetime

import pyotp

from dracarys.crypto import short_code_hash, totp_secret_key, unseal
from dracarys.db import Connection
from dracarys.identity import store
from dracarys.identity.models import UserRecord
from dracarys.settings import Settings

TOTP_PERIOD_S = 30


def totp_secret(settings: Settings, user: UserRecord) -> str | None:
    sealed = user.totp_secret_encrypted
    if sealed is None:
        return None
    return unseal(totp_secret_key(settings), sealed, user.id.bytes).decode()


async def accept_totp(
    conn: Connection, settings: Settings, user: UserRecord, code: str, now: datetime
) -> bool:
    """Accept the code of the current step or a neighbour (clock skew), never a step at
    or before the last accepted one. `user` must be locked by the caller."""
    secret = totp_secret(settings, user)
    if secret is None:
        return False
    totp = pyotp.TOTP(secret)
    current = int(now.timestamp()) // TOTP_PERIOD_S
    for step in (current - 1, current, current + 1):
        if step > user.totp_last_step and hmac.compare_digest(
            totp.at(step * TOTP_PERIOD_S), code.strip()
        ):
            await store.set_totp_last_step(conn, user.id, step)
            return True
    return False


def normalize_recovery_code(code: str) -> str:
    """As shown (`abcde-12345`) or typed (spaces, upper case): the form that is hashed."""
    return code.strip().lower().replace(" ", "").replace("-", "")


async def check_second_factor(
    conn: Connection,
    settings: Settings,
    user_id: uuid.UUID,
    *,
    totp_code: str | None,
    recovery_code: str | None,
    now: datetime,
) -> bool:
    """At sign-in: a fresh TOTP code, else an unused recovery code (spent by this)."""
    locked = await store.user_by_id(conn, user_id, lock=True)
    assert locked is not None
    if totp_code is not None:
        return await accept_totp(conn, settings, locked, totp_code, now)
    if recovery_code is not None:
        return await store.use_recovery_code(
            conn, user_id, short_code_hash(settings, normalize_recovery_code(recovery_code)), now
        )
    return False
