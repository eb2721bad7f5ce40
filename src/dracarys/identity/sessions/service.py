"""Login sessions: sign-in with password and, once enrolled, a second factor (throttled
before anything is checked), rotating refresh tokens with reuse detection, logout, and
ending every session of an account. A session never outlives `refresh_token_ttl_days`
after its sign-in; access tokens live 15 minutes."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from dracarys.crypto import token_hash
from dracarys.db import Connection, transaction
from dracarys.errors import Forbidden, NotFound, Unauthorized
from dracarys.identity import events, store
from dracarys.identity.access import ACCESS_TOKEN_TTL, CurrentUser, Role, issue_access_token
from dracarys.identity.audit.service import record_audit
from dracarys.identity.models import LoginInput, SignInSession, TokenPair
from dracarys.identity.passwords import hash_password, needs_rehash, verify_password
from dracarys.identity.personal import personal_data_cipher
from dracarys.identity.sessions import store as sessions_store
from dracarys.identity.sessions.devices import device_label
from dracarys.identity.throttle import (
    LoginThrottle,
    SecondFactorThrottle,
    account_key,
    issue_device_token,
)
from dracarys.identity.totp import check_second_factor
from dracarys.outbox import emit_event
from dracarys.platform import Platform

# Admins and reviewers are told to enrol at sign-in, and act as staff only after.
TWO_FACTOR_ROLES = frozenset({Role.ADMIN, Role.REVIEWER})
WRONG_CREDENTIALS = "the e-mail address or the password is wrong"


@dataclass(frozen=True, slots=True)
class SignedIn:
    tokens: TokenPair
    # For the client to present at its next sign-in (see `throttle`).
    device_token: str


# ---- opening a session ----------------------------------------------------------------


async def open_session(
    conn: Connection,
    platform: Platform,
    *,
    user_id: uuid.UUID,
    role: Role,
    source_ip: str | None,
    user_agent: str | None,
    two_factor: bool,
) -> TokenPair:
    now = platform.clock.now()
    session_id = uuid.uuid4()
    ttl = timedelta(days=platform.settings.refresh_token_ttl_days)
    await sessions_store.insert_session(
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
    role: Role,
    session_id: uuid.UUID,
    two_factor: bool,
) -> TokenPair:
    now = platform.clock.now()
    refresh = secrets.token_urlsafe(32)
    # Rotation never outlives the session: it ends `refresh_token_ttl_days` after sign-in.
    session = await sessions_store.session_record(conn, session_id)
    ends = now + timedelta(days=platform.settings.refresh_token_ttl_days)
    if session is not None and session.expires_at is not None:
        ends = min(ends, session.expires_at)
    await sessions_store.insert_refresh_token(
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
        role=role.value,
        two_factor_enrolment_required=role in TWO_FACTOR_ROLES and not two_factor,
    )


# ---- sign-in, refresh, logout ---------------------------------------------------------


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
        account = await store.user_by_email_index(conn, email_index)
    matched = await verify_password(account.password_hash if account else None, data.password)
    if account is None or not matched:
        # Told through the outbox so that staff alerts can see a burst across accounts
        # from one network (the throttle's counters see addresses, not networks).
        async with transaction(platform.pool) as conn:
            await emit_event(
                conn,
                events.UserLoginFailed(
                    account_key=account_key(platform.settings, data.email), source_ip=source_ip
                ),
            )
        raise Unauthorized(WRONG_CREDENTIALS)
    await attempt.succeeded()
    if not account.is_active:
        raise Forbidden("this account is suspended")
    user_id = account.id
    second_factor = SecondFactorThrottle(platform.counters, platform.settings)
    enrolled = account.totp_enabled_at is not None
    if enrolled:
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
        two_factor = enrolled and await check_second_factor(
            conn,
            platform.settings,
            user_id,
            totp_code=data.totp_code,
            recovery_code=data.recovery_code,
            now=now,
        )
        failed = enrolled and not two_factor
        if failed:
            await record_audit(
                conn, user_id, "auth.two_factor_failed", f"user:{user_id}", source_ip, {}, at=now
            )
        else:
            if account.password_hash is not None and needs_rehash(account.password_hash):
                await store.set_password_hash(conn, user_id, await hash_password(data.password))
            pair = await open_session(
                conn,
                platform,
                user_id=user_id,
                role=account.role,
                source_ip=source_ip,
                user_agent=user_agent,
                two_factor=two_factor,
            )
            await emit_event(
                conn,
                events.UserLoggedIn(
                    user_id=user_id, source_ip=source_ip, device=device_label(user_agent)
                ),
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
        token = await sessions_store.refresh_token_for_update(conn, token_hash(refresh_token))
        if token is None:
            refusal = "this refresh token is not valid"
        elif token.used_at is not None:
            if await sessions_store.revoke_session(conn, token.session_id, now):
                ended_session = token.session_id
                await record_audit(
                    conn,
                    token.user_id,
                    "auth.refresh_reuse_detected",
                    f"user:{token.user_id}",
                    source_ip,
                    {"session_id": str(token.session_id)},
                    at=now,
                )
            refusal = "this refresh token was already used; the session has been ended"
        elif (
            token.revoked_at is not None
            or token.expires_at <= now
            or (token.session_expires_at is not None and token.session_expires_at <= now)
        ):
            refusal = "this session has ended; sign in again"
        elif token.status != "active":
            refusal = "this account is suspended"
        else:
            await sessions_store.mark_refresh_token_used(conn, token.id, now)
            return await _issue_pair(
                conn,
                platform,
                user_id=token.user_id,
                role=token.role,
                session_id=token.session_id,
                two_factor=token.two_factor_at is not None,
            )
    if ended_session is not None:
        await platform.session_cache.publish_session_change(ended_session)
    raise Unauthorized(refusal or "this refresh token is not valid")


async def logout(platform: Platform, user: CurrentUser, source_ip: str | None) -> None:
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        await sessions_store.revoke_session(conn, user.session_id, now)
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


# ---- the owner's list of signed-in devices ----------------------------------------------


async def list_sessions(platform: Platform, user: CurrentUser) -> list[SignInSession]:
    """The caller's live sessions, the one calling marked `current`."""
    return await _live_sessions(platform, user.id, user.session_id)


async def _live_sessions(
    platform: Platform, user_id: uuid.UUID, current_session: uuid.UUID | None
) -> list[SignInSession]:
    async with platform.pool.acquire() as conn:
        listed = await sessions_store.live_sessions_of_user(conn, user_id, platform.clock.now())
    return [
        SignInSession(
            id=session.id,
            device=device_label(session.user_agent),
            user_agent=session.user_agent,
            source_ip=session.source_ip,
            signed_in_at=session.created_at,
            last_seen_at=session.last_seen_at,
            expires_at=session.expires_at,
            two_factor=session.two_factor_at is not None,
            current=session.id == current_session,
        )
        for session in listed
    ]


async def revoke_own_session(
    platform: Platform, user: CurrentUser, session_id: uuid.UUID, source_ip: str | None
) -> None:
    """End one of the caller's live sessions (its access and refresh tokens with it). A
    session of someone else, or one already ended, is a 404 like an unknown one."""
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        if not await sessions_store.revoke_session_of_user(conn, session_id, user.id, now):
            raise NotFound("no such signed-in session of yours")
        await record_audit(
            conn,
            user.id,
            "auth.session_revoked",
            f"user:{user.id}",
            source_ip,
            {"session_id": str(session_id), "current": session_id == user.session_id},
            at=now,
        )
    await platform.session_cache.publish_session_change(session_id)


# ---- staff: a member's sessions ---------------------------------------------------------


async def sessions_of_user(
    platform: Platform, staff: CurrentUser, user_id: uuid.UUID
) -> list[SignInSession]:
    """A member's live sessions, for staff looking into their account."""
    async with platform.pool.acquire() as conn:
        if await store.user_by_id(conn, user_id) is None:
            raise NotFound("no such user")
    return await _live_sessions(platform, user_id, staff.session_id)


async def revoke_session_by_staff(
    platform: Platform,
    staff: CurrentUser,
    user_id: uuid.UUID,
    session_id: uuid.UUID,
    source_ip: str | None,
) -> None:
    """End one of a member's live sessions (a device they lost, a session that looks taken
    over), audited with the member of staff who did it."""
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        if not await sessions_store.revoke_session_of_user(conn, session_id, user_id, now):
            raise NotFound("this member has no such signed-in session")
        await record_audit(
            conn,
            staff.id,
            "admin.session_revoked",
            f"user:{user_id}",
            source_ip,
            {"session_id": str(session_id)},
            at=now,
        )
    await platform.session_cache.publish_session_change(session_id)


# ---- what other parts of identity change in sessions ------------------------------------


async def end_all_sessions(conn: Connection, user_id: uuid.UUID, now: datetime) -> int:
    """Revoke every live session of the user (a ban, an account taken over); the caller
    publishes the change after commit. Returns how many were live."""
    return await sessions_store.revoke_all_sessions(conn, user_id, now)


async def mark_two_factor(conn: Connection, session_id: uuid.UUID, now: datetime) -> None:
    """The session passed a second factor (by enrolling)."""
    await sessions_store.mark_session_two_factor(conn, session_id, now)


async def forget_two_factor(conn: Connection, user_id: uuid.UUID) -> None:
    """No session of the user counts as having passed a second factor any more."""
    await sessions_store.clear_two_factor(conn, user_id)
