"""Identity's throttles, counted in the platform's atomic counters and reserved before the
password or code is checked: sign-in (per account and source, OWASP's device cookies),
second-factor codes per account, verification e-mails and SMS codes, and password reset
e-mails.

Sign-in follows OWASP's "Slow Down Online Guessing Attacks with Device Cookies": a
successful sign-in gives the client a signed, HttpOnly device token bound to the account.
A client presenting one has its own failure budget on that account and nothing else counts
against it, so an attacker elsewhere cannot lock the owner out of a device they use. Other
clients are counted per (account, IP), under a higher ceiling per account across all of
them (a distributed attack is slowed) and a ceiling per IP across accounts (credential
stuffing). A success clears its own source's count and takes its attempt back from the
shared ceilings."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt

from dracarys.identity.access import ALGORITHM, AUDIENCE, issuer
from dracarys.identity.personal import personal_data_cipher
from dracarys.ratelimit import Counters, Limit, reserve
from dracarys.settings import Settings

DEVICE_COOKIE = "dracarys_device"
DEVICE_TOKEN_TTL = timedelta(days=365)
SEND_WINDOW_S = 3600


def account_key(settings: Settings, email: str) -> str:
    """The throttles' name for an account, known or not, from the e-mail as typed: its
    keyed blind index, so counters in Redis do not reveal which addresses were tried."""
    return personal_data_cipher(settings).email_index(email).hex()[:32]


def issue_device_token(settings: Settings, email: str, now: datetime) -> str:
    """OWASP's device cookie (login, nonce, signature) as an HS256 token."""
    claims = {
        "typ": "device",
        "sub": account_key(settings, email),
        "jti": secrets.token_urlsafe(16),
        "iss": issuer(settings),
        "aud": AUDIENCE,
        "iat": int(now.timestamp()),
        "exp": int((now + DEVICE_TOKEN_TTL).timestamp()),
    }
    return jwt.encode(claims, settings.secret_key, algorithm=ALGORITHM)


def device_of(settings: Settings, token: str | None, email: str, now: datetime) -> str | None:
    """The device's nonce when `token` is a live device token of this account."""
    if not token:
        return None
    try:
        claims = jwt.decode(
            token,
            settings.secret_key,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=issuer(settings),
            options={"require": ["exp", "sub", "jti"], "verify_exp": False},
        )
    except jwt.InvalidTokenError:
        return None
    if (
        claims.get("typ") != "device"
        or claims["sub"] != account_key(settings, email)
        or int(claims["exp"]) <= int(now.timestamp())
    ):
        return None
    return str(claims["jti"])


@dataclass(frozen=True, slots=True)
class LoginAttempt:
    """A reserved sign-in attempt. A failure keeps it counted; `succeeded` gives back."""

    counters: Counters
    own: Limit
    shared: tuple[Limit, ...]

    async def succeeded(self) -> None:
        await self.counters.clear(self.own.key)
        for limit in self.shared:
            await self.counters.take_back(limit.key)


class LoginThrottle:
    def __init__(self, counters: Counters, settings: Settings) -> None:
        self._counters = counters
        self._settings = settings

    async def reserve(
        self, email: str, *, source_ip: str | None, device_token: str | None, now: datetime
    ) -> LoginAttempt:
        """Count this attempt before the password is checked; 429 when a limit is used."""
        settings = self._settings
        window = settings.login_failure_window_s
        account = account_key(settings, email)
        device = device_of(settings, device_token, email, now)
        shared: tuple[Limit, ...] = ()
        if device is not None:
            own = Limit(
                f"login:device:{account}:{device}", settings.login_max_failures_per_source, window
            )
        else:
            ip = source_ip or "unknown"
            own = Limit(
                f"login:source:{account}:{ip}", settings.login_max_failures_per_source, window
            )
            shared = (
                Limit(f"login:account:{account}", settings.login_max_failures_per_account, window),
                Limit(f"login:ip:{ip}", settings.login_max_failures_per_ip, window),
            )
        await reserve(self._counters, (own, *shared), "too many failed sign-in attempts")
        return LoginAttempt(self._counters, own, shared)


class SecondFactorThrottle:
    """Wrong TOTP and recovery codes per account, at sign-in and at step-up alike."""

    def __init__(self, counters: Counters, settings: Settings) -> None:
        self._counters = counters
        self._settings = settings

    def _limit(self, user_id: uuid.UUID) -> Limit:
        settings = self._settings
        return Limit(
            f"2fa:{user_id}", settings.two_factor_max_failures, settings.login_failure_window_s
        )

    async def reserve(self, user_id: uuid.UUID) -> None:
        await reserve(self._counters, [self._limit(user_id)], "too many wrong authenticator codes")

    async def passed(self, user_id: uuid.UUID) -> None:
        await self._counters.clear(self._limit(user_id).key)


def _per_ip(settings: Settings, channel: str, source_ip: str | None) -> Limit:
    return Limit(
        f"send:{channel}:ip:{source_ip or 'unknown'}",
        settings.verification_sends_per_hour_per_ip,
        SEND_WINDOW_S,
    )


async def reserve_email_resend(
    counters: Counters, settings: Settings, user_id: uuid.UUID, source_ip: str | None
) -> None:
    account = Limit(
        f"send:email:user:{user_id}",
        settings.verification_sends_per_hour_per_account,
        SEND_WINDOW_S,
    )
    await reserve(
        counters,
        [account, _per_ip(settings, "email", source_ip)],
        "too many verification e-mails were asked for",
    )


async def reserve_sms_code(counters: Counters, settings: Settings, source_ip: str | None) -> None:
    """Per source only: codes per account are counted where they are stored, with the
    one-a-minute spacing (see `service.request_phone_code`)."""
    await reserve(
        counters, [_per_ip(settings, "sms", source_ip)], "too many phone codes were asked for"
    )


async def reserve_password_reset(
    counters: Counters, settings: Settings, email: str, source_ip: str | None
) -> None:
    """Per address as typed (its blind index, known account or not, so the limit says
    nothing about which addresses exist) and per source."""
    address = Limit(
        f"send:reset:address:{account_key(settings, email)}",
        settings.verification_sends_per_hour_per_account,
        SEND_WINDOW_S,
    )
    await reserve(
        counters,
        [address, _per_ip(settings, "reset", source_ip)],
        "too many password reset e-mails were asked for",
    )
