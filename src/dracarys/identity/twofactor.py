"""Two-factor authentication of an account: enrolling an authenticator app (TOTP, its
secret also given as a QR code) with recovery codes shown once, and turning it off again
behind a step-up. Staff (admins and reviewers) keep it: their actions need it."""

from __future__ import annotations

import secrets

import pyotp
import segno

from dracarys.crypto import seal, short_code_hash, totp_secret_key
from dracarys.db import transaction
from dracarys.errors import Conflict, Forbidden, InvalidInput, NotFound
from dracarys.identity import store
from dracarys.identity.access import CurrentUser, Role
from dracarys.identity.audit.service import record_audit
from dracarys.identity.models import RecoveryCodes, TotpEnrolment
from dracarys.identity.personal import personal_data_cipher
from dracarys.identity.sessions import service as sessions
from dracarys.identity.stepup import require_step_up
from dracarys.identity.totp import accept_totp, normalize_recovery_code
from dracarys.platform import Platform

RECOVERY_CODE_COUNT = 10
TWO_FACTOR_ROLES = frozenset({Role.ADMIN, Role.REVIEWER})


def _new_recovery_code() -> str:
    raw = secrets.token_hex(5)
    return f"{raw[:5]}-{raw[5:]}"


async def begin_totp_enrolment(platform: Platform, user: CurrentUser) -> TotpEnrolment:
    async with transaction(platform.pool) as conn:
        account = await store.user_by_id(conn, user.id, lock=True)
        if account is None:
            raise NotFound("no such user")
        if account.totp_enabled_at is not None:
            raise Conflict("two-factor authentication is already enabled")
        secret = pyotp.random_base32()
        sealed = seal(totp_secret_key(platform.settings), secret.encode(), user.id.bytes)
        await store.set_totp_secret(conn, user.id, sealed)
    email = personal_data_cipher(platform.settings).open_contact(account).email
    uri = pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name="Dracarys")
    return TotpEnrolment(secret=secret, otpauth_uri=uri, qr_code_data_uri=qr_code_data_uri(uri))


def qr_code_data_uri(otpauth_uri: str) -> str:
    """The URI as a QR code an authenticator app scans: black on white with its quiet
    zone (dark themes would invert it, and some scanners then fail), as an SVG data URI."""
    qr = segno.make(otpauth_uri, error="m")
    return qr.svg_data_uri(scale=5, dark="#000000", light="#ffffff")


async def confirm_totp_enrolment(
    platform: Platform, user: CurrentUser, code: str, source_ip: str | None
) -> RecoveryCodes:
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        account = await store.user_by_id(conn, user.id, lock=True)
        if account is None:
            raise NotFound("no such user")
        if account.totp_enabled_at is not None:
            raise Conflict("two-factor authentication is already enabled")
        if account.totp_secret_encrypted is None:
            raise Conflict("start the enrolment first")
        accepted = await accept_totp(conn, platform.settings, account, code, now)
        if accepted:
            codes = [_new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
            await store.replace_recovery_codes(
                conn,
                user.id,
                [short_code_hash(platform.settings, normalize_recovery_code(c)) for c in codes],
            )
            await store.enable_totp(conn, user.id, now)
            await sessions.mark_two_factor(conn, user.session_id, now)
            await record_audit(
                conn,
                user.id,
                "auth.two_factor_enabled",
                f"user:{user.id}",
                source_ip,
                {},
                at=now,
            )
    if not accepted:
        raise InvalidInput("the code is wrong", field="code")
    await platform.session_cache.publish_session_change(user.session_id)
    # Shown once; only their keyed hashes are stored.
    return RecoveryCodes(recovery_codes=codes)


async def disable_two_factor(
    platform: Platform,
    user: CurrentUser,
    *,
    totp_code: str | None,
    step_up_token: str | None,
    source_ip: str | None,
) -> None:
    """Turn two-factor off, behind a step-up (a fresh code or a step-up token): the
    secret and recovery codes go, and no session of the account counts as having passed
    a second factor any more (else a later promotion to staff would inherit one)."""
    if user.role in TWO_FACTOR_ROLES:
        raise Forbidden("staff accounts keep two-factor authentication")
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        account = await store.user_by_id(conn, user.id, lock=True)
        if account is None:
            raise NotFound("no such user")
        if account.totp_enabled_at is None:
            raise Conflict("two-factor authentication is not enabled")
        await require_step_up(
            platform, user, totp_code=totp_code, step_up_token=step_up_token, conn=conn
        )
        await store.disable_totp(conn, user.id)
        await sessions.forget_two_factor(conn, user.id)
        await record_audit(
            conn, user.id, "auth.two_factor_disabled", f"user:{user.id}", source_ip, {}, at=now
        )
    await platform.session_cache.publish_user_change(user.id)
