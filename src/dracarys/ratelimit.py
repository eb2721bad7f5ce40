"""Rate limits: the fixed-window counters every throttle counts in (memory in the embedded
mode, Redis shared by all processes otherwise), reservations against several limits at
once, and the per-client API limit.

A hit increments and reads in one atomic step (a Lua script on Redis; a dict update with
no await between read and write in memory), so of any number of concurrent callers only
the first `max_count` see a count within the limit. Callers reserve an attempt before
doing the work it limits, never after."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from litestar import Request
from litestar.datastructures import MutableScopeHeaders
from litestar.middleware.rate_limit import DURATION_VALUES, RateLimitConfig, RateLimitMiddleware
from litestar.types import Message, Receive, Scope, Send
from redis.asyncio import Redis

from dracarys.errors import TooManyRequests
from dracarys.settings import Settings


@dataclass(frozen=True, slots=True)
class Window:
    """A key's count in its current window and the seconds until the window ends."""

    count: int
    ends_in_s: int


class Counters(Protocol):
    async def hit(self, key: str, window_s: int) -> Window:
        """Count one more for `key`; a window opens at the first hit and lasts `window_s`."""
        ...

    async def take_back(self, key: str) -> None:
        """Uncount one hit while its window is open (an attempt refused or succeeded)."""
        ...

    async def clear(self, key: str) -> None: ...


class MemoryCounters:
    """One process's counters (the embedded mode). Nothing awaits between the read and the
    write of a hit, so the event loop makes each hit atomic."""

    def __init__(self) -> None:
        self._windows: dict[str, tuple[int, float]] = {}
        self._sweep_at = 1024

    async def hit(self, key: str, window_s: int) -> Window:
        now = time.monotonic()
        count, ends_at = self._windows.get(key, (0, 0.0))
        if ends_at <= now:
            count, ends_at = 0, now + window_s
        count += 1
        self._windows[key] = (count, ends_at)
        if len(self._windows) >= self._sweep_at:
            self._sweep(now)
        return Window(count, max(1, math.ceil(ends_at - now)))

    async def take_back(self, key: str) -> None:
        count, ends_at = self._windows.get(key, (0, 0.0))
        if count > 0 and ends_at > time.monotonic():
            self._windows[key] = (count - 1, ends_at)

    async def clear(self, key: str) -> None:
        self._windows.pop(key, None)

    def _sweep(self, now: float) -> None:
        # Ended windows are dropped when the table doubles, so keys sprayed by an attacker
        # (one per guessed e-mail address) cost amortised constant time and bounded memory.
        self._windows = {k: v for k, v in self._windows.items() if v[1] > now}
        self._sweep_at = max(1024, 2 * len(self._windows))


# INCR, then start the window if the key has none: one atomic step on the server.
_HIT = """
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('TTL', KEYS[1])
if ttl < 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
"""
# A window that has ended is not reopened by taking a hit back.
_TAKE_BACK = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('DECR', KEYS[1])
end
return 0
"""


class RedisCounters:
    """Counters every API process shares, under `<redis prefix>:rate_limit:`."""

    def __init__(self, redis: Redis, namespace: str) -> None:
        self._redis = redis
        self._prefix = f"{namespace}:"
        self._hit = redis.register_script(_HIT)
        self._take_back = redis.register_script(_TAKE_BACK)

    async def hit(self, key: str, window_s: int) -> Window:
        count, ttl = await self._hit(keys=[self._prefix + key], args=[window_s])
        return Window(int(count), max(1, int(ttl)))

    async def take_back(self, key: str) -> None:
        await self._take_back(keys=[self._prefix + key])

    async def clear(self, key: str) -> None:
        await self._redis.delete(self._prefix + key)


def build_counters(settings: Settings, redis: Redis | None) -> Counters:
    if redis is None:
        return MemoryCounters()
    return RedisCounters(redis, f"{settings.redis_prefix}:rate_limit")


@dataclass(frozen=True, slots=True)
class Limit:
    key: str
    max_count: int
    window_s: int


def wait_phrase(seconds: int) -> str:
    """30 → "30 seconds", 899 → "15 minutes", 3600 → "1 hour"."""
    if seconds < 60:
        amount, unit = seconds, "second"
    elif seconds < 3600:
        amount, unit = math.ceil(seconds / 60), "minute"
    else:
        amount, unit = math.ceil(seconds / 3600), "hour"
    return f"{amount} {unit}{'' if amount == 1 else 's'}"


def too_many(refusal: str, wait_s: int, headers: dict[str, str] | None = None) -> TooManyRequests:
    return TooManyRequests(
        f"{refusal}; try again in {wait_phrase(wait_s)}",
        headers={**(headers or {}), "Retry-After": str(wait_s)},
        extra={"retry_after_s": wait_s},
    )


async def reserve(counters: Counters, limits: Sequence[Limit], refusal: str) -> None:
    """Count one attempt against every limit. When any is over, the attempt is taken back
    from all of them (a refused attempt costs no other budget) and a 429 says how long to
    wait: the longest wait among the limits that are over."""
    windows = [await counters.hit(limit.key, limit.window_s) for limit in limits]
    waits = [
        w.ends_in_s for limit, w in zip(limits, windows, strict=True) if w.count > limit.max_count
    ]
    if waits:
        for limit in limits:
            await counters.take_back(limit.key)
        raise too_many(refusal, max(waits))


# ---- the per-client API limit ---------------------------------------------------------


def client_identity(request: Request[Any, Any, Any]) -> str:
    """The signed-in user when there is one (set by the access middleware, which runs
    first), else the source address (the proxy's client when the proxy is trusted)."""
    user_id = getattr(request.scope.get("user"), "id", None)
    if user_id is not None:
        return f"user:{user_id}"
    return f"ip:{request.client.host if request.client else 'unknown'}"


class ApiRateLimitMiddleware(RateLimitMiddleware):
    """Litestar's rate-limit middleware counting in the platform's atomic counters: the
    stock one reads, then writes, its history under a process-wide lock, which lets
    several API processes each admit the last request of a window and holds every
    request of the process behind one Redis round trip. Refusals are problem details
    with `Retry-After`."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        app = scope["litestar_app"]
        request: Request[Any, Any, Any] = app.request_class(scope)
        if await self.should_check_request(request=request):
            counters: Counters = app.state.platform.counters
            window = await counters.hit(
                self.cache_key_from_request(request), DURATION_VALUES[self.unit]
            )
            headers = self._limit_headers(window)
            if window.count > self.max_requests:
                raise too_many("too many requests from this client", window.ends_in_s, headers)
            send = self._sending_headers(send, headers)
        await self.app(scope, receive, send)

    def _limit_headers(self, window: Window) -> dict[str, str]:
        if not self.config.set_rate_limit_headers:
            return {}
        return {
            self.config.rate_limit_policy_header_key: (
                f"{self.max_requests}; w={DURATION_VALUES[self.unit]}"
            ),
            self.config.rate_limit_limit_header_key: str(self.max_requests),
            self.config.rate_limit_remaining_header_key: str(
                max(0, self.max_requests - window.count)
            ),
            self.config.rate_limit_reset_header_key: str(window.ends_in_s),
        }

    @staticmethod
    def _sending_headers(send: Send, headers: dict[str, str]) -> Send:
        if not headers:
            return send

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                response_headers = MutableScopeHeaders(message)
                for name, value in headers.items():
                    response_headers[name] = value
            await send(message)

        return send_with_headers


def api_rate_limit(settings: Settings) -> RateLimitConfig:
    """Requests per minute per client. Probes, metrics scrapes and static files are not
    counted; the WebSocket stream has its own per-connection limits."""
    return RateLimitConfig(
        rate_limit=("minute", settings.rate_limit_per_minute),
        exclude=["^/health$", "^/ready$", "^/metrics", "^/static/"],
        identifier_for_request=client_identity,
        middleware_class=ApiRateLimitMiddleware,
    )
