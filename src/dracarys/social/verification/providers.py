"""The adapters of the platforms whose APIs can check a follow, each speaking its
provider's wire format over HTTP (tests and the sandbox point the URLs in the settings at a
local simulator):

- YouTube: Google's OAuth 2.0 (authorization code with PKCE, offline access for a refresh
  token, scope `youtube.readonly`), then the YouTube Data API v3: `channels.list`
  (`mine=true`) names the member's channel and `subscriptions.list` (`mine=true`,
  `forChannelId` = ours) answers whether it subscribes to us.
- X: OAuth 2.0 authorization code with PKCE (confidential client: HTTP Basic on the token
  endpoint; refresh tokens rotate), `GET /2/users/me`, then the follows lookup
  `GET /2/users/:id/following` page by page (`pagination_token` / `meta.next_token`)
  until our account shows up. An app whose API tier does not include the lookup gets a
  403 `client-not-enrolled`, which is `FollowLookupForbidden`: the member sends a proof.

What a provider answers is sorted into three failures the service acts on:
`AccessWithdrawn` (the member revoked our access or the grant expired: the follow can no
longer be checked), `FollowLookupForbidden`, and `ProviderUnavailable` (network, 5xx,
rate limit: try again later, never a reason to take points back)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlencode

import httpx
import msgspec

from dracarys.settings import Settings
from dracarys.social.verification.models import FollowPlatform, Tokens

YOUTUBE_SCOPE = "https://www.googleapis.com/auth/youtube.readonly"
X_SCOPES = "tweet.read users.read follows.read offline.access"
# A member following more accounts than this many pages of 1,000 is read no further.
X_MAX_FOLLOWING_PAGES = 10
T = TypeVar("T")


class ProviderError(Exception):
    """A provider's answer the service turns into a sentence for the member."""


class AccessWithdrawn(ProviderError):
    """The grant no longer works: revoked by the member, or expired."""


class CodeRefused(ProviderError):
    """The authorization code was refused (expired, used, or for another client)."""


class ScopeMissing(ProviderError):
    """The member unticked the permission the check needs on the consent screen."""


class FollowLookupForbidden(ProviderError):
    """The platform does not let our app read follows (X's API tier)."""


class ProviderUnavailable(ProviderError):
    """Unreachable, failing or rate-limiting: try again later."""


@dataclass(frozen=True, slots=True)
class FollowCheck:
    """Whose account the grant is (`account_id` None: a Google account with no YouTube
    channel) and whether it follows ours."""

    account_id: str | None
    account_name: str | None
    following: bool


class _TokenReply(msgspec.Struct):
    access_token: str
    token_type: str = "Bearer"  # noqa: S105 - a token kind, not a secret
    expires_in: int | None = None
    refresh_token: str | None = None
    scope: str | None = None


class _OAuthError(msgspec.Struct):
    error: str = ""
    error_description: str = ""


class FollowProvider:
    """One platform's OAuth client and follow check."""

    platform: FollowPlatform
    name: str
    scope: str

    def __init__(self, settings: Settings, http: httpx.AsyncClient) -> None:
        self.settings = settings
        self.http = http

    # -- OAuth ------------------------------------------------------------------------

    @property
    def authorize_endpoint(self) -> str:
        raise NotImplementedError

    @property
    def token_endpoint(self) -> str:
        raise NotImplementedError

    @property
    def client_id(self) -> str:
        raise NotImplementedError

    @property
    def client_secret(self) -> str:
        raise NotImplementedError

    def extra_authorize_params(self) -> dict[str, str]:
        return {}

    def authorization_url(self, *, state: str, code_challenge: str, redirect_uri: str) -> str:
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.client_id,
                "redirect_uri": redirect_uri,
                "scope": self.scope,
                "state": state,
                "code_challenge": code_challenge,
                "code_challenge_method": "S256",
                **self.extra_authorize_params(),
            }
        )
        return f"{self.authorize_endpoint}?{query}"

    def _token_request(self, form: dict[str, str]) -> dict[str, Any]:
        """How this provider's token endpoint takes the client's credentials."""
        raise NotImplementedError

    async def _token(
        self, form: dict[str, str], now_s: int, *, exchanging: bool
    ) -> tuple[Tokens, str | None]:
        """The tokens granted, and the scopes the provider says they carry."""
        try:
            response = await self.http.post(
                self.token_endpoint,
                headers={"Accept": "application/json"},
                **self._token_request(form),
            )
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(f"{self.name} could not be reached") from exc
        if response.status_code in (400, 401):
            error = _decode(response.content, _OAuthError) or _OAuthError()
            if error.error in ("invalid_client", "unauthorized_client"):
                # Our credentials, not the member's grant: an operator must fix them.
                raise ProviderUnavailable(f"{self.name} refused our app's credentials")
            raise CodeRefused(error.error) if exchanging else AccessWithdrawn(error.error)
        if response.status_code != 200:
            raise ProviderUnavailable(f"{self.name} answered {response.status_code}")
        reply = _decode(response.content, _TokenReply)
        if reply is None:
            raise ProviderUnavailable(f"{self.name} sent a token answer we cannot read")
        return Tokens(
            access_token=reply.access_token,
            refresh_token=reply.refresh_token or form.get("refresh_token"),
            expires_at_s=None if reply.expires_in is None else now_s + reply.expires_in,
        ), reply.scope

    async def exchange_code(
        self, *, code: str, code_verifier: str, redirect_uri: str, now_s: int
    ) -> Tokens:
        tokens, scope = await self._token(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "code_verifier": code_verifier,
            },
            now_s,
            exchanging=True,
        )
        self.check_scope(scope)
        return tokens

    def check_scope(self, scope: str | None) -> None:
        return None

    async def refresh(self, tokens: Tokens, now_s: int) -> Tokens:
        if not tokens.refresh_token:
            raise AccessWithdrawn("no refresh token")
        fresh, _ = await self._token(
            {"grant_type": "refresh_token", "refresh_token": tokens.refresh_token},
            now_s,
            exchanging=False,
        )
        return fresh

    # -- the follow ---------------------------------------------------------------------

    async def check_follow(self, access_token: str) -> FollowCheck:
        raise NotImplementedError

    async def _api_get(self, url: str, access_token: str, params: dict[str, str]) -> bytes:
        try:
            response = await self.http.get(
                url,
                params=params,
                headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
            )
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(f"{self.name} could not be reached") from exc
        if response.status_code == 401:
            raise AccessWithdrawn(f"{self.name} refused the access token")
        if response.status_code == 403:
            self.forbidden(response.content)
        if response.status_code != 200:
            raise ProviderUnavailable(f"{self.name} answered {response.status_code}")
        return response.content

    def forbidden(self, body: bytes) -> None:
        raise AccessWithdrawn(f"{self.name} refused the request")


def _decode(content: bytes, kind: type[T]) -> T | None:
    try:
        return msgspec.json.decode(content, type=kind)
    except msgspec.DecodeError:
        return None


# ---- YouTube -----------------------------------------------------------------------------


# Google's JSON names fields in camelCase.
class _ResourceId(msgspec.Struct, rename="camel"):
    channel_id: str = ""


class _SubscriptionSnippet(msgspec.Struct, rename="camel"):
    resource_id: _ResourceId = msgspec.field(default_factory=_ResourceId)
    channel_id: str = ""


class _Subscription(msgspec.Struct):
    snippet: _SubscriptionSnippet = msgspec.field(default_factory=_SubscriptionSnippet)


class _SubscriptionList(msgspec.Struct):
    kind: str
    items: list[_Subscription] = []


class _ChannelSnippet(msgspec.Struct):
    title: str = ""


class _Channel(msgspec.Struct):
    id: str
    snippet: _ChannelSnippet = msgspec.field(default_factory=_ChannelSnippet)


class _ChannelList(msgspec.Struct):
    kind: str
    items: list[_Channel] = []


class _GoogleErrorDetail(msgspec.Struct):
    reason: str = ""


class _GoogleErrorBody(msgspec.Struct):
    code: int = 0
    errors: list[_GoogleErrorDetail] = []


class _GoogleError(msgspec.Struct):
    error: _GoogleErrorBody = msgspec.field(default_factory=_GoogleErrorBody)


class YouTubeProvider(FollowProvider):
    platform = FollowPlatform.YOUTUBE
    name = "YouTube"
    scope = YOUTUBE_SCOPE

    @property
    def authorize_endpoint(self) -> str:
        return self.settings.social_google_auth_url

    @property
    def token_endpoint(self) -> str:
        return self.settings.social_google_token_url

    @property
    def client_id(self) -> str:
        return self.settings.social_youtube_client_id

    @property
    def client_secret(self) -> str:
        return self.settings.social_youtube_client_secret

    def extra_authorize_params(self) -> dict[str, str]:
        # A refresh token (offline access) is what lets the scheduled re-check run; Google
        # sends one only with consent asked for again.
        return {"access_type": "offline", "prompt": "consent", "include_granted_scopes": "true"}

    def _token_request(self, form: dict[str, str]) -> dict[str, Any]:
        return {"data": {**form, "client_id": self.client_id, "client_secret": self.client_secret}}

    def check_scope(self, scope: str | None) -> None:
        # Google's consent screen lets a person untick a permission.
        if scope is not None and YOUTUBE_SCOPE not in scope.split():
            raise ScopeMissing(YOUTUBE_SCOPE)

    def forbidden(self, body: bytes) -> None:
        error = _decode(body, _GoogleError) or _GoogleError()
        reasons = {e.reason for e in error.error.errors}
        if reasons & {"quotaExceeded", "rateLimitExceeded", "userRateLimitExceeded"}:
            raise ProviderUnavailable("YouTube's quota is used up for now")
        raise AccessWithdrawn("YouTube refused the request")

    async def check_follow(self, access_token: str) -> FollowCheck:
        base = self.settings.social_youtube_api_base.rstrip("/")
        channels = _decode(
            await self._api_get(
                f"{base}/channels", access_token, {"part": "snippet", "mine": "true"}
            ),
            _ChannelList,
        )
        if channels is None or channels.kind != "youtube#channelListResponse":
            raise ProviderUnavailable("YouTube sent a channel list we cannot read")
        if not channels.items:
            return FollowCheck(account_id=None, account_name=None, following=False)
        mine = channels.items[0]
        ours = self.settings.social_youtube_channel_id
        subscriptions = _decode(
            await self._api_get(
                f"{base}/subscriptions",
                access_token,
                {"part": "snippet", "mine": "true", "forChannelId": ours, "maxResults": "1"},
            ),
            _SubscriptionList,
        )
        if subscriptions is None or subscriptions.kind != "youtube#subscriptionListResponse":
            raise ProviderUnavailable("YouTube sent a subscription list we cannot read")
        following = any(s.snippet.resource_id.channel_id == ours for s in subscriptions.items)
        return FollowCheck(account_id=mine.id, account_name=mine.snippet.title, following=following)


# ---- X -----------------------------------------------------------------------------------


class _XUser(msgspec.Struct):
    id: str
    username: str = ""
    name: str = ""


class _XMe(msgspec.Struct):
    data: _XUser


class _XMeta(msgspec.Struct):
    result_count: int = 0
    next_token: str | None = None


class _XFollowing(msgspec.Struct):
    data: list[_XUser] = []
    meta: _XMeta = msgspec.field(default_factory=_XMeta)


class _XProblem(msgspec.Struct):
    title: str = ""
    reason: str = ""
    type: str = ""


class XProvider(FollowProvider):
    platform = FollowPlatform.X
    name = "X"
    scope = X_SCOPES

    @property
    def authorize_endpoint(self) -> str:
        return self.settings.social_x_authorize_url

    @property
    def token_endpoint(self) -> str:
        return f"{self.settings.social_x_api_base.rstrip('/')}/2/oauth2/token"

    @property
    def client_id(self) -> str:
        return self.settings.social_x_client_id

    @property
    def client_secret(self) -> str:
        return self.settings.social_x_client_secret

    def _token_request(self, form: dict[str, str]) -> dict[str, Any]:
        # A confidential client authenticates with HTTP Basic; a public one names itself.
        if self.client_secret:
            return {"data": form, "auth": (self.client_id, self.client_secret)}
        return {"data": {**form, "client_id": self.client_id}}

    def forbidden(self, body: bytes) -> None:
        problem = _decode(body, _XProblem) or _XProblem()
        if problem.reason == "client-not-enrolled":
            raise FollowLookupForbidden(problem.title)
        raise AccessWithdrawn("X refused the request")

    async def check_follow(self, access_token: str) -> FollowCheck:
        base = self.settings.social_x_api_base.rstrip("/")
        me = _decode(await self._api_get(f"{base}/2/users/me", access_token, {}), _XMe)
        if me is None:
            raise ProviderUnavailable("X sent an account we cannot read")
        ours = self.settings.social_x_user_id
        params = {"max_results": "1000"}
        for _ in range(X_MAX_FOLLOWING_PAGES):
            page = _decode(
                await self._api_get(f"{base}/2/users/{me.data.id}/following", access_token, params),
                _XFollowing,
            )
            if page is None:
                raise ProviderUnavailable("X sent a follows page we cannot read")
            if any(user.id == ours for user in page.data):
                return FollowCheck(me.data.id, f"@{me.data.username}", following=True)
            if not page.meta.next_token:
                break
            params = {"max_results": "1000", "pagination_token": page.meta.next_token}
        return FollowCheck(me.data.id, f"@{me.data.username}", following=False)


PROVIDERS: dict[FollowPlatform, type[FollowProvider]] = {
    FollowPlatform.YOUTUBE: YouTubeProvider,
    FollowPlatform.X: XProvider,
}


def oauth_configured(settings: Settings, platform: FollowPlatform) -> bool:
    """Whether this deployment checks `platform` through its API (its OAuth client and our
    account on it are set)."""
    if platform is FollowPlatform.YOUTUBE:
        return bool(settings.social_youtube_client_id and settings.social_youtube_channel_id)
    if platform is FollowPlatform.X:
        return bool(settings.social_x_client_id and settings.social_x_user_id)
    return False


def provider_for(
    settings: Settings, platform: FollowPlatform, http: httpx.AsyncClient
) -> FollowProvider:
    return PROVIDERS[platform](settings, http)
