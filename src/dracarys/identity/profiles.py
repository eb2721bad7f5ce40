"""Profiles, mentor profiles, endorsements and reputation, and the admin actions on
accounts (role change, ban/unban, KYC override, mentor verification)."""

from __future__ import annotations

import uuid
import zoneinfo
from datetime import datetime
from functools import cache
from typing import Any

import asyncpg
import phonenumbers
import pycountry

from dracarys.db import Connection, transaction
from dracarys.errors import Conflict, Forbidden, InvalidInput, NotFound
from dracarys.identity import events, store
from dracarys.identity.access import CurrentUser, Role
from dracarys.identity.audit import record_audit
from dracarys.identity.models import (
    Contact,
    MentorProfile,
    MentorProfileUpdate,
    MentorStatusInput,
    PostalAddress,
    PrivateUser,
    ProfileUpdate,
    PublicUser,
)
from dracarys.identity.personal import NAME, PHONE, personal_data_cipher
from dracarys.messaging.service import queue_email
from dracarys.outbox import Event, emit
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


def _mentor_view(row: asyncpg.Record) -> MentorProfile | None:
    if row["mentor_user_id"] is None:
        return None
    count = int(row["rating_count"])
    return MentorProfile(
        specialties=list(row["mentor_specialties"]),
        hourly_rate_minor=int(row["hourly_rate_minor"]),
        currency=row["currency"],
        verified=row["verified"],
        verified_badge=row["verified"] and not row["on_probation"],
        on_probation=row["on_probation"],
        rating_average=round(row["rating_sum"] / count, 2) if count else None,
        rating_count=count,
        total_sessions=int(row["total_sessions"]),
    )


def _public_fields(row: asyncpg.Record, contact: Contact) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": contact.name,
        "role": row["role"],
        "headline": row["headline"] or "",
        "bio": row["bio"] or "",
        "specialties": list(row["specialties"] or []),
        "social_links": dict(row["social_links"] or {}),
        "experience_level": row["experience_level"],
        "trading_style": row["trading_style"],
        "reputation_score": row["reputation_score"],
        "endorsement_count": int(row["endorsement_count"]),
        "mentor": _mentor_view(row),
        "joined_at": row["created_at"],
    }


async def user_view(
    platform: Platform, viewer: CurrentUser | None, user_id: uuid.UUID
) -> PublicUser | PrivateUser:
    """Everyone signed in sees the public fields; the owner, staff and observers also
    see the private ones. Banned accounts are visible to staff only."""
    async with platform.pool.acquire() as conn:
        row = await store.user_view_row(conn, user_id)
    private = viewer is not None and viewer.may_read_as_owner(user_id)
    if row is None or (row["status"] != "active" and not (viewer and viewer.is_staff)):
        raise NotFound("no such user")
    cipher = personal_data_cipher(platform.settings)
    contact = cipher.open_contact(row)
    if not private:
        return PublicUser(**_public_fields(row, contact))
    return PrivateUser(
        **_public_fields(row, contact),
        email=contact.email,
        email_verified=row["email_verified_at"] is not None,
        phone=contact.phone,
        phone_verified=row["phone_verified_at"] is not None,
        address=cipher.open_address(user_id, row["address_sealed"]),
        timezone=row["timezone"],
        country=row["country"],
        kyc_level=row["kyc_level"],
        status=row["status"],
        two_factor_enabled=row["totp_enabled_at"] is not None,
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
    if data.social_links is not None:
        fields["social_links"] = {k.value: v for k, v in data.social_links.items()}
    if data.name is not None and not data.name.strip():
        raise InvalidInput("the name must not be empty", field="name")
    address = _clean_address(data.address) if data.address is not None else None
    cipher = personal_data_cipher(platform.settings)
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        profile = await store.profile_for_update(conn, user_id)
        if profile is None:
            raise NotFound("no such user")
        if data.name is not None:
            await store.set_name(conn, user_id, cipher.seal(user_id, NAME, data.name.strip()), now)
        if address is not None:
            await store.set_address(conn, user_id, cipher.seal_address(user_id, address), now)
        if fields:
            await store.update_profile(conn, user_id, fields, now)
        merged = {**dict(profile), **fields}
        complete = all(merged.get(f) for f in PROFILE_FIELDS_FOR_COMPLETE)
        if complete and await store.mark_profile_completed(conn, user_id, now):
            await emit(conn, events.PROFILE_COMPLETED, {"user_id": str(user_id)})
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
    row = await store.user_view_row(conn, user_id)
    if row is None:
        return None
    if row["country"]:
        return str(row["country"])
    if row["phone_sealed"] is not None and row["phone_verified_at"] is not None:
        phone = personal_data_cipher(settings).open(user_id, PHONE, row["phone_sealed"])
        region = phonenumbers.region_code_for_number(phonenumbers.parse(phone))
        return country_code(region) if region else None
    return None


async def update_mentor_profile(
    platform: Platform, viewer: CurrentUser, user_id: uuid.UUID, data: MentorProfileUpdate
) -> PublicUser | PrivateUser:
    viewer.ensure_owner_or_staff(user_id, "this mentor profile")
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        user = await store.user_by_id(conn, user_id)
        if user is None:
            raise NotFound("no such user")
        if user["role"] != Role.MENTOR.value:
            raise Conflict("only mentors have a mentor profile")
        await store.ensure_mentor_profile(conn, user_id, now)
        fields: dict[str, Any] = {}
        if data.specialties is not None:
            fields["specialties"] = sorted({s.value for s in data.specialties})
        if data.hourly_rate_minor is not None:
            fields["hourly_rate_minor"] = data.hourly_rate_minor
        if data.currency is not None:
            fields["currency"] = data.currency
        if fields:
            await store.update_mentor_profile(conn, user_id, fields, now)
    return await user_view(platform, viewer, user_id)


async def _refresh_reputation(conn: Connection, user_id: uuid.UUID) -> int:
    count, total = await store.rating_totals(conn, user_id)
    score = reputation_score(count, total, await store.endorsement_count(conn, user_id))
    await store.set_reputation(conn, user_id, score)
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
    inserted = await store.insert_rating(
        conn,
        session_id=session_id,
        rater_id=rater_id or uuid.UUID(int=0),
        rated_id=mentor_id,
        rating=rating,
        now=now,
    )
    if inserted:
        await store.add_mentor_rating(conn, mentor_id, rating)
        await _refresh_reputation(conn, mentor_id)
    return inserted


async def endorse(platform: Platform, viewer: CurrentUser, user_id: uuid.UUID, skill: str) -> int:
    if viewer.id == user_id:
        raise InvalidInput("you cannot endorse yourself")
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        target = await store.user_by_id(conn, user_id, lock=True)
        if target is None or target["status"] != "active":
            raise NotFound("no such user")
        if not await store.insert_endorsement(conn, viewer.id, user_id, skill, now):
            raise Conflict("you already endorsed this skill", field="skill")
        return await _refresh_reputation(conn, user_id)


# ---- admin actions ------------------------------------------------------------------


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
        user = await store.user_by_id(conn, user_id, lock=True)
        if user is None:
            raise NotFound("no such user")
        await store.set_role(conn, user_id, new_role.value, now)
        if new_role is Role.MENTOR:
            # New mentors start on probation and unverified.
            await store.ensure_mentor_profile(conn, user_id, now)
        await emit(conn, events.USER_ROLE_CHANGED, {"user_id": str(user_id), "role": role})
        await record_audit(
            conn,
            admin.id,
            "admin.role_changed",
            f"user:{user_id}",
            source_ip,
            {"from": user["role"], "to": new_role.value},
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
        user = await store.user_by_id(conn, user_id, lock=True)
        if user is None:
            raise NotFound("no such user")
        await store.set_status(conn, user_id, "banned" if banned else "active", reason, now)
        revoked = 0
        if banned:
            revoked = await store.revoke_all_sessions(conn, user_id, now)
            await emit(conn, events.USER_BANNED, {"user_id": str(user_id)})
            contact = personal_data_cipher(platform.settings).open_contact(user)
            await queue_email(
                conn,
                platform.settings,
                to=contact.email,
                template="account_banned",
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
        user = await store.user_by_id(conn, user_id, lock=True)
        if user is None:
            raise NotFound("no such user")
        await store.set_kyc_level(conn, user_id, level, now)
        if level > user["kyc_level"]:
            await emit(conn, events.KYC_APPROVED, {"user_id": str(user_id), "level": level})
        await record_audit(
            conn,
            admin.id,
            "admin.kyc_override",
            f"user:{user_id}",
            source_ip,
            {"from": int(user["kyc_level"]), "to": level, "reason": reason},
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
    async with transaction(platform.pool) as conn:
        mentor = await store.mentor_profile_for_update(conn, user_id)
        if mentor is None:
            raise NotFound("this user has no mentor profile")
        fields: dict[str, Any] = {}
        if data.verified is not None:
            fields["verified"] = data.verified
        if data.on_probation is not None:
            fields["on_probation"] = data.on_probation
        if fields:
            await store.update_mentor_profile(conn, user_id, fields, now)
        await record_audit(
            conn, admin.id, "admin.mentor_status", f"user:{user_id}", source_ip, fields, at=now
        )


# ---- consumers of mentorship events -------------------------------------------------


async def on_session_rated(conn: Connection, event: Event) -> None:
    """`session.rated` {session_id, rater_id, rated_id, rating} → rating and reputation."""
    payload = event.payload
    await record_rating(
        conn,
        uuid.UUID(str(payload["rated_id"])),
        int(payload["rating"]),
        uuid.UUID(str(payload["session_id"])),
        rater_id=uuid.UUID(str(payload["rater_id"])),
        now=event.created_at,
    )


async def on_session_attended(conn: Connection, event: Event) -> None:
    """`session.attended` {session_id, mentor_id, mentee_id} → the mentor's session count
    (the consumer's de-duplication makes a redelivery count once)."""
    await store.add_mentor_session(conn, uuid.UUID(str(event.payload["mentor_id"])))
