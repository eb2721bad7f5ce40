"""What every request handler and service can reach: settings, the database, Redis when
configured, the clock, the rate-limit counters and the login-session cache. Built once
in the app's lifespan."""

from __future__ import annotations

from dataclasses import dataclass, field

import asyncpg
from redis.asyncio import Redis

from dracarys.clock import Clock, SystemClock
from dracarys.db import Database
from dracarys.identity.session_cache import SessionCache
from dracarys.ratelimit import Counters, build_counters
from dracarys.realtime.transport import build_hub
from dracarys.settings import Settings
from streams.hub import StreamHub


@dataclass(slots=True)
class Platform:
    settings: Settings
    database: Database
    redis: Redis | None = None
    clock: Clock = field(default_factory=SystemClock)
    # Built from settings when not given (memory or Redis transport); see `streams`.
    stream_hub: StreamHub | None = None
    # Built from settings when not given: in memory, or in Redis shared by all processes.
    rate_counters: Counters | None = None
    # What `AccessMiddleware` knows of login sessions; see `identity/session_cache.py`.
    session_cache: SessionCache = field(init=False)

    def __post_init__(self) -> None:
        if self.stream_hub is None:
            self.stream_hub = build_hub(self.settings, self.redis)
        if self.rate_counters is None:
            self.rate_counters = build_counters(self.settings, self.redis)
        self.session_cache = SessionCache(
            ttl_s=self.settings.session_cache_ttl_s,
            redis=self.redis,
            channel=f"{self.settings.redis_prefix}:auth:session-changes",
        )

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
