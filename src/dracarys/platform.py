"""What every request handler and service can reach: settings, the database, Redis when
configured, and the clock. Built once in the app's lifespan."""

from __future__ import annotations

from dataclasses import dataclass, field

import asyncpg
from redis.asyncio import Redis

from dracarys.clock import Clock, SystemClock
from dracarys.db import Database
from dracarys.settings import Settings


@dataclass(slots=True)
class Platform:
    settings: Settings
    database: Database
    redis: Redis | None = None
    clock: Clock = field(default_factory=SystemClock)

    @property
    def pool(self) -> asyncpg.Pool:
        return self.database.pool
