"""The topics identity produces, each with its payload (ids as strings on the wire),
emitted through the outbox with `emit_event`."""

from __future__ import annotations

import uuid
from typing import ClassVar

from dracarys.outbox import EventPayload

USER_SIGNED_UP = "user.signed_up"
USER_EMAIL_VERIFIED = "user.email_verified"
USER_PHONE_VERIFIED = "user.phone_verified"
PROFILE_COMPLETED = "profile.completed"
KYC_APPROVED = "kyc.approved"
KYC_REJECTED = "kyc.rejected"
USER_LOGGED_IN = "user.logged_in"
USER_LOGIN_FAILED = "user.login_failed"
USER_BANNED = "user.banned"
# Every session of the user was ended with the reset.
USER_PASSWORD_RESET = "user.password_reset"  # noqa: S105 - a topic, not a secret
USER_ROLE_CHANGED = "user.role_changed"


class UserSignedUp(EventPayload, frozen=True, kw_only=True):
    topic: ClassVar[str] = USER_SIGNED_UP
    user_id: uuid.UUID


class UserEmailVerified(EventPayload, frozen=True, kw_only=True):
    topic: ClassVar[str] = USER_EMAIL_VERIFIED
    user_id: uuid.UUID


class UserPhoneVerified(EventPayload, frozen=True, kw_only=True):
    topic: ClassVar[str] = USER_PHONE_VERIFIED
    user_id: uuid.UUID


class ProfileCompleted(EventPayload, frozen=True, kw_only=True):
    topic: ClassVar[str] = PROFILE_COMPLETED
    user_id: uuid.UUID


class KycApproved(EventPayload, frozen=True, kw_only=True):
    """The user's KYC level rose to `level`."""

    topic: ClassVar[str] = KYC_APPROVED
    user_id: uuid.UUID
    level: int


class KycRejected(EventPayload, frozen=True, kw_only=True):
    topic: ClassVar[str] = KYC_REJECTED
    user_id: uuid.UUID
    document_id: uuid.UUID
    doc_type: str
    reason: str | None


class UserLoggedIn(EventPayload, frozen=True, kw_only=True):
    topic: ClassVar[str] = USER_LOGGED_IN
    user_id: uuid.UUID
    source_ip: str | None
    # The device's short name from its User-Agent ("Firefox on Windows"), as the sessions
    # list shows it; None in events written before it was carried.
    device: str | None = None


class UserLoginFailed(EventPayload, frozen=True, kw_only=True):
    """A wrong e-mail or password (the attempt was within the throttle's limits).
    `account_key` is the throttle's keyed blind index of the e-mail as typed, account or
    not: who reads it can tell attempts on one account from attempts across many without
    learning the addresses."""

    topic: ClassVar[str] = USER_LOGIN_FAILED
    account_key: str
    source_ip: str | None


class UserBanned(EventPayload, frozen=True, kw_only=True):
    topic: ClassVar[str] = USER_BANNED
    user_id: uuid.UUID


class UserPasswordReset(EventPayload, frozen=True, kw_only=True):
    topic: ClassVar[str] = USER_PASSWORD_RESET
    user_id: uuid.UUID


class UserRoleChanged(EventPayload, frozen=True, kw_only=True):
    """An admin set the account's role (`previous`: the role it had, None in events
    written before it was named; the same as `role` when nothing changed)."""

    topic: ClassVar[str] = USER_ROLE_CHANGED
    user_id: uuid.UUID
    role: str
    previous: str | None = None
