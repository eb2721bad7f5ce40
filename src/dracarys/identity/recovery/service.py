"""Forgotten passwords. Asking for a reset answers the same whether or not an account
uses the address (the mail goes only where one does), throttled per address and per
source before anything is looked up. The link lives 30 minutes and works once; using it
sets the new password (the sign-up rules), spends every open link of the account, ends
every session of the account (refresh tokens with them; every process's session cache is
told after commit), proves the mailbox as a verification link would, and is audited and
announced (`user.password_reset`, and a mail saying so)."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from dracarys.crypto import token_hash
from dracarys.db import transaction
from dracarys.errors import InvalidInput
from dracarys.identity import events, store
from dracarys.identity.accounts import language_of
from dracarys.identity.audit.service import record_audit
from dracarys.identity.kyc.decisions import recompute_kyc_level
from dracarys.identity.links import LinkRefusal, link_refused, refusal_of
from dracarys.identity.mail import PASSWORD_CHANGED, PASSWORD_RESET, in_language
from dracarys.identity.models import UserRecord
from dracarys.identity.passwords import check_password_policy, hash_password
from dracarys.identity.personal import personal_data_cipher
from dracarys.identity.recovery import store as recovery_store
from dracarys.identity.recovery.models import ResetToken
from dracarys.identity.sessions.service import end_all_sessions
from dracarys.identity.throttle import reserve_password_reset
from dracarys.identity.verification.service import normalize_email
from dracarys.messaging import queue_email
from dracarys.outbox import emit_event
from dracarys.platform import Platform

RESET_TOKEN_TTL = timedelta(minutes=30)

_RESET_LINK_REFUSED = {
    LinkRefusal.UNKNOWN: "this reset link is not valid; open the whole link from the e-mail, "
    "or ask for a new one",
    LinkRefusal.ALREADY_USED: "this reset link was already used; ask for a new one if you "
    "still need to choose a password",
    LinkRefusal.EXPIRED: "this reset link has expired (links last 30 minutes); ask for a new one",
}


async def request_password_reset(platform: Platform, email: str, source_ip: str | None) -> None:
    """Mail a reset link when an active account uses `email`; nothing otherwise. The
    caller answers the same either way."""
    address = normalize_email(email)
    settings = platform.settings
    await reserve_password_reset(platform.counters, settings, address, source_ip)
    cipher = personal_data_cipher(settings)
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        account = await store.user_by_email_index(conn, cipher.email_index(address))
        if account is None or not account.is_active or account.email_index is None:
            return
        token = secrets.token_urlsafe(32)
        await recovery_store.insert_reset_token(
            conn,
            token_hash=token_hash(token),
            user_id=account.id,
            email_index=account.email_index,
            now=now,
            expires_at=now + RESET_TOKEN_TTL,
        )
        contact = cipher.open_contact(account)
        await queue_email(
            conn,
            settings,
            to=contact.email,
            template=in_language(PASSWORD_RESET, await language_of(conn, account.id)),
            context={
                "name": contact.name,
                "link": f"{settings.public_url}/reset-password?token={token}",
                "minutes": int(RESET_TOKEN_TTL.total_seconds() // 60),
            },
            now=now,
            user_id=account.id,
        )
        # The asker is not known (no one is signed in): the account is the target.
        await record_audit(
            conn, None, "auth.password_reset_requested", f"user:{account.id}", source_ip, {}, at=now
        )


def _usable_account(
    link: ResetToken | None, account: UserRecord | None, now: datetime
) -> UserRecord:
    """The account the link resets, or the refusal: unknown, used or expired link, or an
    account that is suspended or no longer uses the address the link was mailed to."""
    refusal = refusal_of(link, now)
    if refusal is not None:
        raise link_refused(refusal, _RESET_LINK_REFUSED)
    if (
        link is None
        or account is None
        or not account.is_active
        or account.email_index != link.email_index
    ):
        raise InvalidInput(
            "this reset link is for an account or address that can no longer use it",
            field="token",
            extra={"reason": "address_changed"},
        )
    return account


async def reset_password(
    platform: Platform, token: str, password: str, source_ip: str | None
) -> None:
    hashed = token_hash(token)
    now = platform.clock.now()
    cipher = personal_data_cipher(platform.settings)
    # Checked before the slow hash, so a bad link or password costs no argon2 work and
    # spends nothing: the person can fix the password and send again.
    async with platform.pool.acquire() as conn:
        link = await recovery_store.reset_token(conn, hashed)
        account = await store.user_by_id(conn, link.user_id) if link else None
    account = _usable_account(link, account, now)
    check_password_policy(password, email=cipher.open_contact(account).email)
    password_hash = await hash_password(password)
    async with transaction(platform.pool) as conn:
        # Again, locked: a reset that raced this one may have used the link meanwhile.
        link = await recovery_store.reset_token(conn, hashed, lock=True)
        account = await store.user_by_id(conn, account.id, lock=True)
        account = _usable_account(link, account, now)
        user_id = account.id
        await recovery_store.spend_open_reset_tokens(conn, user_id, now)
        await store.set_password_hash(conn, user_id, password_hash)
        revoked = await end_all_sessions(conn, user_id, now)
        if account.email_verified_at is None:
            # The link reached the mailbox: as good a proof as a verification link.
            await store.mark_email_verified(conn, user_id, now)
            await emit_event(conn, events.UserEmailVerified(user_id=user_id))
            await recompute_kyc_level(conn, user_id, now)
        await emit_event(conn, events.UserPasswordReset(user_id=user_id))
        await record_audit(
            conn,
            user_id,
            "auth.password_reset",
            f"user:{user_id}",
            source_ip,
            {"sessions_revoked": revoked},
            at=now,
        )
        contact = cipher.open_contact(account)
        await queue_email(
            conn,
            platform.settings,
            to=contact.email,
            template=in_language(PASSWORD_CHANGED, await language_of(conn, user_id)),
            context={
                "name": contact.name,
                "forgot_link": f"{platform.settings.public_url}/forgot-password",
            },
            now=now,
            user_id=user_id,
        )
    await platform.session_cache.publish_user_change(user_id)
