"""Accounts: signing up (the account, its empty profile and the e-mail verification link
in one transaction) and what `GET /me` shows. Sign-in and sessions are in `sessions`,
addresses in `verification`, two-factor in `twofactor` and `stepup`."""

from __future__ import annotations

import uuid

import asyncpg

from dracarys.db import transaction
from dracarys.errors import Conflict, NotFound
from dracarys.identity import events, store
from dracarys.identity.access import CurrentUser, Role
from dracarys.identity.audit.service import record_audit
from dracarys.identity.models import Me, SignupInput, SignupResult
from dracarys.identity.passwords import check_password_policy, hash_password
from dracarys.identity.personal import personal_data_cipher
from dracarys.identity.signup_hooks import (
    NO_SIGNUP_HOOKS,
    SignupContext,
    SignupHooks,
    SignupRequest,
)
from dracarys.identity.verification.service import (
    normalize_email,
    normalize_phone,
    send_email_verification,
)
from dracarys.outbox import emit_event
from dracarys.platform import Platform


async def signup(
    platform: Platform,
    data: SignupInput,
    source_ip: str | None,
    *,
    request: SignupRequest | None = None,
    hooks: SignupHooks = NO_SIGNUP_HOOKS,
) -> SignupResult:
    """`hooks` run inside the sign-up's transaction with what `request` carried."""
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
            await emit_event(conn, events.UserSignedUp(user_id=user_id))
            await record_audit(
                conn, user_id, "user.signup", f"user:{user_id}", source_ip, {}, at=now
            )
            await hooks.run(
                conn,
                platform,
                SignupContext(
                    user_id=user_id,
                    email=email,
                    source_ip=source_ip,
                    user_agent=request.user_agent if request else None,
                    cookies=request.cookies if request else {},
                    at=now,
                ),
            )
    except asyncpg.UniqueViolationError as exc:
        field = "phone" if "phone" in (exc.constraint_name or "") else "email"
        raise Conflict(f"an account with this {field} already exists", field=field) from None
    return SignupResult(user_id=user_id, email=email, phone=phone, email_verification_sent=True)


async def me(platform: Platform, user: CurrentUser) -> Me:
    async with platform.pool.acquire() as conn:
        account = await store.me_row(conn, user.id)
    if account is None:
        raise NotFound("no such user")
    contact = personal_data_cipher(platform.settings).open_contact(account)
    return Me(
        id=account.id,
        email=contact.email,
        name=contact.name,
        role=account.role.value,
        kyc_level=account.kyc_level,
        email_verified=account.email_verified_at is not None,
        phone=contact.phone,
        phone_verified=account.phone_verified_at is not None,
        two_factor_enabled=account.totp_enabled_at is not None,
        reputation_score=account.reputation_score,
    )
