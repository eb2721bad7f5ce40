"""The admin actions on accounts: role change, ban and unban, KYC level override, and the
reviewers' verdict on a mentor (verified, on probation). Each is audited; a change to what
a session may do reaches every process's session cache after it commits."""

from __future__ import annotations

import uuid
from typing import Any

from dracarys.db import transaction
from dracarys.errors import Forbidden, InvalidInput, NotFound
from dracarys.identity import events, store
from dracarys.identity.access import CurrentUser, Role
from dracarys.identity.accounts import language_of
from dracarys.identity.audit.service import record_audit
from dracarys.identity.mail import ACCOUNT_BANNED, in_language
from dracarys.identity.models import MentorStatusInput
from dracarys.identity.personal import personal_data_cipher
from dracarys.identity.profiles.service import open_mentor_profile, set_mentor_flags
from dracarys.identity.sessions.service import end_all_sessions
from dracarys.messaging import queue_email
from dracarys.outbox import emit_event
from dracarys.platform import Platform


async def change_role(
    platform: Platform, admin: CurrentUser, user_id: uuid.UUID, role: str, source_ip: str | None
) -> None:
    try:
        new_role = Role(role)
    except ValueError:
        raise InvalidInput(f"unknown role {role!r}", field="role") from None
    if user_id == admin.id:
        raise Forbidden("you cannot change your own role")
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        account = await store.user_by_id(conn, user_id, lock=True)
        if account is None:
            raise NotFound("no such user")
        await store.set_role(conn, user_id, new_role.value, now)
        if new_role is Role.MENTOR:
            # New mentors start on probation and unverified.
            await open_mentor_profile(conn, user_id, now)
        await emit_event(
            conn, events.UserRoleChanged(user_id=user_id, role=role, previous=account.role.value)
        )
        await record_audit(
            conn,
            admin.id,
            "admin.role_changed",
            f"user:{user_id}",
            source_ip,
            {"from": account.role.value, "to": new_role.value},
            at=now,
        )
    await platform.session_cache.publish_user_change(user_id)


async def set_ban(
    platform: Platform,
    admin: CurrentUser,
    user_id: uuid.UUID,
    *,
    banned: bool,
    reason: str | None,
    source_ip: str | None,
) -> None:
    if user_id == admin.id:
        raise Forbidden("you cannot ban yourself")
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        account = await store.user_by_id(conn, user_id, lock=True)
        if account is None:
            raise NotFound("no such user")
        await store.set_status(conn, user_id, "banned" if banned else "active", reason, now)
        revoked = 0
        if banned:
            revoked = await end_all_sessions(conn, user_id, now)
            await emit_event(conn, events.UserBanned(user_id=user_id))
            contact = personal_data_cipher(platform.settings).open_contact(account)
            await queue_email(
                conn,
                platform.settings,
                to=contact.email,
                template=in_language(ACCOUNT_BANNED, await language_of(conn, user_id)),
                context={"name": contact.name, "reason": reason or ""},
                now=now,
                user_id=user_id,
            )
        await record_audit(
            conn,
            admin.id,
            "admin.ban" if banned else "admin.unban",
            f"user:{user_id}",
            source_ip,
            {"reason": reason or "", "sessions_revoked": revoked},
            at=now,
        )
    await platform.session_cache.publish_user_change(user_id)


async def override_kyc_level(
    platform: Platform,
    admin: CurrentUser,
    user_id: uuid.UUID,
    level: int,
    reason: str,
    source_ip: str | None,
) -> None:
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        account = await store.user_by_id(conn, user_id, lock=True)
        if account is None:
            raise NotFound("no such user")
        await store.set_kyc_level(conn, user_id, level, now)
        if level > account.kyc_level:
            await emit_event(conn, events.KycApproved(user_id=user_id, level=level))
        await record_audit(
            conn,
            admin.id,
            "admin.kyc_override",
            f"user:{user_id}",
            source_ip,
            {"from": account.kyc_level, "to": level, "reason": reason},
            at=now,
        )


async def set_mentor_status(
    platform: Platform,
    admin: CurrentUser,
    user_id: uuid.UUID,
    data: MentorStatusInput,
    source_ip: str | None,
) -> None:
    now = platform.clock.now()
    fields: dict[str, Any] = {}
    if data.verified is not None:
        fields["verified"] = data.verified
    if data.on_probation is not None:
        fields["on_probation"] = data.on_probation
    async with transaction(platform.pool) as conn:
        if not await set_mentor_flags(conn, user_id, fields, now):
            raise NotFound("this user has no mentor profile")
        await record_audit(
            conn, admin.id, "admin.mentor_status", f"user:{user_id}", source_ip, fields, at=now
        )
