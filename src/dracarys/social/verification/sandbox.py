"""A local stand-in for the platforms whose APIs check follows, speaking their wire
formats: Google's OAuth 2.0 endpoints and the YouTube Data API v3 (`channels.list`,
`subscriptions.list`), and X's OAuth 2.0 endpoints and API v2 (`/2/users/me`, the follows
lookup with `pagination_token` / `meta.next_token`, and the 403 `client-not-enrolled`
problem of an API tier without it). PKCE, client credentials, redirect URIs, single-use
codes, expiring access tokens and rotating X refresh tokens are checked as the real
providers do.

Tests serve it on a local port and drive it (`add_youtube_viewer`, `unsubscribe`,
`add_x_user`, `withdraw_access`, `auto_consent`...); `dracarys up` serves it under
/sandbox/social with consent pages where the person names the account they "are" and
whether it follows us, so the demo's verification page works without real credentials."""

from __future__ import annotations

import base64
import hashlib
import html
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

import msgspec
from litestar import Litestar, Request, Response, Router, get, post
from litestar.params import FromPath
from litestar.response import Redirect

from dracarys.settings import Settings
from dracarys.social.verification.providers import YOUTUBE_SCOPE

SOCIAL_SANDBOX_PATH = "/sandbox/social"
GOOGLE_AUTH_PATH = "/google/o/oauth2/v2/auth"
X_AUTH_PATH = "/x/i/oauth2/authorize"
ACCESS_TOKEN_TTL_S = 3600
X_ACCESS_TOKEN_TTL_S = 7200
_X_NOT_ENROLLED = {
    "detail": (
        "When authenticating requests to the Twitter API v2 endpoints, you must use keys and "
        "tokens from a Twitter developer App that is attached to a Project. You can create a "
        "project via the developer portal."
    ),
    "registration_url": "https://developer.twitter.com/en/docs/projects/overview",
    "title": "Client Forbidden",
    "required_enrollment": "Appropriate Level of API Access",
    "reason": "client-not-enrolled",
    "type": "https://api.twitter.com/2/problems/client-forbidden",
}


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _id_from(prefix: str, name: str, length: int) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(name.encode()).digest()).decode()
    return prefix + digest.replace("=", "")[:length]


@dataclass
class _Grant:
    platform: str
    account: str
    redirect_uri: str
    challenge: str
    scope: str


@dataclass
class _Token:
    platform: str
    account: str
    expires_at_s: float
    scope: str


@dataclass
class SocialSandbox:
    google_client_id: str = field(default_factory=lambda: f"{secrets.token_hex(6)}.apps.sandbox")
    google_client_secret: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    x_client_id: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    x_client_secret: str = field(default_factory=lambda: secrets.token_urlsafe(30))
    our_channel_id: str = "UCdracarysSandboxChannel"
    our_channel_title: str = "Dracarys"
    our_x_user_id: str = "1580000000000000001"
    our_x_username: str = "dracarys"
    # Who consents at once, without a page (tests): platform → account id.
    auto_consent: dict[str, str] = field(default_factory=dict)
    # Google accounts without a YouTube channel: the id they sign in with.
    channelless: set[str] = field(default_factory=set)
    channels: dict[str, str] = field(default_factory=dict)  # channel id → title
    subscriptions: dict[str, list[str]] = field(default_factory=dict)
    x_users: dict[str, str] = field(default_factory=dict)  # user id → username
    x_following: dict[str, list[str]] = field(default_factory=dict)
    # False: the app's API tier has no follows lookup (403 client-not-enrolled).
    x_follows_lookup: bool = True
    # True: every API and token call answers 503 (an outage).
    down: bool = False
    # Grants a member withdrew (their tokens stop working).
    withdrawn: set[str] = field(default_factory=set)
    # Unticked on Google's consent screen: the scope is left out of the grant.
    untick_youtube_scope: bool = False
    clock_s: float | None = None
    codes: dict[str, _Grant] = field(default_factory=dict)
    access_tokens: dict[str, _Token] = field(default_factory=dict)
    refresh_tokens: dict[str, _Token] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.channels.setdefault(self.our_channel_id, self.our_channel_title)
        self.x_users.setdefault(self.our_x_user_id, self.our_x_username)

    def now_s(self) -> float:
        return self.clock_s if self.clock_s is not None else time.time()

    # ---- what tests (and the demo's consent pages) change -----------------------------

    def add_youtube_viewer(self, title: str, *, subscribed: bool) -> str:
        channel_id = _id_from("UC", title, 22)
        self.channels[channel_id] = title
        self.subscriptions[channel_id] = [self.our_channel_id] if subscribed else []
        return channel_id

    def subscribe(self, channel_id: str) -> None:
        if self.our_channel_id not in self.subscriptions.setdefault(channel_id, []):
            self.subscriptions[channel_id].append(self.our_channel_id)

    def unsubscribe(self, channel_id: str) -> None:
        self.subscriptions[channel_id] = [
            c for c in self.subscriptions.get(channel_id, []) if c != self.our_channel_id
        ]

    def add_x_user(self, username: str, *, follows_us: bool, others_followed: int = 0) -> str:
        """An X account following `others_followed` other accounts (before ours, so
        finding ours takes pages) and, if `follows_us`, ours."""
        user_id = str(int(hashlib.sha256(username.encode()).hexdigest()[:15], 16))
        self.x_users[user_id] = username
        following = [str(2_000_000 + i) for i in range(others_followed)]
        for other in following:
            self.x_users.setdefault(other, f"account{other}")
        self.x_following[user_id] = [*following, self.our_x_user_id] if follows_us else following
        return user_id

    def unfollow(self, user_id: str) -> None:
        self.x_following[user_id] = [
            u for u in self.x_following.get(user_id, []) if u != self.our_x_user_id
        ]

    def withdraw_access(self, account: str) -> None:
        self.withdrawn.add(account)

    def settings_for(self, base_url: str) -> dict[str, str]:
        """The settings that point the adapters at this sandbox served at `base_url`."""
        base = base_url.rstrip("/")
        return {
            "social_youtube_client_id": self.google_client_id,
            "social_youtube_client_secret": self.google_client_secret,
            "social_youtube_channel_id": self.our_channel_id,
            "social_google_auth_url": f"{base}{GOOGLE_AUTH_PATH}",
            "social_google_token_url": f"{base}/google/token",
            "social_youtube_api_base": f"{base}/youtube/v3",
            "social_x_client_id": self.x_client_id,
            "social_x_client_secret": self.x_client_secret,
            "social_x_user_id": self.our_x_user_id,
            "social_x_handle": self.our_x_username,
            "social_x_authorize_url": f"{base}{X_AUTH_PATH}",
            "social_x_api_base": f"{base}/x",
        }

    # ---- OAuth ------------------------------------------------------------------------

    def _issue_code(self, platform: str, account: str, params: dict[str, str]) -> str:
        code = secrets.token_urlsafe(24)
        scope = params.get("scope", "")
        if platform == "youtube" and self.untick_youtube_scope:
            scope = " ".join(s for s in scope.split() if s != YOUTUBE_SCOPE)
        self.codes[code] = _Grant(
            platform, account, params["redirect_uri"], params["code_challenge"], scope
        )
        return code

    def _tokens(self, platform: str, account: str, scope: str) -> dict[str, Any]:
        ttl = ACCESS_TOKEN_TTL_S if platform == "youtube" else X_ACCESS_TOKEN_TTL_S
        access = secrets.token_urlsafe(24)
        refresh = secrets.token_urlsafe(32)
        self.access_tokens[access] = _Token(platform, account, self.now_s() + ttl, scope)
        self.refresh_tokens[refresh] = _Token(platform, account, 0, scope)
        body: dict[str, Any] = {
            "access_token": access,
            "expires_in": ttl,
            "refresh_token": refresh,
            "scope": scope,
            "token_type": "Bearer" if platform == "youtube" else "bearer",
        }
        return body

    def _authorize_error(self, params: dict[str, str], platform: str) -> str | None:
        client = self.google_client_id if platform == "youtube" else self.x_client_id
        if params.get("client_id") != client:
            return "unauthorized_client"
        if params.get("response_type") != "code" or not params.get("redirect_uri"):
            return "invalid_request"
        if params.get("code_challenge_method") != "S256" or not params.get("code_challenge"):
            return "invalid_request"
        return None

    def _consent_page(self, platform: str, params: dict[str, str], action: str) -> Response[str]:
        name = "YouTube" if platform == "youtube" else "X"
        # One account verifies one member: each visit suggests a new sandbox account.
        suggested = f"Demo viewer {1000 + secrets.randbelow(9000)}"
        ours = self.our_channel_title if platform == "youtube" else f"@{self.our_x_username}"
        follow = "subscribes to" if platform == "youtube" else "follows"
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in params.items()
        )
        body = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{name} sandbox: allow Dracarys</title>
<style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem;
color:#1b1b1f}}.note{{background:#fff4d6;padding:.75rem;border-radius:.5rem}}label{{display:block;
margin:.75rem 0}}input[type=text]{{width:100%;padding:.5rem;font-size:1rem}}button{{padding:.6rem
1rem;font-size:1rem;margin-right:.5rem}}</style></head>
<body><main>
<h1>{name} sandbox</h1>
<p class="note">This is a local stand-in for {name}: no real account is used. Say which
account you are and whether it {follow} {html.escape(ours)}.</p>
<p><strong>Dracarys</strong> asks to see which accounts you follow.</p>
<form method="post" action="{html.escape(action)}">{hidden}
<label for="account">Your {name} account name
<input type="text" id="account" name="account" value="{html.escape(suggested)}" required
maxlength="40"></label>
<label><input type="checkbox" name="follows" value="yes" checked> This account {follow}
{html.escape(ours)}</label>
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny">Cancel</button>
</form></main></body></html>"""
        target = urlsplit(params.get("redirect_uri", ""))
        origin = f"{target.scheme}://{target.netloc}" if target.netloc else ""
        return Response(
            body,
            media_type="text/html",
            headers={
                "Content-Security-Policy": (
                    "default-src 'none'; style-src 'unsafe-inline'; "
                    f"form-action 'self' {origin}; frame-ancestors 'none'; base-uri 'none'"
                ),
                "X-Content-Type-Options": "nosniff",
                "Cache-Control": "no-store",
            },
        )

    def _consented(self, platform: str, form: dict[str, str]) -> Redirect:
        redirect_uri = form["redirect_uri"]
        if form.get("decision") != "allow":
            query = urlencode({"error": "access_denied", "state": form.get("state", "")})
            return Redirect(f"{redirect_uri}?{query}", status_code=303)
        name = (form.get("account") or "Demo viewer").strip()[:40]
        follows = form.get("follows") == "yes"
        if platform == "youtube":
            account = self.add_youtube_viewer(name, subscribed=follows)
        else:
            account = self.add_x_user(name.replace(" ", "_")[:15], follows_us=follows)
        code = self._issue_code(platform, account, form)
        query = urlencode({"code": code, "state": form.get("state", "")})
        return Redirect(f"{redirect_uri}?{query}", status_code=303)

    def _exchange(self, platform: str, form: dict[str, str]) -> Response[Any]:
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            grant = self.codes.pop(str(form.get("code")), None)
            if (
                grant is None
                or grant.platform != platform
                or grant.redirect_uri != form.get("redirect_uri")
                or grant.challenge != _challenge(str(form.get("code_verifier", "")))
            ):
                return self._token_error(platform)
            return Response(self._tokens(platform, grant.account, grant.scope), status_code=200)
        if grant_type == "refresh_token":
            refresh = str(form.get("refresh_token", ""))
            held = self.refresh_tokens.get(refresh)
            if held is None or held.platform != platform or held.account in self.withdrawn:
                return self._token_error(platform)
            if platform == "x":  # X's refresh tokens are single use: a new pair each time
                del self.refresh_tokens[refresh]
                return Response(self._tokens(platform, held.account, held.scope), status_code=200)
            body = self._tokens(platform, held.account, held.scope)
            del self.refresh_tokens[body.pop("refresh_token")]
            return Response(body, status_code=200)
        return Response(
            {"error": "unsupported_grant_type", "error_description": "Invalid grant_type"},
            status_code=400,
        )

    @staticmethod
    def _token_error(platform: str) -> Response[Any]:
        if platform == "youtube":
            return Response(
                {"error": "invalid_grant", "error_description": "Bad Request"}, status_code=400
            )
        return Response(
            {
                "error": "invalid_request",
                "error_description": "Value passed for the token was invalid.",
            },
            status_code=400,
        )

    def _bearer(self, request: Request[Any, Any, Any], platform: str) -> _Token | None:
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        token = self.access_tokens.get(value.strip()) if scheme.lower() == "bearer" else None
        if (
            token is None
            or token.platform != platform
            or token.expires_at_s <= self.now_s()
            or token.account in self.withdrawn
        ):
            return None
        return token

    # ---- the app ----------------------------------------------------------------------

    def app(self, prefix: str = "") -> Litestar:
        """The sandbox's routes, under `prefix` (`SOCIAL_SANDBOX_PATH` in `dracarys up`)."""
        sim = self

        def outage() -> Response[Any] | None:
            if sim.down:
                return Response({"error": "backendError"}, status_code=503)
            return None

        def google_unauthenticated() -> Response[Any]:
            return Response(
                {
                    "error": {
                        "code": 401,
                        "message": "Request had invalid authentication credentials. Expected "
                        "OAuth 2 access token, login cookie or other valid authentication "
                        "credential.",
                        "errors": [
                            {
                                "message": "Invalid Credentials",
                                "domain": "global",
                                "reason": "authError",
                                "location": "Authorization",
                                "locationType": "header",
                            }
                        ],
                        "status": "UNAUTHENTICATED",
                    }
                },
                status_code=401,
            )

        def x_unauthorized() -> Response[Any]:
            return Response(
                {
                    "title": "Unauthorized",
                    "type": "about:blank",
                    "status": 401,
                    "detail": "Unauthorized",
                },
                status_code=401,
            )

        def authorize(platform: str, request: Request[Any, Any, Any], action: str) -> Response[Any]:
            params = {k: str(v) for k, v in request.query_params.items()}
            error = sim._authorize_error(params, platform)
            if error is not None:
                if not params.get("redirect_uri"):
                    return Response({"error": error}, status_code=400)
                query = urlencode({"error": error, "state": params.get("state", "")})
                return Redirect(f"{params['redirect_uri']}?{query}")
            account = sim.auto_consent.get(platform)
            if account is not None:
                code = sim._issue_code(platform, account, params)
                query = urlencode({"code": code, "state": params.get("state", "")})
                return Redirect(f"{params['redirect_uri']}?{query}")
            return sim._consent_page(platform, params, action)

        @get(GOOGLE_AUTH_PATH)
        async def google_authorize(request: Request[Any, Any, Any]) -> Response[Any]:
            return authorize("youtube", request, f"{prefix}{GOOGLE_AUTH_PATH}")

        @post(GOOGLE_AUTH_PATH, status_code=303)
        async def google_consent(request: Request[Any, Any, Any]) -> Redirect:
            form = {k: str(v) for k, v in (await request.form()).items()}
            return sim._consented("youtube", form)

        @post("/google/token", status_code=200)
        async def google_token(request: Request[Any, Any, Any]) -> Response[Any]:
            sim.calls.append("google.token")
            if (down := outage()) is not None:
                return down
            form = {k: str(v) for k, v in (await request.form()).items()}
            if (
                form.get("client_id") != sim.google_client_id
                or form.get("client_secret") != sim.google_client_secret
            ):
                return Response(
                    {"error": "invalid_client", "error_description": "Unauthorized"},
                    status_code=401,
                )
            return sim._exchange("youtube", form)

        @get("/youtube/v3/channels")
        async def youtube_channels(request: Request[Any, Any, Any]) -> Response[Any]:
            sim.calls.append("youtube.channels")
            if (down := outage()) is not None:
                return down
            token = sim._bearer(request, "youtube")
            if token is None:
                return google_unauthenticated()
            if YOUTUBE_SCOPE not in token.scope.split():
                return Response(
                    {"error": {"code": 403, "errors": [{"reason": "insufficientPermissions"}]}},
                    status_code=403,
                )
            mine = [] if token.account in sim.channelless else [token.account]
            return Response(
                {
                    "kind": "youtube#channelListResponse",
                    "etag": secrets.token_urlsafe(8),
                    "pageInfo": {"totalResults": len(mine), "resultsPerPage": 5},
                    "items": [
                        {
                            "kind": "youtube#channel",
                            "etag": secrets.token_urlsafe(8),
                            "id": channel,
                            "snippet": {
                                "title": sim.channels.get(channel, "Viewer"),
                                "description": "",
                                "publishedAt": "2024-01-01T00:00:00Z",
                            },
                        }
                        for channel in mine
                    ],
                },
                status_code=200,
            )

        @get("/youtube/v3/subscriptions")
        async def youtube_subscriptions(request: Request[Any, Any, Any]) -> Response[Any]:
            sim.calls.append("youtube.subscriptions")
            if (down := outage()) is not None:
                return down
            token = sim._bearer(request, "youtube")
            if token is None:
                return google_unauthenticated()
            query = request.query_params
            if (
                "snippet" not in str(query.get("part", "")).split(",")
                or query.get("mine") != "true"
            ):
                return Response(
                    {"error": {"code": 400, "errors": [{"reason": "missingRequiredParameter"}]}},
                    status_code=400,
                )
            wanted = set(str(query.get("forChannelId", "")).split(",")) - {""}
            subscribed = sim.subscriptions.get(token.account, [])
            items = [
                {
                    "kind": "youtube#subscription",
                    "etag": secrets.token_urlsafe(8),
                    "id": secrets.token_urlsafe(12),
                    "snippet": {
                        "publishedAt": "2025-06-01T12:00:00Z",
                        "title": sim.channels.get(channel, ""),
                        "description": "",
                        "resourceId": {"kind": "youtube#channel", "channelId": channel},
                        "channelId": token.account,
                        "thumbnails": {},
                    },
                }
                for channel in subscribed
                if not wanted or channel in wanted
            ]
            return Response(
                {
                    "kind": "youtube#subscriptionListResponse",
                    "etag": secrets.token_urlsafe(8),
                    "pageInfo": {"totalResults": len(items), "resultsPerPage": 5},
                    "items": items[:5],
                },
                status_code=200,
            )

        @get(X_AUTH_PATH)
        async def x_authorize(request: Request[Any, Any, Any]) -> Response[Any]:
            return authorize("x", request, f"{prefix}{X_AUTH_PATH}")

        @post(X_AUTH_PATH, status_code=303)
        async def x_consent(request: Request[Any, Any, Any]) -> Redirect:
            form = {k: str(v) for k, v in (await request.form()).items()}
            return sim._consented("x", form)

        @post("/x/2/oauth2/token", status_code=200)
        async def x_token(request: Request[Any, Any, Any]) -> Response[Any]:
            sim.calls.append("x.token")
            if (down := outage()) is not None:
                return down
            expected = base64.b64encode(f"{sim.x_client_id}:{sim.x_client_secret}".encode())
            if request.headers.get("authorization", "") != f"Basic {expected.decode()}":
                return Response(
                    {
                        "error": "unauthorized_client",
                        "error_description": "Missing valid authorization header",
                    },
                    status_code=401,
                )
            form = {k: str(v) for k, v in (await request.form()).items()}
            return sim._exchange("x", form)

        @get("/x/2/users/me")
        async def x_me(request: Request[Any, Any, Any]) -> Response[Any]:
            sim.calls.append("x.me")
            if (down := outage()) is not None:
                return down
            token = sim._bearer(request, "x")
            if token is None:
                return x_unauthorized()
            username = sim.x_users.get(token.account, "someone")
            return Response(
                {"data": {"id": token.account, "name": username, "username": username}},
                status_code=200,
            )

        @get("/x/2/users/{user_id:str}/following")
        async def x_following(
            user_id: FromPath[str], request: Request[Any, Any, Any]
        ) -> Response[Any]:
            sim.calls.append("x.following")
            if (down := outage()) is not None:
                return down
            token = sim._bearer(request, "x")
            if token is None:
                return x_unauthorized()
            if not sim.x_follows_lookup:
                return Response({"client_id": sim.x_client_id, **_X_NOT_ENROLLED}, status_code=403)
            size = max(1, min(1000, int(str(request.query_params.get("max_results", "100")))))
            start = int(str(request.query_params.get("pagination_token") or "0") or 0)
            following = sim.x_following.get(user_id, [])
            page = following[start : start + size]
            meta: dict[str, Any] = {"result_count": len(page)}
            if start + size < len(following):
                meta["next_token"] = str(start + size)
            if start:
                meta["previous_token"] = str(max(0, start - size))
            data = [
                {
                    "id": uid,
                    "name": sim.x_users.get(uid, uid),
                    "username": sim.x_users.get(uid, uid),
                }
                for uid in page
            ]
            return Response(
                {"data": data, "meta": meta} if data else {"meta": meta}, status_code=200
            )

        handlers = [
            google_authorize,
            google_consent,
            google_token,
            youtube_channels,
            youtube_subscriptions,
            x_authorize,
            x_consent,
            x_token,
            x_me,
            x_following,
        ]
        routes = [Router(prefix, route_handlers=handlers)] if prefix else handlers
        return Litestar(routes, debug=False, openapi_config=None)

    def configure(self, settings: Settings, internal_base: str) -> Settings:
        """`settings` with the adapters pointed at this sandbox as `dracarys up` serves it:
        the consent pages at the public URL (the browser goes there), the token endpoints
        and APIs at the server's own address (the platform calls them)."""
        public = f"{settings.public_url.rstrip('/')}{SOCIAL_SANDBOX_PATH}"
        values = self.settings_for(f"{internal_base.rstrip('/')}{SOCIAL_SANDBOX_PATH}")
        values["social_google_auth_url"] = f"{public}{GOOGLE_AUTH_PATH}"
        values["social_x_authorize_url"] = f"{public}{X_AUTH_PATH}"
        return msgspec.structs.replace(settings, social_sandbox="on", **values)


def social_sandbox_for(settings: Settings) -> SocialSandbox | None:
    """The sandbox `dracarys up` runs with these settings: None in production, when it is
    turned off, or when a social platform's OAuth client is configured (the sandbox never
    mixes with a real platform)."""
    if settings.social_sandbox != "auto" or settings.env == "production":
        return None
    if settings.social_youtube_client_id or settings.social_x_client_id:
        return None
    return SocialSandbox()
