"""OAuth 2.0 / OpenID Connect sign-in (Google, Apple) behind one adapter.

Authorization-code flow with PKCE (S256), `state` (single use, stored hashed, 10 minutes)
and `nonce`. The ID token's signature is checked against the provider's JWKS (RS256/ES256
only), then issuer, audience, expiry/issued-at (against the platform clock, with 60 s of
leeway for clock skew) and nonce. Accounts are linked by (provider, subject); a first
sign-in links to the account with the same e-mail only when the provider says the e-mail
is verified."""

from __future__ import annotations

import hmac
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt
import msgspec

from dracarys.crypto import pkce_challenge, token_hash
from dracarys.db import transaction
from dracarys.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized
from dracarys.identity import events, store
from dracarys.identity.access import Role
from dracarys.identity.audit.service import record_audit
from dracarys.identity.models import OidcStart, SignInProvider, TokenPair
from dracarys.identity.personal import OIDC_EMAIL, personal_data_cipher
from dracarys.identity.sessions import store as sessions_store
from dracarys.identity.sessions.devices import device_label
from dracarys.identity.sessions.service import TWO_FACTOR_ROLES, end_all_sessions, open_session
from dracarys.identity.signup_hooks import (
    NO_SIGNUP_HOOKS,
    SignupContext,
    SignupHooks,
    SignupRequest,
)
from dracarys.outbox import emit_event
from dracarys.platform import Platform
from dracarys.settings import Settings

STATE_TTL = timedelta(minutes=10)
CLOCK_LEEWAY_S = 60
ALLOWED_ALGORITHMS = ["RS256", "ES256"]
_METADATA_TTL_S = 3600.0


@dataclass(frozen=True, slots=True)
class ProviderConfig:
    name: str
    issuer: str
    client_id: str
    client_secret: str
    scope: str = "openid email profile"


def provider_config(settings: Settings, name: str) -> ProviderConfig:
    if name == "google" and settings.google_client_id:
        return ProviderConfig(
            "google",
            settings.google_issuer,
            settings.google_client_id,
            settings.google_client_secret,
        )
    if name == "apple" and settings.apple_client_id:
        return ProviderConfig(
            "apple",
            settings.apple_issuer,
            settings.apple_client_id,
            settings.apple_client_secret,
            scope="openid email name",
        )
    raise NotFound(f"sign-in with {name!r} is not available")


_PROVIDER_NAMES = {"google": "Google", "apple": "Apple"}


def configured_providers(settings: Settings) -> list[SignInProvider]:
    """The providers this deployment has client credentials for, so pages offer only
    those (the others' start route is a 404)."""
    configured = {"google": settings.google_client_id, "apple": settings.apple_client_id}
    return [
        SignInProvider(id=provider, name=name)
        for provider, name in _PROVIDER_NAMES.items()
        if configured[provider]
    ]


class _Metadata(msgspec.Struct):
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str


class _TokenReply(msgspec.Struct):
    id_token: str
    token_type: str = "Bearer"  # noqa: S105 - a token kind, not a secret


# Discovery documents and key sets, cached per URL; an unknown `kid` refetches the keys
# (providers rotate them).
_metadata_cache: dict[str, tuple[float, _Metadata]] = {}
_jwks_cache: dict[str, tuple[float, jwt.PyJWKSet]] = {}


class OidcClient:
    def __init__(self, config: ProviderConfig, http: httpx.AsyncClient) -> None:
        self.config = config
        self._http = http

    async def _get_json(self, url: str) -> bytes:
        try:
            response = await self._http.get(url)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise Unauthorized(f"{self.config.name} could not be reached: {exc}") from exc
        return response.content

    async def metadata(self) -> _Metadata:
        url = self.config.issuer.rstrip("/") + "/.well-known/openid-configuration"
        cached = _metadata_cache.get(url)
        if cached and time.monotonic() - cached[0] < _METADATA_TTL_S:
            return cached[1]
        metadata = msgspec.json.decode(await self._get_json(url), type=_Metadata)
        if metadata.issuer != self.config.issuer:
            raise Unauthorized("the provider's discovery document names another issuer")
        _metadata_cache[url] = (time.monotonic(), metadata)
        return metadata

    async def _keys(self, jwks_uri: str, *, refresh: bool) -> jwt.PyJWKSet:
        cached = _jwks_cache.get(jwks_uri)
        if cached and not refresh and time.monotonic() - cached[0] < _METADATA_TTL_S:
            return cached[1]
        keys = jwt.PyJWKSet.from_json((await self._get_json(jwks_uri)).decode())
        _jwks_cache[jwks_uri] = (time.monotonic(), keys)
        return keys

    async def signing_key(self, kid: str) -> jwt.PyJWK:
        metadata = await self.metadata()
        for refresh in (False, True):
            keys = await self._keys(metadata.jwks_uri, refresh=refresh)
            for key in keys.keys:
                if key.key_id == kid:
                    return key
        raise Unauthorized("the ID token is signed with a key the provider does not publish")

    async def authorization_url(
        self, *, state: str, nonce: str, code_challenge: str, redirect_uri: str
    ) -> str:
        metadata = await self.metadata()
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.config.client_id,
                "redirect_uri": redirect_uri,
                "scope": self.config.scope,
                "state": state,
                "nonce": nonce,
                "code_challenge": code_challenge,
                "code_challenge_method": "S256",
            }
        )
        return f"{metadata.authorization_endpoint}?{query}"

    async def exchange_code(self, *, code: str, code_verifier: str, redirect_uri: str) -> str:
        metadata = await self.metadata()
        try:
            response = await self._http.post(
                metadata.token_endpoint,
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": redirect_uri,
                    "client_id": self.config.client_id,
                    "client_secret": self.config.client_secret,
                    "code_verifier": code_verifier,
                },
                headers={"Accept": "application/json"},
            )
        except httpx.HTTPError as exc:
            raise Unauthorized(f"{self.config.name} could not be reached: {exc}") from exc
        if response.status_code != 200:
            raise Unauthorized(f"{self.config.name} refused the authorization code")
        return msgspec.json.decode(response.content, type=_TokenReply).id_token

    async def verify_id_token(self, id_token: str, *, nonce: str, now_s: int) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(id_token)
        except jwt.InvalidTokenError as exc:
            raise Unauthorized("the ID token is malformed") from exc
        if header.get("alg") not in ALLOWED_ALGORITHMS or not header.get("kid"):
            raise Unauthorized("the ID token uses a signature algorithm we do not accept")
        key = await self.signing_key(str(header["kid"]))
        try:
            claims: dict[str, Any] = jwt.decode(
                id_token,
                key.key,
                algorithms=ALLOWED_ALGORITHMS,
                audience=self.config.client_id,
                issuer=self.config.issuer,
                options={
                    "require": ["iss", "aud", "sub", "exp", "iat"],
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
        except jwt.InvalidTokenError as exc:
            raise Unauthorized(f"the ID token is not valid: {exc}") from exc
        if int(claims["exp"]) + CLOCK_LEEWAY_S <= now_s:
            raise Unauthorized("the ID token has expired")
        if int(claims["iat"]) - CLOCK_LEEWAY_S > now_s:
            raise Unauthorized("the ID token was issued in the future")
        if not hmac.compare_digest(str(claims.get("nonce", "")), nonce):
            raise Unauthorized("the ID token's nonce does not match this sign-in")
        return claims


def redirect_uri(settings: Settings, provider: str) -> str:
    return f"{settings.public_url}/auth/callback/{provider}"


async def start_sign_in(
    platform: Platform, provider: str, http: httpx.AsyncClient | None = None
) -> OidcStart:
    config = provider_config(platform.settings, provider)
    state = secrets.token_urlsafe(32)
    nonce = secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(64)
    callback = redirect_uri(platform.settings, provider)
    async with _http(http) as client:
        url = await OidcClient(config, client).authorization_url(
            state=state,
            nonce=nonce,
            code_challenge=pkce_challenge(verifier),
            redirect_uri=callback,
        )
    async with transaction(platform.pool) as conn:
        await sessions_store.insert_oidc_state(
            conn,
            state_hash=token_hash(state),
            provider=provider,
            nonce=nonce,
            code_verifier=verifier,
            redirect_uri=callback,
            expires_at=platform.clock.now() + STATE_TTL,
        )
    return OidcStart(authorization_url=url, state=state)


class _HttpScope:
    def __init__(self, client: httpx.AsyncClient | None) -> None:
        self._given = client
        self._own: httpx.AsyncClient | None = None

    async def __aenter__(self) -> httpx.AsyncClient:
        if self._given is not None:
            return self._given
        self._own = httpx.AsyncClient(timeout=15)
        return self._own

    async def __aexit__(self, *_: object) -> None:
        if self._own is not None:
            await self._own.aclose()


def _http(client: httpx.AsyncClient | None) -> _HttpScope:
    return _HttpScope(client)


def _email_verified(claims: dict[str, Any]) -> bool:
    # Apple sends "true"/"false" strings; Google sends booleans.
    value = claims.get("email_verified")
    return value is True or value == "true"


async def finish_sign_in(
    platform: Platform,
    provider: str,
    *,
    code: str,
    state: str,
    source_ip: str | None,
    user_agent: str | None,
    http: httpx.AsyncClient | None = None,
    signup: tuple[SignupRequest, SignupHooks] | None = None,
) -> TokenPair:
    """A first sign-in creates the account, running `signup`'s hooks in its transaction."""
    config = provider_config(platform.settings, provider)
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        pending = await sessions_store.consume_oidc_state(conn, token_hash(state), provider, now)
    if pending is None:
        raise InvalidInput(
            "this sign-in has expired or was already used; start again", field="state"
        )
    async with _http(http) as client:
        oidc = OidcClient(config, client)
        id_token = await oidc.exchange_code(
            code=code, code_verifier=pending.code_verifier, redirect_uri=pending.redirect_uri
        )
        claims = await oidc.verify_id_token(
            id_token, nonce=pending.nonce, now_s=int(now.timestamp())
        )
    subject = str(claims["sub"])
    email = str(claims.get("email") or "").strip() or None
    verified = _email_verified(claims) and email is not None
    cipher = personal_data_cipher(platform.settings)
    sessions_ended = False
    async with transaction(platform.pool) as conn:
        linked = await sessions_store.oidc_linked_user(conn, provider, subject)
        if linked is not None:
            user_id = linked
            action = "auth.login"
        else:
            existing = (
                await store.user_by_email_index(conn, cipher.email_index(email)) if email else None
            )
            if existing is not None:
                if not verified:
                    raise Conflict(
                        "an account with this e-mail exists; sign in with your password",
                        field="email",
                    )
                user_id = existing.id
                if existing.email_verified_at is None:
                    # The provider proves the mailbox; an unverified local account with
                    # this address may have been pre-registered by someone else, so its
                    # password and sessions are dropped.
                    await store.clear_password(conn, user_id, now)
                    sessions_ended = await end_all_sessions(conn, user_id, now) > 0
                    await store.mark_email_verified(conn, user_id, now)
                    await emit_event(conn, events.UserEmailVerified(user_id=user_id))
                action = "auth.oidc_linked"
            else:
                if email is None:
                    raise InvalidInput(f"{provider} did not share an e-mail address")
                user_id = uuid.uuid4()
                name = str(claims.get("name") or email.partition("@")[0])
                await store.insert_user(
                    conn,
                    user_id=user_id,
                    contact=cipher.seal_contact(user_id, email=email, name=name, phone=None),
                    password_hash=None,
                    role=Role.MENTEE.value,
                    now=now,
                    email_verified=verified,
                )
                await store.insert_profile(conn, user_id, now)
                await emit_event(conn, events.UserSignedUp(user_id=user_id))
                request, hooks = signup or (None, NO_SIGNUP_HOOKS)
                await hooks.run(
                    conn,
                    platform,
                    SignupContext(
                        user_id=user_id,
                        email=email,
                        source_ip=source_ip,
                        user_agent=user_agent,
                        cookies=request.cookies if request else {},
                        at=now,
                    ),
                )
                if verified:
                    await emit_event(conn, events.UserEmailVerified(user_id=user_id))
                action = "auth.oidc_signup"
            await sessions_store.link_oidc_identity(
                conn,
                provider=provider,
                subject=subject,
                user_id=user_id,
                email_sealed=None if email is None else cipher.seal(user_id, OIDC_EMAIL, email),
                now=now,
            )
        account = await store.user_by_id(conn, user_id)
        assert account is not None
        if not account.is_active:
            raise Forbidden("this account is suspended")
        if account.role in TWO_FACTOR_ROLES or account.totp_enabled_at is not None:
            raise Forbidden("this account signs in with its password and two-factor code")
        pair = await open_session(
            conn,
            platform,
            user_id=user_id,
            role=account.role,
            source_ip=source_ip,
            user_agent=user_agent,
            two_factor=False,
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
            action,
            f"user:{user_id}",
            source_ip,
            {"provider": provider, "subject": subject},
            at=now,
        )
    if sessions_ended:
        await platform.session_cache.publish_user_change(user_id)
    return pair
