"""The one step-up check before a high-value action (a withdrawal, turning two-factor
off): the caller, enrolled in two-factor authentication, presents either a fresh TOTP
code or the step-up token `POST /api/v1/me/step-up` issued to this login session in the
last five minutes::

    await require_step_up(platform, user, totp_code=body.totp_code,
                          step_up_token=body.step_up_token)

One error contract: every refusal is a 403 problem of type `step-up-required` with
`extra.step_up_required = true`, naming the field at fault (`totp_code` or
`step_up_token`); too many wrong codes is a 429, as at sign-in (the two share one budget
per account). A code is accepted once; an expired token, or one of another session or
user, gets the same refusal as a forged one."""

from __future__ import annotations

import uuid
from datetime import timedelta

import jwt

from dracarys.db import Connection, transaction
from dracarys.errors import Forbidden
from dracarys.identity import store
from dracarys.identity.access import ALGORITHM, AUDIENCE, CurrentUser, issuer
from dracarys.identity.models import StepUpToken
from dracarys.identity.throttle import SecondFactorThrottle
from dracarys.identity.totp import accept_totp
from dracarys.platform import Platform

STEP_UP_TTL = timedelta(minutes=5)
_TOKEN_TYPE = "step_up"  # noqa: S105 - a token kind, not a secret


class StepUpRequired(Forbidden):
    slug = "step-up-required"
    title = "Step-up required"

    def __init__(self, detail: str, *, field: str) -> None:
        super().__init__(detail, field=field, extra={"step_up_required": True})


async def require_step_up(
    platform: Platform,
    user: CurrentUser,
    *,
    totp_code: str | None,
    step_up_token: str | None,
    conn: Connection | None = None,
) -> None:
    """Pass, or raise `StepUpRequired`. With `conn` the check runs in the caller's
    transaction, so a code is spent only if the caller's action commits; without, in its
    own. A token is checked when given, else the code."""
    if not totp_code and not step_up_token:
        raise StepUpRequired(
            "this action needs a fresh code from your authenticator app",
            field="totp_code",
        )
    if conn is None:
        async with transaction(platform.pool) as own:
            await _step_up(own, platform, user, totp_code, step_up_token, "totp_code")
    else:
        await _step_up(conn, platform, user, totp_code, step_up_token, "totp_code")


async def issue_step_up_token(platform: Platform, user: CurrentUser, code: str) -> StepUpToken:
    """Trade a fresh TOTP code (the `code` field) for a 5-minute token bound to this
    session, for flows where the code is asked before the high-value request is sent."""
    async with transaction(platform.pool) as conn:
        await _step_up(conn, platform, user, code, None, "code")
    now = platform.clock.now()
    token = jwt.encode(
        {
            "sub": str(user.id),
            "sid": str(user.session_id),
            "typ": _TOKEN_TYPE,
            "iss": issuer(platform.settings),
            "aud": AUDIENCE,
            "iat": int(now.timestamp()),
            "exp": int((now + STEP_UP_TTL).timestamp()),
        },
        platform.settings.secret_key,
        algorithm=ALGORITHM,
    )
    return StepUpToken(step_up_token=token, expires_in=int(STEP_UP_TTL.total_seconds()))


async def _step_up(
    conn: Connection,
    platform: Platform,
    user: CurrentUser,
    totp_code: str | None,
    step_up_token: str | None,
    code_field: str,
) -> None:
    account = await store.user_by_id(conn, user.id)
    if account is None or account.totp_enabled_at is None:
        raise StepUpRequired(
            "turn on two-factor authentication in your account's security settings "
            "before doing this",
            field=code_field,
        )
    if step_up_token:
        if not _token_valid(platform, user, step_up_token):
            raise StepUpRequired(
                "your confirmation has expired or belongs to another session: enter a "
                "fresh code from your authenticator app",
                field="step_up_token",
            )
        return
    assert totp_code is not None
    if not await _code_accepted(conn, platform, user.id, totp_code):
        raise StepUpRequired(
            "the authenticator code is wrong or was already used", field=code_field
        )


async def _code_accepted(
    conn: Connection, platform: Platform, user_id: uuid.UUID, code: str
) -> bool:
    """True when the user is active with two-factor enabled and `code` is a fresh TOTP
    code. The attempt is reserved in the throttle before the code is checked."""
    throttle = SecondFactorThrottle(platform.counters, platform.settings)
    await throttle.reserve(user_id)
    account = await store.user_by_id(conn, user_id, lock=True)
    if account is None or account.totp_enabled_at is None or not account.is_active:
        return False
    accepted = await accept_totp(conn, platform.settings, account, code, platform.clock.now())
    if accepted:
        await throttle.passed(user_id)
    return accepted


def _token_valid(platform: Platform, user: CurrentUser, token: str) -> bool:
    """A step-up token this platform issued to this user's session, not yet expired (by
    the platform clock)."""
    try:
        claims = jwt.decode(
            token,
            platform.settings.secret_key,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=issuer(platform.settings),
            options={"verify_exp": False, "require": ["exp", "sub", "sid"]},
        )
    except jwt.InvalidTokenError:
        return False
    return (
        claims.get("typ") == _TOKEN_TYPE
        and claims["sub"] == str(user.id)
        and claims["sid"] == str(user.session_id)
        and int(claims["exp"]) > int(platform.clock.now().timestamp())
    )
