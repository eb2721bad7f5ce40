"""Rate limits: the fixed-window counters every throttle counts in (memory in the embedded
mode, Redis shared by all processes otherwise) and the per-client API limit.

A reservation counts one attempt against several limits at once, all or nothing, in one
atomic step (a Lua script on Redis; no await between read and write in memory): of any
number of concurrent callers exactly as many are let through as the tightest limit has
room for, and a refused attempt counts against nothing. Callers reserve an attempt
before doing the work it limits, never after."""

from __future__ import annotations

import asyncio
import math
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol

import structlog
from litestar import Request
from litestar.enums import ScopeType
from litestar.middleware import DefineMiddleware
from litestar.middleware.rate_limit import DURATION_VALUES, DurationUnit, RateLimitConfig
from litestar.types import ASGIApp, Receive, Scope, Send
from redis.asyncio import Redis
from redis.exceptions import RedisError

from dracarys.edge import path_excluded
from dracarys.errors import TooManyRequests
from dracarys.observability import add_response_headers
from dracarys.settings import Settings

log = structlog.get_logger("dracarys.ratelimit")


@dataclass(frozen=True, slots=True)
class Limit:
    """At most `max_count` in a window of `window_s` that opens at the key's first count."""

    key: str
    max_count: int
    window_s: int


@dataclass(frozen=True, slots=True)
class Window:
    """A key's count in its current window and the seconds until the window ends."""

    count: int
    ends_in_s: int


@dataclass(frozen=True, slots=True)
class Reservation:
    granted: bool
    # Per limit, in order: counts after the reservation (before it, when refused).
    windows: tuple[Window, ...]

    def wait_s(self, limits: Sequence[Limit]) -> int:
        """Until the first full window among `limits` ends."""
        return max(
            w.ends_in_s
            for limit, w in zip(limits, self.windows, strict=True)
            if w.count >= limit.max_count
        )


class OneLimitCounter(Protocol):
    async def reserve_one(self, limit: Limit) -> Reservation:
        """Count one more against `limit`, unless it is full."""
        ...


class Counters(OneLimitCounter, Protocol):
    async def reserve(self, limits: Sequence[Limit]) -> Reservation:
        """Count one more against every limit, or, when any is full, against none."""
        ...

    async def take_back(self, key: str) -> None:
        """Uncount one while the key's window is open (an attempt that succeeded)."""
        ...

    async def clear(self, key: str) -> None: ...


class MemoryCounters:
    """One process's counters (the embedded mode). A reservation never awaits between
    reading and writing, so the event loop makes it atomic."""

    def __init__(self) -> None:
        self._windows: dict[str, tuple[int, float]] = {}
        self._sweep_at = 1024

    def _current(self, key: str, now: float) -> tuple[int, float]:
        count, ends_at = self._windows.get(key, (0, 0.0))
        return (count, ends_at) if ends_at > now else (0, 0.0)

    async def reserve(self, limits: Sequence[Limit]) -> Reservation:
        now = time.monotonic()
        current = [self._current(limit.key, now) for limit in limits]
        granted = all(
            count < limit.max_count for limit, (count, _) in zip(limits, current, strict=True)
        )
        if granted:
            current = [
                (count + 1, ends_at or now + limit.window_s)
                for limit, (count, ends_at) in zip(limits, current, strict=True)
            ]
            for limit, window in zip(limits, current, strict=True):
                self._windows[limit.key] = window
            if len(self._windows) >= self._sweep_at:
                self._sweep(now)
        return Reservation(
            granted,
            tuple(
                Window(count, max(1, math.ceil(ends_at - now)) if ends_at else limit.window_s)
                for limit, (count, ends_at) in zip(limits, current, strict=True)
            ),
        )

    async def reserve_one(self, limit: Limit) -> Reservation:
        return await self.reserve([limit])

    async def take_back(self, key: str) -> None:
        count, ends_at = self._current(key, time.monotonic())
        if count > 0:
            self._windows[key] = (count - 1, ends_at)

    async def clear(self, key: str) -> None:
        self._windows.pop(key, None)

    def _sweep(self, now: float) -> None:
        # Ended windows are dropped when the table doubles, so keys sprayed by an attacker
        # (one per guessed e-mail address) cost amortised constant time and bounded memory.
        self._windows = {k: v for k, v in self._windows.items() if v[1] > now}
        self._sweep_at = max(1024, 2 * len(self._windows))


# KEYS: the limits' keys; ARGV: max_count and window_s of each, in turn. Returns granted
# (1/0), then count and seconds left of each key.
_RESERVE = """
local granted = 1
for i, key in ipairs(KEYS) do
  if tonumber(redis.call('GET', key) or '0') >= tonumber(ARGV[2 * i - 1]) then
    granted = 0
  end
end
local reply = {granted}
for i, key in ipairs(KEYS) do
  local count
  if granted == 1 then
    count = redis.call('INCR', key)
  else
    count = tonumber(redis.call('GET', key) or '0')
  end
  local ttl = redis.call('TTL', key)
  if ttl < 0 then
    ttl = tonumber(ARGV[2 * i])
    if granted == 1 then
      redis.call('EXPIRE', key, ttl)
    end
  end
  table.insert(reply, count)
  table.insert(reply, ttl)
end
return reply
"""
# A window that has ended is not reopened by taking a count back.
_TAKE_BACK = """
if tonumber(redis.call('GET', KEYS[1]) or '0') > 0 then
  redis.call('DECR', KEYS[1])
end
return 0
"""


# KEYS[1]: the key; ARGV: max_count, wanted, window_s. Takes up to `wanted` of what is left
# in the window. Returns how many were taken, the count after, and the seconds left.
_LEASE = """
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
local take = math.min(tonumber(ARGV[2]), tonumber(ARGV[1]) - count)
if take > 0 then
  count = redis.call('INCRBY', KEYS[1], take)
else
  take = 0
end
local ttl = redis.call('TTL', KEYS[1])
if ttl < 0 then
  ttl = tonumber(ARGV[3])
  if take > 0 then
    redis.call('EXPIRE', KEYS[1], ttl)
  end
end
return {take, count, ttl}
"""


class RedisCounters:
    """Counters every API process shares, under `<redis prefix>:rate_limit:`. (The keys of
    one reservation go to one script; on Redis Cluster they would need one hash slot.)"""

    def __init__(self, redis: Redis, namespace: str) -> None:
        self._redis = redis
        self._prefix = f"{namespace}:"
        self._reserve = redis.register_script(_RESERVE)
        self._take_back = redis.register_script(_TAKE_BACK)
        self._lease = redis.register_script(_LEASE)

    async def reserve(self, limits: Sequence[Limit]) -> Reservation:
        args: list[int] = []
        for limit in limits:
            args += [limit.max_count, limit.window_s]
        reply = await self._reserve(keys=[self._prefix + limit.key for limit in limits], args=args)
        values = [int(v) for v in reply]
        return Reservation(
            values[0] == 1,
            tuple(Window(values[i], max(1, values[i + 1])) for i in range(1, len(values), 2)),
        )

    async def reserve_one(self, limit: Limit) -> Reservation:
        return await self.reserve([limit])

    async def take_back(self, key: str) -> None:
        await self._take_back(keys=[self._prefix + key])

    async def clear(self, key: str) -> None:
        await self._redis.delete(self._prefix + key)

    async def lease(self, limit: Limit, wanted: int) -> tuple[int, Window]:
        """Count up to `wanted` against `limit` at once (what the window has room for):
        how many were counted, and the window after."""
        reply = await self._lease(
            keys=[self._prefix + limit.key], args=[limit.max_count, wanted, limit.window_s]
        )
        taken, count, ttl = (int(v) for v in reply)
        return taken, Window(count, max(1, ttl))


class LeasedCounters:
    """The API limit on Redis without a round trip per request: each process counts a
    small block of a client's requests in Redis at once and spends it locally. The
    window's total never passes the limit (a block is counted before it is spent), and a
    process holds at most a block of a client's, 1/64 of the limit, so a client spread
    over processes loses at most that much of a window to blocks held elsewhere; for
    small limits blocks are single requests and counting is exact. When half a block is
    left, the other half is counted in the background, so a steady client's requests do
    not stop for Redis (they all did, every 64th request, when the block ran out: the
    API's p99 under load, `benchmarks/auth_me.py`). One refill per client at a time:
    requests that find the block empty wait for the refill under way rather than each
    asking Redis. A full window is remembered until it ends, so a client past its limit
    costs no round trip either."""

    _MAX_BLOCK = 64

    def __init__(self, counters: RedisCounters) -> None:
        self._counters = counters
        # key → (requests left in the block, its window's end on the monotonic clock,
        # the window's count in Redis when the block was last counted)
        self._blocks: dict[str, tuple[int, float, int]] = {}
        self._refills: dict[str, asyncio.Future[None]] = {}
        self._top_ups: set[asyncio.Task[None]] = set()

    def _block(self, limit: Limit) -> int:
        return max(1, min(self._MAX_BLOCK, limit.max_count // self._MAX_BLOCK))

    async def reserve_one(self, limit: Limit) -> Reservation:
        while True:
            now = time.monotonic()
            left, ends_at, counted = self._blocks.get(limit.key, (0, 0.0, 0))
            if ends_at > now:
                window = Window(counted - left + 1, max(1, math.ceil(ends_at - now)))
                if left > 0:
                    self._blocks[limit.key] = (left - 1, ends_at, counted)
                    half = self._block(limit) // 2
                    if (
                        left - 1 <= half
                        and half > 0
                        and counted < limit.max_count
                        and limit.key not in self._refills
                    ):
                        self._start_top_up(limit, half)
                    return Reservation(True, (window,))
                if counted >= limit.max_count:
                    return Reservation(False, (Window(counted, window.ends_in_s),))
            refill = self._refills.get(limit.key)
            if refill is None:
                return await self._refill(limit, now)
            await asyncio.shield(refill)

    async def _refill(self, limit: Limit, now: float) -> Reservation:
        done = asyncio.get_running_loop().create_future()
        self._refills[limit.key] = done
        try:
            taken, window = await self._counters.lease(limit, self._block(limit))
        finally:
            del self._refills[limit.key]
            done.set_result(None)
        if len(self._blocks) >= 65_536:
            self._blocks = {k: v for k, v in self._blocks.items() if v[1] > now}
        self._blocks[limit.key] = (max(0, taken - 1), now + window.ends_in_s, window.count)
        if taken == 0:
            return Reservation(False, (window,))
        return Reservation(True, (Window(window.count - taken + 1, window.ends_in_s),))

    def _start_top_up(self, limit: Limit, wanted: int) -> None:
        done = asyncio.get_running_loop().create_future()
        self._refills[limit.key] = done
        task = asyncio.create_task(self._top_up(limit, wanted, done))
        self._top_ups.add(task)
        task.add_done_callback(self._top_ups.discard)

    async def _top_up(self, limit: Limit, wanted: int, done: asyncio.Future[None]) -> None:
        """Count `wanted` more of the client's requests and add them to the block."""
        try:
            taken, window = await self._counters.lease(limit, wanted)
        except (RedisError, OSError) as exc:
            # The request that finds the block empty refills it, or lets itself through.
            log.warning("rate_limit_top_up_failed", error=repr(exc))
            return
        else:
            now = time.monotonic()
            left, ends_at, _ = self._blocks.get(limit.key, (0, 0.0, 0))
            if ends_at <= now or window.count == taken:
                # A new window: what is left of the old block was not counted in it.
                left = 0
            self._blocks[limit.key] = (left + taken, now + window.ends_in_s, window.count)
        finally:
            del self._refills[limit.key]
            done.set_result(None)


def build_counters(settings: Settings, redis: Redis | None) -> Counters:
    if redis is None:
        return MemoryCounters()
    return RedisCounters(redis, f"{settings.redis_prefix}:rate_limit")


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
    """Count one attempt against every limit, or raise 429 (nothing counted) saying how
    long to wait."""
    reservation = await counters.reserve(limits)
    if not reservation.granted:
        raise too_many(refusal, reservation.wait_s(limits))


# ---- the per-client API limit ---------------------------------------------------------


def client_identity(scope: Scope) -> str:
    """The signed-in user when there is one (set by the access middleware, which runs
    first), else the source address (the proxy's client when the proxy is trusted)."""
    user_id = getattr(scope.get("user"), "id", None)
    if user_id is not None:
        return f"user:{user_id}"
    client = scope.get("client")
    return f"ip:{client[0] if client else 'unknown'}"


def _client_identity_of(request: Request[Any, Any, Any]) -> str:
    return client_identity(request.scope)


class ApiRateLimitMiddleware:
    """The API limit of a `RateLimitConfig` (`api_rate_limit`), counted in the platform's
    atomic counters: Litestar's own middleware reads, then writes, its history under a
    process-wide lock, which lets several API processes each admit the last request of a
    window and holds every request of the process behind one Redis round trip. Refusals
    are problem details with `Retry-After`. While Redis is unreachable the limit is not
    applied, so the API stays up (the sign-in throttles, which must not fail open, refuse
    instead).

    A plain ASGI layer applying the config as Litestar's middleware does (HTTP only; the
    `exclude` paths and handlers with the config's opt-out key pass uncounted; no throttle
    handler): Litestar's base class went through its generic bypass checks on every
    request, a few microseconds of each authenticated read (`benchmarks/auth_me.py`)."""

    def __init__(self, app: ASGIApp, config: RateLimitConfig) -> None:
        self.app = app
        self.config = config
        self.unit: DurationUnit = config.rate_limit[0]
        self.max_requests: int = config.rate_limit[1]
        exclude = config.exclude
        self._exclude = (
            None
            if not exclude
            else re.compile(exclude if isinstance(exclude, str) else "|".join(exclude))
        )
        self._key_prefix = f"{type(self).__name__}::"
        self._counter: OneLimitCounter | None = None

    def _counter_of(self, counters: Counters) -> OneLimitCounter:
        if self._counter is None:
            # On Redis, blocks of requests are counted at once (see LeasedCounters), so
            # the limit costs a round trip per block rather than per request.
            self._counter = (
                LeasedCounters(counters) if isinstance(counters, RedisCounters) else counters
            )
        return self._counter

    def _bypassed(self, scope: Scope) -> bool:
        if scope["type"] != ScopeType.HTTP:
            return True
        route_handler = scope.get("route_handler")
        opt_out = self.config.exclude_opt_key
        if route_handler is not None and opt_out and route_handler.opt.get(opt_out):
            return True
        return path_excluded(scope, self._exclude)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Straight from the scope, with no Request built: this runs on every API request.
        if self._bypassed(scope):
            await self.app(scope, receive, send)
            return
        counter = self._counter_of(scope["litestar_app"].state.platform.counters)
        limit = Limit(
            self._key_prefix + client_identity(scope),
            self.max_requests,
            DURATION_VALUES[self.unit],
        )
        try:
            reservation = await counter.reserve_one(limit)
        except (RedisError, OSError) as exc:
            log.warning("rate_limit_unavailable", error=repr(exc))
        else:
            (window,) = reservation.windows
            if not reservation.granted:
                headers = self._limit_headers(window)
                raise too_many("too many requests from this client", window.ends_in_s, headers)
            if self.config.set_rate_limit_headers:
                add_response_headers(scope, self._raw_limit_headers(window))
        await self.app(scope, receive, send)

    @cached_property
    def _fixed_raw_headers(self) -> tuple[bytes, bytes, bytes, bytes, bytes, bytes]:
        """The four header names as raw bytes, and the policy's and the limit's values:
        they never change, so they are encoded once, not per request."""
        config = self.config
        policy, limit, remaining, reset = (
            name.lower().encode("latin-1")
            for name in (
                config.rate_limit_policy_header_key,
                config.rate_limit_limit_header_key,
                config.rate_limit_remaining_header_key,
                config.rate_limit_reset_header_key,
            )
        )
        return (
            policy,
            f"{self.max_requests}; w={DURATION_VALUES[self.unit]}".encode(),
            limit,
            str(self.max_requests).encode(),
            remaining,
            reset,
        )

    def _raw_limit_headers(self, window: Window) -> list[tuple[bytes, bytes]]:
        """The rate-limit headers of a response, as the raw pairs ASGI sends."""
        policy, policy_value, limit, limit_value, remaining, reset = self._fixed_raw_headers
        return [
            (policy, policy_value),
            (limit, limit_value),
            (remaining, str(max(0, self.max_requests - window.count)).encode()),
            (reset, str(window.ends_in_s).encode()),
        ]

    def _limit_headers(self, window: Window) -> dict[str, str]:
        """The same headers for a refusal (a problem response takes a mapping)."""
        if not self.config.set_rate_limit_headers:
            return {}
        return {
            name.decode("latin-1"): value.decode()
            for name, value in self._raw_limit_headers(window)
        }


def api_rate_limit(settings: Settings) -> RateLimitConfig:
    """Requests per minute per client. Probes, metrics scrapes and static files are not
    counted; the WebSocket stream has its own per-connection limits."""
    return RateLimitConfig(
        rate_limit=("minute", settings.rate_limit_per_minute),
        exclude=["^/health$", "^/ready$", "^/metrics", "^/static/"],
        identifier_for_request=_client_identity_of,
    )


def api_rate_limit_middleware(settings: Settings) -> DefineMiddleware:
    """The app's layer applying `api_rate_limit`."""
    return DefineMiddleware(ApiRateLimitMiddleware, config=api_rate_limit(settings))
