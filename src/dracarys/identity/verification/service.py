"""Proving an address: the syntax of e-mail addresses and phone numbers, the e-mail
verification link (24 hours, once; it opens the `/verify-email` page, which calls the
API and says whether the link worked, was already used or has expired), and the SMS code
for a phone number (10 minutes, five guesses; one a minute and a few an hour per account,
and few per source)."""

from __future__ import annotations

import hmac
import math
import re
import secrets
import uuid
from datetime import timedelta

import asyncpg
import phonenumbers

from dracarys.crypto import short_code_hash, token_hash
from dracarys.db import Connection, transaction
from dracarys.errors import Conflict, InvalidInput, NotFound
from dracarys.identity import events, store
from dracarys.identity.access import CurrentUser
from dracarys.identity.accounts import language_of
from dracarys.identity.kyc.decisions import recompute_kyc_level
from dracarys.identity.links import LinkRefusal, link_refused, refusal_of
from dracarys.identity.mail import PHONE_CODE, VERIFY_EMAIL, in_language
from dracarys.identity.personal import PHONE, personal_data_cipher
from dracarys.identity.throttle import reserve_email_resend, reserve_sms_code
from dracarys.identity.verification import store as verification_store
from dracarys.messaging import queue_email, queue_sms
from dracarys.outbox import emit_event
from dracarys.platform import Platform
from dracarys.ratelimit import too_many

EMAIL_TOKEN_TTL = timedelta(hours=24)
PHONE_CODE_TTL = timedelta(minutes=10)
PHONE_CODE_MAX_ATTEMPTS = 5
PHONE_CODE_MIN_INTERVAL = timedelta(seconds=60)

# Pragmatic RFC 5322 dot-atom syntax: what mail servers accept in practice.
_EMAIL = re.compile(
    r"^(?P<local>[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*)"
    r"@(?P<domain>(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63})$"
)


# ---- syntax -------------------------------------------------------------------------


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


# ---- e-mail -------------------------------------------------------------------------


async def send_email_verification(
    conn: Connection, platform: Platform, user_id: uuid.UUID, email: str, name: str
) -> None:
    """Queue the verification link in the caller's transaction (it leaves on commit)."""
    token = secrets.token_urlsafe(32)
    now = platform.clock.now()
    await verification_store.insert_email_token(
        conn,
        token_hash=token_hash(token),
        user_id=user_id,
        email_index=personal_data_cipher(platform.settings).email_index(email),
        expires_at=now + EMAIL_TOKEN_TTL,
    )
    link = f"{platform.settings.public_url}/verify-email?token={token}"
    await queue_email(
        conn,
        platform.settings,
        to=email,
        template=in_language(VERIFY_EMAIL, await language_of(conn, user_id)),
        context={"name": name, "link": link, "hours": int(EMAIL_TOKEN_TTL.total_seconds() // 3600)},
        now=now,
        user_id=user_id,
    )


async def resend_email_verification(
    platform: Platform, user: CurrentUser, source_ip: str | None
) -> None:
    await reserve_email_resend(platform.counters, platform.settings, user.id, source_ip)
    async with transaction(platform.pool) as conn:
        account = await store.user_by_id(conn, user.id)
        if account is None:
            raise NotFound("no such user")
        if account.email_verified_at is not None:
            raise Conflict("your e-mail address is already verified")
        contact = personal_data_cipher(platform.settings).open_contact(account)
        await send_email_verification(conn, platform, user.id, contact.email, contact.name)


_EMAIL_LINK_REFUSED = {
    LinkRefusal.UNKNOWN: "this verification link is not valid; open the whole link from the "
    "e-mail, or ask for a new one",
    LinkRefusal.ALREADY_USED: "this verification link was already used; if you opened it "
    "before, your address is verified",
    LinkRefusal.EXPIRED: "this verification link has expired; ask for a new one",
}


async def verify_email(platform: Platform, token: str) -> uuid.UUID:
    """Use the link once; a refusal says whether it is unknown, used or expired."""
    now = platform.clock.now()
    hashed = token_hash(token)
    async with transaction(platform.pool) as conn:
        link = await verification_store.email_token_for_update(conn, hashed)
        refusal = refusal_of(link, now)
        if refusal is not None:
            raise link_refused(refusal, _EMAIL_LINK_REFUSED)
        assert link is not None
        await verification_store.mark_email_token_used(conn, hashed, now)
        account = await store.user_by_id(conn, link.user_id, lock=True)
        if account is None or account.email_index != link.email_index:
            raise InvalidInput(
                "this link was for an e-mail address you no longer use",
                field="token",
                extra={"reason": "address_changed"},
            )
        if account.email_verified_at is None:
            await store.mark_email_verified(conn, account.id, now)
            await emit_event(conn, events.UserEmailVerified(user_id=account.id))
            await recompute_kyc_level(conn, account.id, now)
        return account.id


# ---- phone --------------------------------------------------------------------------


async def request_phone_code(
    platform: Platform, user: CurrentUser, phone: str | None, source_ip: str | None
) -> str:
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        account = await store.user_by_id(conn, user.id, lock=True)
        if account is None:
            raise NotFound("no such user")
        cipher = personal_data_cipher(platform.settings)
        number = normalize_phone(phone) if phone else cipher.open_contact(account).phone
        if not number:
            raise InvalidInput("give the phone number to verify", field="phone")
        number_index = cipher.phone_index(number)
        if number_index != account.phone_index:
            try:
                async with conn.transaction():
                    await store.set_phone(
                        conn, user.id, cipher.seal(user.id, PHONE, number), number_index, now
                    )
            except asyncpg.UniqueViolationError:
                raise Conflict("another account uses this phone number", field="phone") from None
        elif account.phone_verified_at is not None:
            raise Conflict("this phone number is already verified", field="phone")
        # SMS costs money and can be abused to spam a number: per account one code a
        # minute and a few an hour, counted in the codes stored; per source in counters.
        recent = await verification_store.phone_codes_sent_since(
            conn, user.id, now - timedelta(hours=1) + PHONE_CODE_TTL
        )
        if recent.latest_expiry is not None:
            next_allowed = recent.latest_expiry - PHONE_CODE_TTL + PHONE_CODE_MIN_INTERVAL
            if next_allowed > now:
                wait_s = math.ceil((next_allowed - now).total_seconds())
                raise too_many("a code was just sent", wait_s)
        if recent.sent >= platform.settings.verification_sends_per_hour_per_account:
            # The oldest code of the hour is not at hand; an hour is never too early.
            raise too_many("too many codes requested", 3600)
        await reserve_sms_code(platform.counters, platform.settings, source_ip)
        code = f"{secrets.randbelow(1_000_000):06d}"
        await verification_store.insert_phone_code(
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
            template=in_language(PHONE_CODE, await language_of(conn, user.id)),
            context={"code": code, "minutes": int(PHONE_CODE_TTL.total_seconds() // 60)},
            now=now,
            user_id=user.id,
        )
    return number


async def confirm_phone(platform: Platform, user: CurrentUser, code: str) -> None:
    now = platform.clock.now()
    wrong = False
    async with transaction(platform.pool) as conn:
        pending = await verification_store.open_phone_code(conn, user.id, now)
        if pending is None:
            raise InvalidInput("no open code: ask for a new one", field="code")
        if hmac.compare_digest(pending.code_hash, short_code_hash(platform.settings, code.strip())):
            await verification_store.close_phone_code(conn, pending.id, now)
            account = await store.user_by_id(conn, user.id, lock=True)
            assert account is not None
            if account.phone_index == pending.phone_index:
                await store.mark_phone_verified(conn, user.id, now)
                await emit_event(conn, events.UserPhoneVerified(user_id=user.id))
                await recompute_kyc_level(conn, user.id, now)
        else:
            # Count the attempt and commit it before refusing, so guesses are limited.
            wrong = True
            await verification_store.count_phone_attempt(conn, pending.id)
            if pending.attempts + 1 >= PHONE_CODE_MAX_ATTEMPTS:
                await verification_store.close_phone_code(conn, pending.id, now)
    if wrong:
        raise InvalidInput("the code is wrong", field="code")
