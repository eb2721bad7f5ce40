"""What every request handler and service can reach: settings, the database, Redis when
configured, the clock, the stream publisher, the rate-limit counters and the login-session
cache. Built once by the composition root (the app's lifespan, the `dracarys` commands).

Core: it imports no domain. What a domain builds for the platform (identity's session
cache) comes in from the composition root, known here only by the protocol it meets."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

import asyncpg
from redis.asyncio import Redis

from dracarys.clock import Clock, SystemClock
from dracarys.db import Database
from dracarys.ratelimit import Counters, build_counters
from dracarys.settings import Settings
from streams.hub import MemoryBackend, RedisBackend, StreamBackend, StreamHub


class SessionCaller(Protocol):
    """What a login-session cache knows of a caller: who, in which login session."""

    @property
    def id(self) -> uuid.UUID: ...

    @property
    def session_id(self) -> uuid.UUID: ...


Caller = TypeVar("Caller", bound=SessionCaller)


class SessionCache(Protocol):
    """The process's cache of login-session state: identity's
    `identity.session_cache.LoginSessionCache`, which the composition root builds.

    `resolve` answers the caller of a verified token (from the cache while fresh, else
    from `read`); the publish calls announce, after commit, a change to one session or to
    every session of one user."""

    async def resolve(
        self, claimed: Caller, now_s: float, read: Callable[[Caller], Awaitable[Caller]]
    ) -> Caller: ...

    async def publish_session_change(self, session_id: uuid.UUID) -> None: ...

    async def publish_user_change(self, user_id: uuid.UUID) -> None: ...


class NoSessionCache:
    """The cache of a platform built without one (tests, one-off scripts): every session
    is read from the database, and there is nothing to drop when one changes."""

    async def resolve(
        self, claimed: Caller, now_s: float, read: Callable[[Caller], Awaitable[Caller]]
    ) -> Caller:
        return await read(claimed)

    async def publish_session_change(self, session_id: uuid.UUID) -> None:
        return None

    async def publish_user_change(self, user_id: uuid.UUID) -> None:
        return None


def build_hub(settings: Settings, redis: Redis | None) -> StreamHub:
    """The stream publisher's transport: Redis (cross-process fan-out, Redis Streams
    history for resume, keys under `settings.redis_prefix`) when `REDIS_URL` is set,
    memory in the embedded single-process mode."""
    backend: StreamBackend
    if redis is None:
        backend = MemoryBackend(history_size=settings.stream_history_size)
    else:
        backend = RedisBackend(
            redis,
            prefix=settings.redis_prefix,
            history_size=settings.stream_history_size,
            history_ttl_s=settings.stream_history_ttl_s,
        )
    return StreamHub(backend)


@dataclass(slots=True)
class Platform:
    settings: Settings
    database: Database
    redis: Redis | None = None
    clock: Clock = field(default_factory=SystemClock)
    # Built from settings when not given (memory or Redis transport); see `build_hub`.
    stream_hub: StreamHub | None = None
    # Built from settings when not given: in memory, or in Redis shared by all processes.
    rate_counters: Counters | None = None
    # What `AccessMiddleware` knows of login sessions (identity builds it; see
    # `identity/session_cache.py`); a platform without one reads every session.
    session_cache: SessionCache = field(default_factory=NoSessionCache)

    def __post_init__(self) -> None:
        if self.stream_hub is None:
            self.stream_hub = build_hub(self.settings, self.redis)
        if self.rate_counters is None:
            self.rate_counters = build_counters(self.settings, self.redis)

    @property
    def pool(self) -> asyncpg.Pool:
        return self.database.pool

    @property
    def streams(self) -> StreamHub:
        """The one publisher: `await platform.streams.publish(channel, message)`."""
        assert self.stream_hub is not None
        return self.stream_hub

    @property
    def counters(self) -> Counters:
        """The atomic counters every throttle and rate limit counts in."""
        assert self.rate_counters is not None
        return self.rate_counters
