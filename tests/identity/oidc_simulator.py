"""A local OpenID Connect provider: discovery, JWKS, an authorization endpoint that
"consents" at once, and a token endpoint that checks client credentials, redirect URI and
the PKCE verifier, then returns an RS256 ID token signed with a real RSA key.

Tests choose who signs in (`identity`) and can make the provider misbehave (`tamper`:
alter the signed token, `foreign_key`: sign with a key not in the JWKS, `audience`,
`nonce_override`, `expires_in_s`)."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from litestar import Litestar, Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect

from tests.messaging.simulators import free_port


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class OidcProviderSimulator:
    client_id: str = "dracarys-web"
    client_secret: str = "simulator-secret-" + secrets.token_hex(8)
    port: int = field(default_factory=free_port)
    key: rsa.RSAPrivateKey = field(default_factory=_new_key)
    other_key: rsa.RSAPrivateKey = field(default_factory=_new_key)
    kid: str = "sim-key-1"
    identity: dict[str, Any] = field(default_factory=dict)
    tamper: bool = False
    foreign_key: bool = False
    audience: str | None = None
    nonce_override: str | None = None
    expires_in_s: int = 600
    clock_s: float | None = None
    codes: dict[str, dict[str, str]] = field(default_factory=dict)

    def issuer(self, tenant: str) -> str:
        return f"http://127.0.0.1:{self.port}/{tenant}"

    def reset(self) -> None:
        self.tamper = self.foreign_key = False
        self.audience = self.nonce_override = None
        self.expires_in_s = 600
        self.clock_s = None

    def _id_token(self, tenant: str, grant: dict[str, str]) -> str:
        now = int(self.clock_s if self.clock_s is not None else time.time())
        claims = {
            "iss": self.issuer(tenant),
            "aud": self.audience or self.client_id,
            "iat": now,
            "exp": now + self.expires_in_s,
            "nonce": self.nonce_override or grant["nonce"],
            **self.identity,
        }
        key = self.other_key if self.foreign_key else self.key
        token = jwt.encode(claims, key, algorithm="RS256", headers={"kid": self.kid})
        if self.tamper:
            header, payload, signature = token.split(".")
            body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
            body["email"] = "attacker@example.com"
            forged = base64.urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=").decode()
            token = f"{header}.{forged}.{signature}"
        return token

    def app(self) -> Litestar:
        sim = self

        @get("/{tenant:str}/.well-known/openid-configuration")
        async def discovery(tenant: FromPath[str]) -> dict[str, Any]:
            base = sim.issuer(tenant)
            return {
                "issuer": base,
                "authorization_endpoint": f"{base}/authorize",
                "token_endpoint": f"{base}/token",
                "jwks_uri": f"{base}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
            }

        @get("/{tenant:str}/jwks")
        async def jwks(tenant: FromPath[str]) -> dict[str, Any]:
            public = json.loads(RSAAlgorithm.to_jwk(sim.key.public_key()))
            public.update({"kid": sim.kid, "use": "sig", "alg": "RS256"})
            return {"keys": [public]}

        @get("/{tenant:str}/authorize")
        async def authorize(tenant: FromPath[str], request: Request[Any, Any, Any]) -> Redirect:
            params = dict(request.query_params)
            if params.get("client_id") != sim.client_id or params.get("response_type") != "code":
                return Redirect(f"{params.get('redirect_uri')}?error=unauthorized_client")
            if params.get("code_challenge_method") != "S256":
                return Redirect(f"{params['redirect_uri']}?error=invalid_request")
            code = secrets.token_urlsafe(24)
            sim.codes[code] = {
                "tenant": tenant,
                "redirect_uri": params["redirect_uri"],
                "nonce": params["nonce"],
                "challenge": params["code_challenge"],
            }
            query = urlencode({"code": code, "state": params["state"]})
            return Redirect(f"{params['redirect_uri']}?{query}")

        @post("/{tenant:str}/token", status_code=200)
        async def token(tenant: FromPath[str], request: Request[Any, Any, Any]) -> Response[Any]:
            form = await request.form()
            grant = sim.codes.pop(str(form.get("code")), None)
            error = None
            if (
                form.get("client_id") != sim.client_id
                or form.get("client_secret") != sim.client_secret
            ):
                error = "invalid_client"
            elif grant is None or grant["tenant"] != tenant:
                error = "invalid_grant"
            elif str(form.get("redirect_uri")) != grant["redirect_uri"]:
                error = "redirect_uri_mismatch"
            else:
                verifier = str(form.get("code_verifier", ""))
                digest = hashlib.sha256(verifier.encode()).digest()
                challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
                if challenge != grant["challenge"]:
                    error = "invalid_grant"
            if error is not None or grant is None:
                return Response({"error": error}, status_code=400)
            return Response(
                {
                    "access_token": secrets.token_urlsafe(16),
                    "token_type": "Bearer",
                    "expires_in": 3600,
                    "id_token": sim._id_token(tenant, grant),
                },
                status_code=200,
            )

        return Litestar([discovery, jwks, authorize, token])
