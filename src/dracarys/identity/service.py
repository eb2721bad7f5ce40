"""Accounts and sessions: signup, e-mail and phone verification, login with throttling
and two-factor, rotating refresh tokens with reuse detection, logout, TOTP enrolment and
the step-up check for high-value actions."""

from __future__ import annotations

import hmac
import math
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg
import jwt
import phonenumbers
import pyotp

from dracarys.db import Connection, transaction
from dracarys.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    Unauthorized,
)
from dracarys.identity import events, store
from dracarys.identity.access import (
    ACCESS_TOKEN_TTL,
    ALGORITHM,
    AUDIENCE,
    CurrentUser,
    Role,
    issue_access_token,
    issuer,
)
from dracarys.identity.audit import record_audit
from dracarys.identity.crypto import (
    seal,
    short_code_hash,
    token_hash,
    totp_secret_key,
)
from dracarys.identity.models import (
    LoginInput,
    Me,
    RecoveryCodes,
    SignupInput,
    SignupResult,
    StepUpToken,
    TokenPair,
    TotpEnrolment,
)
from dracarys.identity.passwords import (
    check_password_policy,
    hash_password,
    needs_rehash,
    verify_password,
)
from dracarys.identity.personal import PHONE, personal_data_cipher
from dracarys.identity.stepup import accept_totp, verify_step_up
from dracarys.identity.stepup import verify_step_up_token as verify_step_up_token
from dracarys.identity.throttle import (
    LoginThrottle,
    SecondFactorThrottle,
    issue_device_token,
    reserve_email_resend,
    reserve_sms_code,
)
from dracarys.messaging.service import queue_email, queue_sms
from dracarys.outbox import emit
from dracarys.platform import Platform
from dracarys.ratelimit import too_many

EMAIL_TOKEN_TTL = timedelta(hours=24)
PHONE_CODE_TTL = timedelta(minutes=10)
PHONE_CODE_MAX_ATTEMPTS = 5
PHONE_CODE_MIN_INTERVAL = timedelta(seconds=60)
STEP_UP_TTL = timedelta(minutes=5)
RECOVERY_CODE_COUNT = 10
TWO_FACTOR_ROLES = frozenset({Role.ADMIN, Role.REVIEWER})
WRONG_CREDENTIALS = "the e-mail address or the password is wrong"

# Pragmatic RFC 5322 dot-atom syntax: what mail servers accept in practice.
_EMAIL = re.compile(
    r"^(?P<local>[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*)"
    r"@(?P<domain>(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63})$"
)


# ---- validation ---------------------------------------------------------------------


def normalize_email(raw: str) -> str:
    email = raw.strip()
    match = _EMAIL.match(email)
    if match is None or len(email) > 254 or len(match.group("local")) > 64:
        raise InvalidInput("this is not a valid e-mail address", field="email")
    return f"{match.group('local')}@{match.group('domain').lower()}"


def normalize_phone(raw: str) -> str:
    """Any valid number in international form (+<country code>...) → E.164."""
    try:
        number = phonenumbers.parse(raw.strip(), None)
    except phonenumbers.NumberParseException as exc:
        raise InvalidInput(
            "give the phone number in international form, e.g. +254712345678", field="phone"
        ) from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidInput("this phone number does not exist", field="phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# ---- signup and verification --------------------------------------------------------


async def signup(platform: Platform, data: SignupInput, source_ip: str | None) -> SignupResult:
    email = normalize_email(data.email)
    phone = normalize_phone(data.phone) if data.phone else None
    check_password_policy(data.password, email=email)
    password_hash = await hash_password(data.password)
    now = platform.clock.now()
    user_id = uuid.uuid4()
    name = data.name.strip() or email.partition("@")[0]
    contact = personal_data_cipher(platform.settings).seal_contact(
        user_id, email=email, name=name, phone=phone
    )
    try:
        async with transaction(platform.pool) as conn:
            await store.insert_user(
                conn,
                user_id=user_id,
                contact=contact,
                password_hash=password_hash,
                role=Role.MENTEE.value,
                now=now,
            )
            await store.insert_profile(conn, user_id, now)
            await send_email_verification(conn, platform, user_id, email, name)
            await emit(conn, events.USER_SIGNED_UP, {"user_id": str(user_id)})
            await record_audit(
                conn, user_id, "user.signup", f"user:{user_id}", source_ip, {}, at=now
            )
    except asyncpg.UniqueViolationError as exc:
        field = "phone" if "phone" in (exc.constraint_name or "") else "email"
        raise Conflict(f"an account with this {field} already exists", field=field) from None
    return SignupResult(user_id=user_id, email=email, phone=phone, email_verification_sent=True)


async def send_email_verification(
    conn: Connection, platform: Platform, user_id: uuid.UUID, email: str, name: str
) -> None:
    token = secrets.token_urlsafe(32)
    now = platform.clock.now()
    await store.insert_email_token(
        conn,
        token_hash=token_hash(token),
        user_id=user_id,
        email_index=personal_data_cipher(platform.settings).email_index(email),
        expires_at=now + EMAIL_TOKEN_TTL,
    )
    link = f"{platform.settings.public_url}/api/v1/verify-email?token={token}"
    await queue_email(
        conn,
        platform.settings,
        to=email,
        template="verify_email",
        context={"name": name, "link": link, "hours": int(EMAIL_TOKEN_TTL.total_seconds() // 3600)},
        now=now,
        user_id=user_id,
    )


async def resend_email_verification(
    platform: Platform, user: CurrentUser, source_ip: str | None
) -> None:
    await reserve_email_resend(platform.counters, platform.settings, user.id, source_ip)
    async with transaction(platform.pool) as conn:
        row = await store.user_by_id(conn, user.id)
        if row is None:
            raise NotFound("no such user")
        if row["email_verified_at"] is not None:
            raise Conflict("your e-mail address is already verified")
        contact = personal_data_cipher(platform.settings).open_contact(row)
        await send_email_verification(conn, platform, user.id, contact.email, contact.name)


async def verify_email(platform: Platform, token: str) -> uuid.UUID:
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        used = await store.consume_email_token(conn, token_hash(token), now)
        if used is None:
            raise InvalidInput(
                "this verification link is unknown, already used or expired", field="token"
            )
        user = await store.user_by_id(conn, used["user_id"], lock=True)
        if user is None or user["email_index"] != used["email_index"]:
            raise InvalidInput("this link was for an e-mail address you no longer use")
        if user["email_verified_at"] is None:
            await store.mark_email_verified(conn, user["id"], now)
            await emit(conn, events.USER_EMAIL_VERIFIED, {"user_id": str(user["id"])})
            await recompute_kyc_level(conn, user["id"], now)
        return uuid.UUID(str(user["id"]))


async def request_phone_code(
    platform: Platform, user: CurrentUser, phone: str | None, source_ip: str | None
) -> str:
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        row = await store.user_by_id(conn, user.id, lock=True)
        if row is None:
            raise NotFound("no such user")
        cipher = personal_data_cipher(platform.settings)
        number = normalize_phone(phone) if phone else cipher.open_contact(row).phone
        if not number:
            raise InvalidInput("give the phone number to verify", field="phone")
        number_index = cipher.phone_index(number)
        if number_index != row["phone_index"]:
            try:
                async with conn.transaction():
                    await store.set_phone(
                        conn, user.id, cipher.seal(user.id, PHONE, number), number_index, now
                    )
            except asyncpg.UniqueViolationError:
                raise Conflict("another account uses this phone number", field="phone") from None
        elif row["phone_verified_at"] is not None:
            raise Conflict("this phone number is already verified", field="phone")
        # SMS costs money and can be abused to spam a number: per account one code a
        # minute and a few an hour, counted in the codes stored; per source in counters.
        recent = await store.phone_codes_sent_since(
            conn, user.id, now - timedelta(hours=1) + PHONE_CODE_TTL
        )
        if recent["latest_expiry"] is not None:
            next_allowed = recent["latest_expiry"] - PHONE_CODE_TTL + PHONE_CODE_MIN_INTERVAL
            if next_allowed > now:
                wait_s = math.ceil((next_allowed - now).total_seconds())
                raise too_many("a code was just sent", wait_s)
        if recent["sent"] >= platform.settings.verification_sends_per_hour_per_account:
            # The oldest code of the hour is not at hand; an hour is never too early.
            raise too_many("too many codes requested", 3600)
        await reserve_sms_code(platform.counters, platform.settings, source_ip)
        code = f"{secrets.randbelow(1_000_000):06d}"
        await store.insert_phone_code(
            conn,
            user_id=user.id,
            phone_index=number_index,
            code_hash=short_code_hash(platform.settings, code),
            expires_at=now + PHONE_CODE_TTL,
            now=now,
        )
        await queue_sms(
            conn,
            platform.settings,
            to=number,
            template="phone_code",
            context={"code": code, "minutes": int(PHONE_CODE_TTL.total_seconds() // 60)},
            now=now,
            user_id=user.id,
        )
    return number


async def confirm_phone(platform: Platform, user: CurrentUser, code: str) -> None:
    now = platform.clock.now()
    wrong = False
    async with transaction(platform.pool) as conn:
        pending = await store.open_phone_code(conn, user.id, now)
        if pending is None:
            raise InvalidInput("no open code: ask for a new one", field="code")
        expected = bytes(pending["code_hash"])
        if hmac.compare_digest(expected, short_code_hash(platform.settings, code.strip())):
            await store.close_phone_code(conn, pending["id"], now)
            row = await store.user_by_id(conn, user.id, lock=True)
            assert row is not None
            if row["phone_index"] == pending["phone_index"]:
                await store.mark_phone_verified(conn, user.id, now)
                await emit(conn, events.USER_PHONE_VERIFIED, {"user_id": str(user.id)})
                await recompute_kyc_level(conn, user.id, now)
        else:
            # Count the attempt and commit it before refusing, so guesses are limited.
            wrong = True
            await store.count_phone_attempt(conn, pending["id"])
            if pending["attempts"] + 1 >= PHONE_CODE_MAX_ATTEMPTS:
                await store.close_phone_code(conn, pending["id"], now)
    if wrong:
        raise InvalidInput("the code is wrong", field="code")


async def recompute_kyc_level(conn: Connection, user_id: uuid.UUID, now: datetime) -> int:
    """Level 1: e-mail and phone verified; 2: plus government ID approved; 3: plus proof
    of address approved. Only ever raises the level (admins lower it by override)."""
    row = await store.user_by_id(conn, user_id, lock=True)
    assert row is not None
    approved = await store.approved_doc_types(conn, user_id)
    level = 0
    if row["email_verified_at"] is not None and row["phone_verified_at"] is not None:
        level = 1
        if "government_id" in approved:
            level = 2
            if "proof_of_address" in approved:
                level = 3
    current = int(row["kyc_level"])
    if level > current:
        await store.set_kyc_level(conn, user_id, level, now)
        await emit(conn, events.KYC_APPROVED, {"user_id": str(user_id), "level": level})
        return level
    return current


# ---- login, refresh, logout ---------------------------------------------------------


async def open_session(
    conn: Connection,
    platform: Platform,
    *,
    user_id: uuid.UUID,
    role: str,
    source_ip: str | None,
    user_agent: str | None,
    two_factor: bool,
) -> TokenPair:
    now = platform.clock.now()
    session_id = uuid.uuid4()
    ttl = timedelta(days=platform.settings.refresh_token_ttl_days)
    await store.insert_session(
        conn,
        session_id=session_id,
        user_id=user_id,
        now=now,
        expires_at=now + ttl,
        source_ip=source_ip,
        user_agent=(user_agent or "")[:300] or None,
        two_factor=two_factor,
    )
    return await _issue_pair(
        conn, platform, user_id=user_id, role=role, session_id=session_id, two_factor=two_factor
    )


async def _issue_pair(
    conn: Connection,
    platform: Platform,
    *,
    user_id: uuid.UUID,
    role: str,
    session_id: uuid.UUID,
    two_factor: bool,
) -> TokenPair:
    now = platform.clock.now()
    refresh = secrets.token_urlsafe(32)
    # Rotation never outlives the session: it ends `refresh_token_ttl_days` after sign-in.
    session = await store.session_row(conn, session_id)
    ends = now + timedelta(days=platform.settings.refresh_token_ttl_days)
    if session is not None and session["expires_at"] is not None:
        ends = min(ends, session["expires_at"])
    await store.insert_refresh_token(
        conn,
        session_id=session_id,
        token_hash=token_hash(refresh),
        now=now,
        expires_at=ends,
    )
    access = issue_access_token(
        platform.settings, user_id=user_id, role=role, session_id=session_id, now=now
    )
    return TokenPair(
        access_token=access,
        refresh_token=refresh,
        token_type="Bearer",  # noqa: S106 - a token kind, not a secret
        expires_in=int(ACCESS_TOKEN_TTL.total_seconds()),
        user_id=user_id,
        role=role,
        two_factor_enrolment_required=Role(role) in TWO_FACTOR_ROLES and not two_factor,
    )


@dataclass(frozen=True, slots=True)
class SignedIn:
    tokens: TokenPair
    # For the client to present at its next sign-in (see `throttle`).
    device_token: str


async def login(
    platform: Platform,
    data: LoginInput,
    *,
    source_ip: str | None,
    device_token: str | None,
    user_agent: str | None,
) -> SignedIn:
    """The attempt is reserved in the throttle before the password is checked, so
    concurrent guesses cannot all slip under the limit. Unknown account and wrong
    password take the same path (a dummy hash is verified) and get the same 401."""
    now = platform.clock.now()
    attempt = await LoginThrottle(platform.counters, platform.settings).reserve(
        data.email, source_ip=source_ip, device_token=device_token, now=now
    )
    email_index = personal_data_cipher(platform.settings).email_index(data.email)
    async with platform.pool.acquire() as conn:
        row = await store.user_by_email_index(conn, email_index)
    matched = await verify_password(row["password_hash"] if row else None, data.password)
    if row is None or not matched:
        raise Unauthorized(WRONG_CREDENTIALS)
    await attempt.succeeded()
    if row["status"] != "active":
        raise Forbidden("this account is suspended")
    user_id = uuid.UUID(str(row["id"]))
    role = Role(row["role"])
    second_factor = SecondFactorThrottle(platform.counters, platform.settings)
    if row["totp_enabled_at"] is not None:
        # Once enrolled, the second factor is required for every role; admins and
        # reviewers are also told to enrol (see `two_factor_enrolment_required`).
        if data.totp_code is None and data.recovery_code is None:
            raise Unauthorized(
                "enter the code from your authenticator app",
                field="totp_code",
                extra={"two_factor_required": True},
            )
        await second_factor.reserve(user_id)
    async with transaction(platform.pool) as conn:
        two_factor = False
        failed = False
        if row["totp_enabled_at"] is not None:
            two_factor = await _check_second_factor(
                conn, platform, row, data.totp_code, data.recovery_code, now
            )
            failed = not two_factor
        if failed:
            await record_audit(
                conn, user_id, "auth.two_factor_failed", f"user:{user_id}", source_ip, {}, at=now
            )
        else:
            if needs_rehash(row["password_hash"]):
                await store.set_password_hash(conn, user_id, await hash_password(data.password))
            pair = await open_session(
                conn,
                platform,
                user_id=user_id,
                role=role.value,
                source_ip=source_ip,
                user_agent=user_agent,
                two_factor=two_factor,
            )
            await emit(
                conn, events.USER_LOGGED_IN, {"user_id": str(user_id), "source_ip": source_ip}
            )
            await record_audit(
                conn,
                user_id,
                "auth.login",
                f"user:{user_id}",
                source_ip,
                {"two_factor": two_factor},
                at=now,
            )
    if failed:
        raise Unauthorized("the two-factor code is wrong", field="totp_code")
    if two_factor:
        await second_factor.passed(user_id)
    return SignedIn(pair, issue_device_token(platform.settings, data.email, now))


async def refresh_session(
    platform: Platform, refresh_token: str, *, source_ip: str | None
) -> TokenPair:
    """Rotate: the presented token is spent and a new one issued in the same family (the
    session). Presenting a spent token again revokes the whole family."""
    now = platform.clock.now()
    refusal: str | None = None
    ended_session: uuid.UUID | None = None
    async with transaction(platform.pool) as conn:
        row = await store.refresh_token_for_update(conn, token_hash(refresh_token))
        if row is None:
            refusal = "this refresh token is not valid"
        elif row["used_at"] is not None:
            if await store.revoke_session(conn, row["session_id"], now):
                ended_session = row["session_id"]
                await record_audit(
                    conn,
                    row["user_id"],
                    "auth.refresh_reuse_detected",
                    f"user:{row['user_id']}",
                    source_ip,
                    {"session_id": str(row["session_id"])},
                    at=now,
                )
            refusal = "this refresh token was already used; the session has been ended"
        elif (
            row["revoked_at"] is not None
            or row["expires_at"] <= now
            or (row["session_expires_at"] is not None and row["session_expires_at"] <= now)
        ):
            refusal = "this session has ended; sign in again"
        elif row["status"] != "active":
            refusal = "this account is suspended"
        else:
            await store.mark_refresh_token_used(conn, row["id"], now)
            return await _issue_pair(
                conn,
                platform,
                user_id=row["user_id"],
                role=row["role"],
                session_id=row["session_id"],
                two_factor=row["two_factor_at"] is not None,
            )
    if ended_session is not None:
        await platform.session_cache.publish_session_change(ended_session)
    raise Unauthorized(refusal or "this refresh token is not valid")


async def logout(platform: Platform, user: CurrentUser, source_ip: str | None) -> None:
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        await store.revoke_session(conn, user.session_id, now)
        await record_audit(
            conn,
            user.id,
            "auth.logout",
            f"user:{user.id}",
            source_ip,
            {"session_id": str(user.session_id)},
            at=now,
        )
    await platform.session_cache.publish_session_change(user.session_id)


async def me(platform: Platform, user: CurrentUser) -> Me:
    async with platform.pool.acquire() as conn:
        row = await store.me_row(conn, user.id)
    if row is None:
        raise NotFound("no such user")
    contact = personal_data_cipher(platform.settings).open_contact(row)
    return Me(
        id=row["id"],
        email=contact.email,
        name=contact.name,
        role=row["role"],
        kyc_level=row["kyc_level"],
        email_verified=row["email_verified_at"] is not None,
        phone=contact.phone,
        phone_verified=row["phone_verified_at"] is not None,
        two_factor_enabled=row["totp_enabled_at"] is not None,
        reputation_score=row["reputation_score"],
    )


# ---- two-factor ---------------------------------------------------------------------


async def _accept_totp(
    conn: Connection, platform: Platform, row: asyncpg.Record, code: str, now: datetime
) -> bool:
    return await accept_totp(conn, platform.settings, row, code, now)


async def _check_second_factor(
    conn: Connection,
    platform: Platform,
    row: asyncpg.Record,
    totp_code: str | None,
    recovery_code: str | None,
    now: datetime,
) -> bool:
    locked = await store.user_by_id(conn, row["id"], lock=True)
    assert locked is not None
    if totp_code is not None:
        return await _accept_totp(conn, platform, locked, totp_code, now)
    if recovery_code is not None:
        normalized = recovery_code.strip().lower().replace(" ", "").replace("-", "")
        return await store.use_recovery_code(
            conn, locked["id"], short_code_hash(platform.settings, normalized), now
        )
    return False


async def begin_totp_enrolment(platform: Platform, user: CurrentUser) -> TotpEnrolment:
    async with transaction(platform.pool) as conn:
        row = await store.user_by_id(conn, user.id, lock=True)
        if row is None:
            raise NotFound("no such user")
        if row["totp_enabled_at"] is not None:
            raise Conflict("two-factor authentication is already enabled")
        secret = pyotp.random_base32()
        sealed = seal(totp_secret_key(platform.settings), secret.encode(), user.id.bytes)
        await store.set_totp_secret(conn, user.id, sealed)
    email = personal_data_cipher(platform.settings).open_contact(row).email
    uri = pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name="Dracarys")
    return TotpEnrolment(secret=secret, otpauth_uri=uri)


def _new_recovery_code() -> str:
    raw = secrets.token_hex(5)
    return f"{raw[:5]}-{raw[5:]}"


async def confirm_totp_enrolment(
    platform: Platform, user: CurrentUser, code: str, source_ip: str | None
) -> RecoveryCodes:
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        row = await store.user_by_id(conn, user.id, lock=True)
        if row is None:
            raise NotFound("no such user")
        if row["totp_enabled_at"] is not None:
            raise Conflict("two-factor authentication is already enabled")
        if row["totp_secret_encrypted"] is None:
            raise Conflict("start the enrolment first")
        accepted = await _accept_totp(conn, platform, row, code, now)
        if accepted:
            codes = [_new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
            await store.replace_recovery_codes(
                conn,
                user.id,
                [short_code_hash(platform.settings, c.replace("-", "")) for c in codes],
            )
            await store.enable_totp(conn, user.id, now)
            await store.mark_session_two_factor(conn, user.session_id, now)
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


async def require_step_up(platform: Platform, user: CurrentUser, totp_code: str | None) -> None:
    """The step-up check for high-value actions (withdrawals, payouts, role changes):
    the caller must have two-factor enabled and present a fresh, unused TOTP code.
    Raises Forbidden (no 2FA / no code) or Unauthorized (wrong or replayed code)."""
    if not totp_code:
        raise Forbidden(
            "this action needs a fresh code from your authenticator app",
            field="totp_code",
            extra={"step_up_required": True},
        )
    async with transaction(platform.pool) as conn:
        row = await store.user_by_id(conn, user.id)
        if row is None or row["totp_enabled_at"] is None:
            raise Forbidden(
                "enable two-factor authentication before doing this",
                extra={"step_up_required": True},
            )
        accepted = await verify_step_up(conn, platform, user_id=user.id, code=totp_code)
    if not accepted:
        raise Unauthorized("the authenticator code is wrong or was already used", field="totp_code")


async def issue_step_up_token(platform: Platform, user: CurrentUser, totp_code: str) -> StepUpToken:
    """Trade a fresh TOTP code for a 5-minute token bound to this session, for flows
    where the code is asked before the high-value request is sent."""
    await require_step_up(platform, user, totp_code)
    now = platform.clock.now()
    token = jwt.encode(
        {
            "sub": str(user.id),
            "sid": str(user.session_id),
            "typ": "step_up",
            "iss": issuer(platform.settings),
            "aud": AUDIENCE,
            "iat": int(now.timestamp()),
            "exp": int((now + STEP_UP_TTL).timestamp()),
        },
        platform.settings.secret_key,
        algorithm=ALGORITHM,
    )
    return StepUpToken(step_up_token=token, expires_in=int(STEP_UP_TTL.total_seconds()))
