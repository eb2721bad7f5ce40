"""The step-up check other domains call before a high-value action (a large withdrawal):

    await require_step_up(platform, user, totp_code=..., step_up_token=...)

passes with a fresh TOTP code of an enrolled user, or with the token `POST /me/step-up`
issued this session for one (5 minutes); anything else is one error, a 403 with
`step_up_required: true` naming the field at fault. `verify_step_up` checks a code
inside the caller's own transaction.

Each 30-second code is accepted once (the last accepted step is stored with the user),
so a code seen over someone's shoulder cannot be replayed; wrong codes count against the
account's second-factor throttle, as at sign-in (429 past the limit)."""

from __future__ import annotations

import hmac
import uuid
from datetime import datetime

import asyncpg
import jwt
import pyotp

from dracarys.db import Connection, transaction
from dracarys.errors import Forbidden
from dracarys.identity import store
from dracarys.identity.access import ALGORITHM, AUDIENCE, CurrentUser, issuer
from dracarys.identity.crypto import totp_secret_key, unseal
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


def _step_up_refused(detail: str, field: str) -> Forbidden:
    return Forbidden(detail, field=field, extra={"step_up_required": True})


def verify_step_up_token(platform: Platform, user: CurrentUser, token: str | None) -> None:
    """Raise unless `token` is a live step-up token of this user's session."""
    if not token:
        raise _step_up_refused("this action needs a step-up token", "step_up_token")
    try:
        claims = jwt.decode(
            token,
            platform.settings.secret_key,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=issuer(platform.settings),
            options={"verify_exp": False, "require": ["exp", "sub", "sid"]},
        )
    except jwt.InvalidTokenError as exc:
        raise _step_up_refused("the step-up token is not valid", "step_up_token") from exc
    if (
        claims.get("typ") != "step_up"
        or claims["sub"] != str(user.id)
        or claims["sid"] != str(user.session_id)
        or int(claims["exp"]) <= int(platform.clock.now().timestamp())
    ):
        raise _step_up_refused("the step-up token is not valid", "step_up_token")


async def require_step_up(
    platform: Platform,
    user: CurrentUser,
    *,
    totp_code: str | None,
    step_up_token: str | None,
    conn: Connection | None = None,
) -> None:
    """Let a high-value action go ahead for an enrolled user with a live step-up token of
    this session, or else a fresh TOTP code; refusals are all 403 with
    `step_up_required: true`. With `conn` the check runs in the caller's transaction, so
    a code is spent only if the caller's action commits; without, in its own."""
    if not totp_code and not step_up_token:
        raise _step_up_refused(
            "this needs a fresh code from your authenticator app, or a step-up token", "totp_code"
        )
    if conn is None:
        async with transaction(platform.pool) as own:
            await _step_up(own, platform, user, totp_code, step_up_token)
    else:
        await _step_up(conn, platform, user, totp_code, step_up_token)


async def _step_up(
    conn: Connection,
    platform: Platform,
    user: CurrentUser,
    totp_code: str | None,
    step_up_token: str | None,
) -> None:
    row = await store.user_by_id(conn, user.id)
    if row is None or row["totp_enabled_at"] is None:
        raise _step_up_refused(
            "turn on two-factor sign-in with an authenticator app before doing this",
            "totp_code",
        )
    if step_up_token:
        verify_step_up_token(platform, user, step_up_token)
        return
    assert totp_code is not None
    if not await verify_step_up(conn, platform, user_id=user.id, code=totp_code):
        raise _step_up_refused("the authenticator code is wrong or was already used", "totp_code")
