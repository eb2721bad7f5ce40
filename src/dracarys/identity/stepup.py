"""The step-up check other domains call, inside their own transaction, before a
high-value action (withdrawals, payouts): a fresh TOTP code of an enrolled user.

    ok = await verify_step_up(conn, platform, user_id=..., code=...)

Each 30-second code is accepted once (the last accepted step is stored with the user),
so a code seen over someone's shoulder cannot be replayed; wrong codes count against the
account's second-factor throttle, as at sign-in (429 past the limit)."""

from __future__ import annotations

import hmac
import uuid
from datetime import datetime

import asyncpg
import pyotp

from dracarys.crypto import totp_secret_key, unseal
from dracarys.db import Connection
from dracarys.identity import store
from dracarys.identity.throttle import SecondFactorThrottle
from dracarys.platform import Platform
from dracarys.settings import Settings

TOTP_PERIOD_S = 30


def totp_secret(settings: Settings, user: asyncpg.Record) -> str | None:
    sealed = user["totp_secret_encrypted"]
    if sealed is None:
        return None
    return unseal(totp_secret_key(settings), bytes(sealed), user["id"].bytes).decode()


async def accept_totp(
    conn: Connection, settings: Settings, user: asyncpg.Record, code: str, now: datetime
) -> bool:
    """Accept the code of the current step or a neighbour (clock skew), never a step at
    or before the last accepted one. `user` must be locked by the caller."""
    secret = totp_secret(settings, user)
    if secret is None:
        return False
    totp = pyotp.TOTP(secret)
    current = int(now.timestamp()) // TOTP_PERIOD_S
    for step in (current - 1, current, current + 1):
        if step > int(user["totp_last_step"]) and hmac.compare_digest(
            totp.at(step * TOTP_PERIOD_S), code.strip()
        ):
            await store.set_totp_last_step(conn, user["id"], step)
            return True
    return False


async def verify_step_up(
    conn: Connection, platform: Platform, *, user_id: uuid.UUID, code: str
) -> bool:
    """True when the user has two-factor enabled and `code` is a fresh TOTP code. The
    attempt is reserved in the throttle before the code is checked."""
    throttle = SecondFactorThrottle(platform.counters, platform.settings)
    await throttle.reserve(user_id)
    user = await store.user_by_id(conn, user_id, lock=True)
    if user is None or user["totp_enabled_at"] is None or user["status"] != "active":
        return False
    accepted = await accept_totp(conn, platform.settings, user, code, platform.clock.now())
    if accepted:
        await throttle.passed(user_id)
    return accepted
