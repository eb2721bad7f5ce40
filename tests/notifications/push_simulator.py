"""A local Web Push service, speaking what a browser's push service speaks (RFC 8030):
`POST /push/{token}` with a VAPID `Authorization: vapid t=<JWT>,k=<key>` (RFC 8292), `TTL`
and `Urgency` headers and an `aes128gcm` body (RFC 8291), answered 201 Created.

It checks what a real one checks: the JWT is ES256 and verifies with `k`; `k` is the
applicationServerKey the browser subscribed with; `aud` is this service's origin, `exp`
in the future and at most 24 hours away, `sub` a mailto: or https: contact. Then, unlike a
real one, it decrypts the payload with the fake browser's private key and auth secret
(`FakeBrowser`), so tests read what the notification said.

Tests can make an endpoint gone (410, as after the browser unsubscribed), expired (404,
as a push service answers for a subscription it no longer knows) or failing (503)."""

from __future__ import annotations

import asyncio
import base64
import os
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import http_ece
import jwt
import msgspec
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from litestar import Litestar, Request, Response, post
from litestar.params import FromPath

from tests.messaging.simulators import free_port

MAX_EXP_AHEAD_S = 24 * 3600


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class FakeBrowser:
    """A browser's side of a push subscription: its own P-256 key pair and auth secret,
    as `PushManager.subscribe()` makes them."""

    endpoint: str
    private_key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    auth_secret: bytes = field(default_factory=lambda: os.urandom(16))

    @property
    def p256dh(self) -> str:
        return b64url(
            self.private_key.public_key().public_bytes(
                serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
            )
        )

    def subscription(self) -> dict[str, Any]:
        """What `PushSubscription.toJSON()` gives the page."""
        return {
            "endpoint": self.endpoint,
            "expirationTime": None,
            "keys": {"p256dh": self.p256dh, "auth": b64url(self.auth_secret)},
        }


@dataclass
class Received:
    token: str
    payload: dict[str, Any]
    ttl: int
    urgency: str
    claims: dict[str, Any]


@dataclass
class PushServiceSimulator:
    port: int = field(default_factory=free_port)
    # token → the browser behind it and the applicationServerKey it subscribed with.
    browsers: dict[str, tuple[FakeBrowser, str]] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    # Each refusal, with its reason (a test reads why a push was refused).
    refused: list[tuple[str, int, str]] = field(default_factory=list)
    gone: set[str] = field(default_factory=set)
    expired: set[str] = field(default_factory=set)
    failing: set[str] = field(default_factory=set)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def subscribe(self, application_server_key: str) -> FakeBrowser:
        """A browser subscribing with the site's VAPID public key: a new endpoint here."""
        token = secrets.token_urlsafe(16)
        browser = FakeBrowser(endpoint=f"{self.origin}/push/{token}")
        self.browsers[token] = (browser, application_server_key)
        return browser

    @staticmethod
    def token_of(browser: FakeBrowser) -> str:
        return browser.endpoint.rsplit("/", 1)[1]

    def to(self, browser: FakeBrowser) -> list[Received]:
        return [r for r in self.received if r.token == self.token_of(browser)]

    async def wait_for(self, browser: FakeBrowser, timeout_s: float = 15) -> Received:
        for _ in range(int(timeout_s / 0.05)):
            if found := self.to(browser):
                return found[0]
            await asyncio.sleep(0.05)
        raise AssertionError(f"no push to {browser.endpoint} within {timeout_s}s: {self.refused}")

    def _refuse(self, token: str, status: int, reason: str) -> Response[Any]:
        self.refused.append((token, status, reason))
        return Response({"reason": reason}, status_code=status)

    def _claims(self, token: str, authorization: str, expected_key: str) -> dict[str, Any]:
        scheme, _, params = authorization.partition(" ")
        if scheme.lower() != "vapid":
            raise ValueError(f"authorization scheme {scheme!r} is not vapid")
        parts = dict(p.strip().split("=", 1) for p in params.split(","))
        if parts.get("k") != expected_key:
            raise PermissionError("k is not the key this subscription was made with")
        point = unb64url(parts["k"])
        public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
        claims: dict[str, Any] = jwt.decode(
            parts["t"],
            key=public,
            algorithms=["ES256"],
            audience=self.origin,
            options={"require": ["aud", "exp", "sub"]},
        )
        if claims["exp"] > time.time() + MAX_EXP_AHEAD_S:
            raise ValueError("exp is more than 24 hours ahead")
        if not str(claims["sub"]).startswith(("mailto:", "https:")):
            raise ValueError("sub is not a mailto: or https: contact")
        return claims

    def app(self) -> Litestar:
        simulator = self

        @post("/push/{token:str}", status_code=201)
        async def push(token: FromPath[str], request: Request[Any, Any, Any]) -> Response[Any]:
            known = simulator.browsers.get(token)
            if known is None or token in simulator.gone:
                return simulator._refuse(token, 410, "push subscription has unsubscribed")
            if token in simulator.expired:
                return simulator._refuse(token, 404, "push subscription not found or expired")
            if token in simulator.failing:
                return simulator._refuse(token, 503, "service unavailable")
            browser, key = known
            try:
                claims = simulator._claims(token, request.headers.get("authorization", ""), key)
            except PermissionError as exc:
                return simulator._refuse(token, 403, str(exc))
            except (ValueError, KeyError, jwt.PyJWTError) as exc:
                return simulator._refuse(token, 401, f"bad VAPID: {exc}")
            if "ttl" not in request.headers:
                return simulator._refuse(token, 400, "TTL header missing")
            if request.headers.get("content-encoding") != "aes128gcm":
                return simulator._refuse(token, 415, "content-encoding is not aes128gcm")
            body = await request.body()
            try:
                plain = http_ece.decrypt(
                    body,
                    private_key=browser.private_key,
                    auth_secret=browser.auth_secret,
                    version="aes128gcm",
                )
            except Exception as exc:
                return simulator._refuse(token, 400, f"cannot decrypt: {exc!r}")
            simulator.received.append(
                Received(
                    token=token,
                    payload=msgspec.json.decode(plain),
                    ttl=int(request.headers["ttl"]),
                    urgency=request.headers.get("urgency", ""),
                    claims=claims,
                )
            )
            return Response(
                b"",
                status_code=201,
                headers={"Location": f"{simulator.origin}/message/{secrets.token_urlsafe(8)}"},
            )

        return Litestar([push])
