"""Who is calling and what they may do: access tokens (JWT, HS256, audience and issuer
checked), the `current_user` dependency every protected route uses, and role guards.

Every module authorises through this file: `CurrentUser` for object-level checks in
services, `requires_role(...)` guards on routes, and `AccessMiddleware`, which also keeps
the observer role read-only wherever it can read."""

from __future__ import annotations

import functools
import re
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import jwt
import msgspec
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.enums import ScopeType
from litestar.handlers.base import BaseRouteHandler
from litestar.types import ASGIApp, Receive, Scope, Send

from dracarys.edge import path_excluded
from dracarys.errors import Forbidden, Unauthorized
from dracarys.identity.models import Role as Role  # re-exported: guards are written with it
from dracarys.identity.sessions import store as sessions_store
from dracarys.platform import Platform
from dracarys.settings import Settings

ACCESS_TOKEN_TTL = timedelta(minutes=15)
AUDIENCE = "dracarys-api"
ALGORITHM = "HS256"
_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_AUTHENTICATED_SCOPES = frozenset({ScopeType.HTTP, ScopeType.WEBSOCKET})
# The route opt with which a handler opts out of authentication, as in Litestar.
_EXCLUDE_OPT_KEY = "exclude_from_auth"


class CurrentUser(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    role: Role
    session_id: uuid.UUID
    # The session passed a TOTP check (at login or by enrolling); staff need it to act.
    two_factor: bool = False

    @property
    def is_staff(self) -> bool:
        return Role(self.role).is_staff

    def may_read_as_owner(self, owner_id: uuid.UUID) -> bool:
        """Owners read their own things; staff and observers read everyone's."""
        return self.id == owner_id or self.is_staff or self.role is Role.OBSERVER

    def ensure_owner_or_staff(self, owner_id: uuid.UUID, what: str = "this") -> None:
        if self.id != owner_id and not self.is_staff:
            raise Forbidden(f"you may not change {what}; it belongs to another user")


def issuer(settings: Settings) -> str:
    return settings.public_url


def issue_access_token(
    settings: Settings,
    *,
    user_id: uuid.UUID,
    role: Role | str,
    session_id: uuid.UUID,
    now: datetime,
    ttl: timedelta = ACCESS_TOKEN_TTL,
) -> str:
    claims = {
        "sub": str(user_id),
        "role": str(role),
        "sid": str(session_id),
        "typ": "access",
        "iss": issuer(settings),
        "aud": AUDIENCE,
        "iat": int(now.timestamp()),
        "nbf": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, settings.secret_key, algorithm=ALGORITHM)


class _VerifiedToken(NamedTuple):
    user: CurrentUser
    not_before_s: int
    expires_s: int


@functools.lru_cache(maxsize=16_384)
def _verify_access_token(token: str, secret_key: str, token_issuer: str) -> _VerifiedToken:
    """What a token proves regardless of time, checked once per token in a process: a
    client sends the same token for its whole life, and PyJWT's checks (about 100 µs) were
    most of what authenticating a request cost. A token that fails raises, and is checked
    again if it comes again; the key is in the cache key, so a new key re-checks all."""
    claims: dict[str, Any] = jwt.decode(
        token,
        secret_key,
        algorithms=[ALGORITHM],
        audience=AUDIENCE,
        issuer=token_issuer,
        # Time is checked by the caller against the platform clock, not the wall clock,
        # so that the same rule holds under a test or simulation clock.
        options={
            "require": ["exp", "nbf", "iat", "sub", "sid", "aud", "iss"],
            "verify_exp": False,
            "verify_nbf": False,
            "verify_iat": False,
        },
    )
    if claims.get("typ") != "access":
        raise jwt.InvalidTokenError("not an access token")
    user = CurrentUser(
        id=uuid.UUID(claims["sub"]),
        role=Role(claims["role"]),
        session_id=uuid.UUID(claims["sid"]),
    )
    return _VerifiedToken(user, int(claims["nbf"]), int(claims["exp"]))


def decode_access_token(settings: Settings, token: str, *, now: datetime) -> CurrentUser:
    """Verify signature, algorithm, audience, issuer, expiry, not-before and token type;
    any failure is the same 401 so callers learn nothing about which check failed."""
    try:
        verified = _verify_access_token(token, settings.secret_key, issuer(settings))
    except (jwt.InvalidTokenError, ValueError, KeyError) as exc:
        raise _invalid_token() from exc
    now_s = int(now.timestamp())
    if verified.expires_s <= now_s or verified.not_before_s > now_s:
        raise _invalid_token()
    return verified.user


def _invalid_token() -> Unauthorized:
    return Unauthorized(
        "the access token is missing, invalid or expired",
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )


def bearer_token(scope: Scope) -> str | None:
    # Read from the raw headers: `connection.headers` builds a header map per request.
    header = ""
    for name, value in scope["headers"]:
        if name == b"authorization":
            header = value.decode("latin-1")
            break
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


class RoleGuard:
    """Route guard: the caller's role must be one of `roles`; admins and reviewers acting
    as such must also have passed two-factor authentication in this session. The roles
    stay readable, so a test can list the routes only staff may call."""

    __slots__ = ("roles",)

    def __init__(self, roles: frozenset[Role]) -> None:
        self.roles = roles

    async def __call__(
        self, connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
    ) -> None:
        user = connection.scope.get("user")
        if not isinstance(user, CurrentUser):
            raise Unauthorized("sign in first")
        if user.role not in self.roles:
            names = ", ".join(sorted(r.value for r in self.roles))
            raise Forbidden(f"this action needs one of the roles: {names}")
        if user.is_staff and not user.two_factor:
            raise Forbidden(
                "staff actions need two-factor authentication: turn it on in your account's "
                "security settings, or sign in again with your authenticator code",
                extra={"two_factor_required": True},
            )


def requires_role(*roles: Role) -> RoleGuard:
    """The guard admitting only callers of one of `roles` (staff with two-factor)."""
    return RoleGuard(frozenset(roles))


class AccessMiddleware:
    """Resolves the bearer token of every request into `request.user` (None when absent).

    The token's session must still be live and its user active, and the role and
    two-factor state are the database's, not the token's: a logout, ban or role change
    takes effect on the next request, not at the token's expiry. They come from the
    process's session cache (`platform.session_cache`), so a request of a session used
    in the last few seconds makes no query for them; see `identity/session_cache.py` for
    how a change reaches every process and why staleness stays within the TTL.

    A plain ASGI layer with Litestar's authentication-middleware rules (HTTP and
    WebSocket scopes; OPTIONS, `exclude` paths and handlers with the `exclude_from_auth`
    opt pass untouched): Litestar's base class built a connection object and went
    through its generic bypass checks on every request, several microseconds of each
    authenticated read (`benchmarks/auth_me.py`)."""

    __slots__ = ("_exclude", "app")

    def __init__(self, app: ASGIApp, exclude: Sequence[str] = ()) -> None:
        self.app = app
        self._exclude = re.compile("|".join(exclude)) if exclude else None

    def _bypassed(self, scope: Scope) -> bool:
        if scope["type"] not in _AUTHENTICATED_SCOPES:
            return True
        route_handler = scope.get("route_handler")
        if route_handler is not None and route_handler.opt.get(_EXCLUDE_OPT_KEY):
            return True
        if scope.get("method") == "OPTIONS":
            return True
        return path_excluded(scope, self._exclude)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self._bypassed(scope):
            token = bearer_token(scope)
            scope["user"] = None if token is None else await _caller_of(scope, token)
            scope["auth"] = token
        await self.app(scope, receive, send)


async def _caller_of(scope: Scope, token: str) -> CurrentUser:
    platform: Platform = scope["litestar_app"].state.platform
    now = platform.clock.now()
    claimed = decode_access_token(platform.settings, token, now=now)
    user = await live_session_user(platform, claimed, now)
    if user.role is Role.OBSERVER and scope.get("method") not in _READ_METHODS:
        # Enforced here rather than as an app-wide guard: Litestar copies the route
        # handler for every guard call, which costs every request.
        raise Forbidden("observers have read-only access")
    return user


async def live_session_user(platform: Platform, claimed: CurrentUser, now: datetime) -> CurrentUser:
    """The caller of a verified token as the database (or a fresh cached read) has it;
    Unauthorized when the session has ended or the user is no longer active."""
    return await platform.session_cache.resolve(
        claimed, now.timestamp(), lambda token_user: _read_live_session(platform, token_user)
    )


async def _read_live_session(platform: Platform, claimed: CurrentUser) -> CurrentUser:
    async with platform.pool.acquire() as conn:
        state = await sessions_store.live_session_state(conn, claimed.session_id, claimed.id)
    if state is None:
        raise Unauthorized(
            "this session has ended; sign in again",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    return msgspec.structs.replace(claimed, role=state.role, two_factor=state.two_factor)


def provide_current_user(
    request: Request[Any, Any, Any], platform: NamedDependency[Platform]
) -> CurrentUser:
    """Dependency for routes that need a signed-in caller.

    It names `platform` only so that Litestar resolves the two one after the other: the
    dependencies of a handler that do not depend on each other are resolved in an anyio
    task group, which cost about a sixth of an authenticated read's CPU
    (`benchmarks/auth_me.py`)."""
    user = request.scope.get("user")
    if not isinstance(user, CurrentUser):
        raise Unauthorized(
            "sign in first: send `Authorization: Bearer <access token>`",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return user


async def authenticated(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """Route guard: any signed-in caller."""
    if not isinstance(connection.scope.get("user"), CurrentUser):
        raise Unauthorized("sign in first", headers={"WWW-Authenticate": "Bearer"})
