"""Profiles, mentor profiles, ratings, endorsements and reputation; and the country a
user's purchases are taxed in."""

from __future__ import annotations

import uuid
import zoneinfo
from datetime import datetime
from functools import cache
from typing import Any

import msgspec
import phonenumbers
import pycountry

from dracarys.db import Connection, transaction
from dracarys.errors import Conflict, InvalidInput, NotFound
from dracarys.identity import events, store
from dracarys.identity.access import CurrentUser, Role
from dracarys.identity.models import (
    Contact,
    Language,
    MentorProfile,
    MentorProfileUpdate,
    PostalAddress,
    PrivateUser,
    ProfileUpdate,
    PublicUser,
)
from dracarys.identity.personal import NAME, PHONE, personal_data_cipher
from dracarys.identity.profiles import store as profiles_store
from dracarys.identity.profiles.models import UserViewRecord
from dracarys.outbox import emit_event
from dracarys.platform import Platform
from dracarys.settings import Settings

# Reputation: a Bayesian rating average (prior of 5 ratings at 3.0 stars, so one 5-star
# rating cannot outrank a long record) scaled to 0–80, plus one point per endorsement
# up to 20. Integer 0–100.
PRIOR_RATINGS = 5
PRIOR_MEAN = 3.0
MAX_ENDORSEMENT_POINTS = 20
PROFILE_FIELDS_FOR_COMPLETE = (
    "headline",
    "bio",
    "specialties",
    "timezone",
    "experience_level",
    "trading_style",
)


@cache
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def country_code(raw: str) -> str | None:
    """`raw` as an ISO 3166-1 alpha-2 code (upper case), or None when no country has it."""
    code = raw.strip().upper()
    return code if len(code) == 2 and pycountry.countries.get(alpha_2=code) else None


def reputation_score(rating_count: int, rating_sum: int, endorsements: int) -> int:
    bayes = (PRIOR_RATINGS * PRIOR_MEAN + rating_sum) / (PRIOR_RATINGS + rating_count)
    return round(bayes / 5 * 80) + min(endorsements, MAX_ENDORSEMENT_POINTS)


def _mentor_view(user: UserViewRecord) -> MentorProfile | None:
    if user.mentor_user_id is None:
        return None
    # A mentor profile's columns are all NOT NULL: present whenever its user id is.
    count = user.rating_count or 0
    verified = bool(user.verified)
    on_probation = bool(user.on_probation)
    return MentorProfile(
        specialties=list(user.mentor_specialties or []),
        hourly_rate_minor=user.hourly_rate_minor or 0,
        currency=user.currency or "",
        verified=verified,
        verified_badge=verified and not on_probation,
        on_probation=on_probation,
        rating_average=round((user.rating_sum or 0) / count, 2) if count else None,
        rating_count=count,
        total_sessions=user.total_sessions or 0,
    )


def _public_fields(user: UserViewRecord, contact: Contact) -> dict[str, Any]:
    return {
        "id": user.id,
        "name": contact.name,
        "role": user.role.value,
        "headline": user.headline or "",
        "bio": user.bio or "",
        "specialties": list(user.specialties or []),
        "social_links": dict(user.social_links or {}),
        "experience_level": user.experience_level,
        "trading_style": user.trading_style,
        "reputation_score": user.reputation_score,
        "endorsement_count": user.endorsement_count,
        "mentor": _mentor_view(user),
        "joined_at": user.created_at,
    }


async def user_view(
    platform: Platform, viewer: CurrentUser | None, user_id: uuid.UUID
) -> PublicUser | PrivateUser:
    """Everyone signed in sees the public fields; the owner, staff and observers also
    see the private ones. Banned accounts are visible to staff only."""
    async with platform.pool.acquire() as conn:
        user = await profiles_store.user_view(conn, user_id)
    private = viewer is not None and viewer.may_read_as_owner(user_id)
    if user is None or (user.status != "active" and not (viewer and viewer.is_staff)):
        raise NotFound("no such user")
    cipher = personal_data_cipher(platform.settings)
    contact = cipher.open_contact(user)
    if not private:
        return PublicUser(**_public_fields(user, contact))
    return PrivateUser(
        **_public_fields(user, contact),
        email=contact.email,
        email_verified=user.email_verified_at is not None,
        phone=contact.phone,
        phone_verified=user.phone_verified_at is not None,
        address=cipher.open_address(user_id, user.address_sealed),
        timezone=user.timezone,
        country=user.country,
        language=user.language or Language.ENGLISH.value,
        kyc_level=user.kyc_level,
        status=user.status,
        two_factor_enabled=user.totp_enabled_at is not None,
    )


async def update_profile(
    platform: Platform, viewer: CurrentUser, user_id: uuid.UUID, data: ProfileUpdate
) -> PublicUser | PrivateUser:
    viewer.ensure_owner_or_staff(user_id, "this profile")
    if data.timezone is not None and data.timezone not in _timezones():
        raise InvalidInput(
            f"{data.timezone!r} is not an IANA time zone (e.g. Africa/Nairobi)", field="timezone"
        )
    fields: dict[str, Any] = {}
    if data.country is not None:
        fields["country"] = country_code(data.country)
        if fields["country"] is None:
            raise InvalidInput(
                f"{data.country!r} is not an ISO 3166-1 country code (e.g. KE for Kenya)",
                field="country",
            )
    for name in ("headline", "bio", "timezone", "experience_level", "trading_style"):
        value = getattr(data, name)
        if value is not None:
            fields[name] = str(value).strip() if name in ("headline", "bio") else str(value)
    if data.specialties is not None:
        fields["specialties"] = sorted({s.value for s in data.specialties})
    if data.language is not None:
        fields["language"] = data.language.value
    if data.social_links is not None:
        fields["social_links"] = {k.value: v for k, v in data.social_links.items()}
    if data.name is not None and not data.name.strip():
        raise InvalidInput("the name must not be empty", field="name")
    address = _clean_address(data.address) if data.address is not None else None
    cipher = personal_data_cipher(platform.settings)
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        profile = await profiles_store.profile_for_update(conn, user_id)
        if profile is None:
            raise NotFound("no such user")
        if data.name is not None:
            await store.set_name(conn, user_id, cipher.seal(user_id, NAME, data.name.strip()), now)
        if address is not None:
            await profiles_store.set_address(
                conn, user_id, cipher.seal_address(user_id, address), now
            )
        if fields:
            await profiles_store.update_profile(conn, user_id, fields, now)
        merged = {**msgspec.structs.asdict(profile), **fields}
        complete = all(merged.get(f) for f in PROFILE_FIELDS_FOR_COMPLETE)
        if complete and await profiles_store.mark_profile_completed(conn, user_id, now):
            await emit_event(conn, events.ProfileCompleted(user_id=user_id))
    return await user_view(platform, viewer, user_id)


def _clean_address(address: PostalAddress) -> PostalAddress:
    cleaned = PostalAddress(
        line1=address.line1.strip(),
        line2=address.line2.strip(),
        city=address.city.strip(),
        region=address.region.strip(),
        postal_code=address.postal_code.strip(),
    )
    for field in ("line1", "city"):
        if not getattr(cleaned, field):
            raise InvalidInput(f"the address needs its {field}", field=f"address.{field}")
    return cleaned


async def tax_country(conn: Connection, settings: Settings, user_id: uuid.UUID) -> str | None:
    """The country a user's purchases are taxed in, from facts we hold rather than from
    anything a request says: the country on their profile (where they live and are
    billed), else the country of their verified phone number; None when we know neither."""
    user = await profiles_store.user_view(conn, user_id)
    if user is None:
        return None
    if user.country:
        return user.country
    if user.phone_sealed is not None and user.phone_verified_at is not None:
        phone = personal_data_cipher(settings).open(user_id, PHONE, user.phone_sealed)
        region = phonenumbers.region_code_for_number(phonenumbers.parse(phone))
        return country_code(region) if region else None
    return None


async def update_mentor_profile(
    platform: Platform, viewer: CurrentUser, user_id: uuid.UUID, data: MentorProfileUpdate
) -> PublicUser | PrivateUser:
    viewer.ensure_owner_or_staff(user_id, "this mentor profile")
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        account = await store.user_by_id(conn, user_id)
        if account is None:
            raise NotFound("no such user")
        if account.role is not Role.MENTOR:
            raise Conflict("only mentors have a mentor profile")
        await profiles_store.ensure_mentor_profile(conn, user_id, now)
        fields: dict[str, Any] = {}
        if data.specialties is not None:
            fields["specialties"] = sorted({s.value for s in data.specialties})
        if data.hourly_rate_minor is not None:
            fields["hourly_rate_minor"] = data.hourly_rate_minor
        if data.currency is not None:
            fields["currency"] = data.currency
        if fields:
            await profiles_store.update_mentor_profile(conn, user_id, fields, now)
    return await user_view(platform, viewer, user_id)


async def _refresh_reputation(conn: Connection, user_id: uuid.UUID) -> int:
    count, total = await profiles_store.rating_totals(conn, user_id)
    score = reputation_score(count, total, await profiles_store.endorsement_count(conn, user_id))
    await profiles_store.set_reputation(conn, user_id, score)
    return score


async def record_rating(
    conn: Connection,
    mentor_id: uuid.UUID,
    rating: int,
    session_id: uuid.UUID,
    *,
    rater_id: uuid.UUID | None = None,
    now: datetime,
) -> bool:
    """Record one rating of a user for a session (once per session and rater) and update
    the rating average and reputation; False when it was already recorded."""
    if not 1 <= rating <= 5:
        raise InvalidInput("a rating is 1 to 5 stars", field="rating")
    inserted = await profiles_store.insert_rating(
        conn,
        session_id=session_id,
        rater_id=rater_id or uuid.UUID(int=0),
        rated_id=mentor_id,
        rating=rating,
        now=now,
    )
    if inserted:
        await profiles_store.add_mentor_rating(conn, mentor_id, rating)
        await _refresh_reputation(conn, mentor_id)
    return inserted


async def endorse(platform: Platform, viewer: CurrentUser, user_id: uuid.UUID, skill: str) -> int:
    if viewer.id == user_id:
        raise InvalidInput("you cannot endorse yourself")
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        target = await store.user_by_id(conn, user_id, lock=True)
        if target is None or not target.is_active:
            raise NotFound("no such user")
        if not await profiles_store.insert_endorsement(conn, viewer.id, user_id, skill, now):
            raise Conflict("you already endorsed this skill", field="skill")
        return await _refresh_reputation(conn, user_id)


async def count_mentor_session(conn: Connection, mentor_id: uuid.UUID) -> None:
    """One more session held, on the mentor's profile."""
    await profiles_store.add_mentor_session(conn, mentor_id)


async def open_mentor_profile(conn: Connection, user_id: uuid.UUID, now: datetime) -> None:
    """A new mentor's profile: unverified and on probation (the columns' defaults)."""
    await profiles_store.ensure_mentor_profile(conn, user_id, now)


async def set_mentor_flags(
    conn: Connection, user_id: uuid.UUID, fields: dict[str, Any], now: datetime
) -> bool:
    """Set `verified` / `on_probation` on the user's mentor profile (locked until the
    transaction ends); False when the user has none."""
    if not await profiles_store.lock_mentor_profile(conn, user_id):
        return False
    if fields:
        await profiles_store.update_mentor_profile(conn, user_id, fields, now)
    return True
