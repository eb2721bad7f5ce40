"""Liveness and readiness probes."""

from __future__ import annotations

import asyncio

import msgspec
from litestar import get
from litestar.di import NamedDependency
from redis.exceptions import RedisError

from dracarys.errors import ServiceUnavailable
from dracarys.platform import Platform


class HealthStatus(msgspec.Struct, kw_only=True):
    status: str


class ReadinessStatus(msgspec.Struct, kw_only=True):
    status: str
    postgres: str
    redis: str


@get("/health", operation_id="getHealth", tags=["system"], summary="Liveness probe")
async def health() -> HealthStatus:
    return HealthStatus(status="ok")


@get("/ready", operation_id="getReadiness", tags=["system"], summary="Readiness probe")
async def ready(platform: NamedDependency[Platform]) -> ReadinessStatus:
    try:
        async with asyncio.timeout(2):
            await platform.pool.fetchval("SELECT 1")
    except (OSError, TimeoutError, Exception) as exc:
        raise ServiceUnavailable(f"PostgreSQL does not answer: {exc!r}") from exc
    redis_state = "not configured"
    if platform.redis is not None:
        try:
            async with asyncio.timeout(2):
                await platform.redis.ping()
        except (RedisError, OSError, TimeoutError) as exc:
            raise ServiceUnavailable(f"Redis does not answer: {exc!r}") from exc
        redis_state = "ok"
    return ReadinessStatus(status="ok", postgres="ok", redis=redis_state)
