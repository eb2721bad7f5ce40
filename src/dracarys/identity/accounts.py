"""What other domains may know of an account — role, status, KYC level, experience — read
through these functions instead of the users table, so identity alone owns its tables."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime

import msgspec

from dracarys.db import Connection, record, record_or_none, records
from dracarys.identity import store
from dracarys.identity.models import Role
from dracarys.identity.personal import personal_data_cipher
from dracarys.identity.profiles.service import PRIOR_MEAN, PRIOR_RATINGS
from dracarys.settings import Settings


class Account(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    role: Role
    status: str
    kyc_level: int
    experience_level: str | None
    created_at: datetime

    @property
    def is_active(self) -> bool:
        return self.status == "active"


class LiveSession(msgspec.Struct, frozen=True, kw_only=True):
    session_id: uuid.UUID
    user_id: uuid.UUID
    role: Role


async def account_of(conn: Connection, user_id: uuid.UUID, *, lock: bool = False) -> Account | None:
    """One account; `lock` holds its row until the transaction ends (as KYC changes do)."""
    return record_or_none(Account, await store.account(conn, user_id, lock=lock))


async def accounts_of(
    conn: Connection, user_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, Account]:
    return {a.id: a for a in records(Account, await store.accounts(conn, set(user_ids)))}


async def account_with_email(conn: Connection, settings: Settings, email: str) -> Account | None:
    """The account signed up with this e-mail address (found by its blind index, since
    addresses are sealed at rest), if any."""
    index = personal_data_cipher(settings).email_index(email)
    return record_or_none(Account, await store.account_with_email_index(conn, index))


class MentorUnderVetting(msgspec.Struct, frozen=True, kw_only=True):
    """A mentor still on probation or not yet verified, as the vetting queue shows them."""

    id: uuid.UUID
    status: str
    verified: bool
    on_probation: bool
    specialties: list[str]
    total_sessions: int
    created_at: datetime


async def mentors_under_vetting(conn: Connection, *, limit: int = 200) -> list[MentorUnderVetting]:
    """Mentors on probation or unverified, longest-standing accounts first."""
    return records(MentorUnderVetting, await store.mentors_under_vetting(conn, limit))


async def active_accounts_with_role(
    conn: Connection, role: Role, *, min_kyc_level: int = 0, limit: int | None = None
) -> list[Account]:
    """Active accounts of a role, oldest first."""
    rows = await store.active_accounts_with_role(
        conn, role.value, min_kyc_level=min_kyc_level, limit=limit
    )
    return records(Account, rows)


async def live_sessions(
    conn: Connection, session_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, LiveSession]:
    """The sessions, of those given, that are not revoked and whose user is active."""
    rows = await store.live_sessions_of_active_users(conn, set(session_ids))
    return {s.session_id: s for s in (record(LiveSession, row) for row in rows)}


class MentorListing(msgspec.Struct, frozen=True, kw_only=True):
    """A vetted mentor as discovery shows them: their mentor profile, the headline,
    bio and trading style of their profile, their ratings and reputation."""

    id: uuid.UUID
    reputation_score: int
    specialties: list[str]
    hourly_rate_minor: int
    currency: str
    rating_count: int
    rating_sum: int
    total_sessions: int
    headline: str
    trading_style: str | None
    bio: str = ""


async def listed_mentors(
    conn: Connection,
    *,
    specialty: str | None = None,
    min_rate_minor: int | None = None,
    max_rate_minor: int | None = None,
    min_rating: float | None = None,
    among: Collection[uuid.UUID] | None = None,
    limit: int,
) -> list[MentorListing]:
    """Active mentors a reviewer has taken off probation, best reputation first, filtered
    by specialty, hourly rate, average rating and (`among`) a set of ids."""
    rows = await store.listed_mentors(
        conn,
        specialty=specialty,
        min_rate_minor=min_rate_minor,
        max_rate_minor=max_rate_minor,
        min_rating=min_rating,
        among=None if among is None else set(among),
        limit=limit,
    )
    return records(MentorListing, rows)


def rating_with_prior(rating_count: int, rating_sum: float) -> float:
    """The Bayesian average identity ranks reputation by: a few ratings are pulled toward
    the prior mean, so one 5-star review is no record."""
    return (PRIOR_RATINGS * PRIOR_MEAN + rating_sum) / (PRIOR_RATINGS + rating_count)


async def timezone_of(conn: Connection, user_id: uuid.UUID) -> str | None:
    """The IANA zone on the user's profile, if they set one."""
    return (await profile_timezones(conn, [user_id])).get(user_id)


class _ProfileZone(msgspec.Struct, frozen=True):
    user_id: uuid.UUID
    timezone: str


class _ProfileLanguage(msgspec.Struct, frozen=True):
    user_id: uuid.UUID
    language: str


class _SignIn(msgspec.Struct, frozen=True):
    user_id: uuid.UUID
    signed_in_at: datetime


async def profile_timezones(
    conn: Connection, user_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, str]:
    """The IANA time zone each user set on their profile, for those who set one."""
    rows = await store.profile_timezones(conn, set(user_ids))
    return {z.user_id: z.timezone for z in records(_ProfileZone, rows)}


async def profile_languages(
    conn: Connection, user_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, str]:
    """The language (`Language`) each user reads notifications in, for those who chose
    one other than English (the default)."""
    rows = await store.profile_languages(conn, set(user_ids))
    return {p.user_id: p.language for p in records(_ProfileLanguage, rows)}


async def language_of(conn: Connection, user_id: uuid.UUID) -> str:
    """The language one user reads identity's mails in (`en` unless they chose another)."""
    return (await profile_languages(conn, [user_id])).get(user_id, "en")


async def last_sign_ins(
    conn: Connection, user_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, datetime]:
    """When each user last signed in (their newest session began), for those who ever did."""
    rows = await store.last_sign_ins(conn, set(user_ids))
    return {s.user_id: s.signed_in_at for s in records(_SignIn, rows)}
