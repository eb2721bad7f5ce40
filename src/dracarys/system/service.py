"""Readiness: PostgreSQL and (when configured) Redis each answer within two seconds."""

from __future__ import annotations

import asyncio

from redis.exceptions import RedisError

from dracarys.errors import ServiceUnavailable
from dracarys.platform import Platform
from dracarys.system import store
from dracarys.system.models import ReadinessStatus

PROBE_TIMEOUT_S = 2


async def readiness(platform: Platform) -> ReadinessStatus:
    try:
        async with asyncio.timeout(PROBE_TIMEOUT_S):
            await store.database_answers(platform.pool)
    except (OSError, TimeoutError, Exception) as exc:
        raise ServiceUnavailable(f"PostgreSQL does not answer: {exc!r}") from exc
    redis_state = "not configured"
    if platform.redis is not None:
        try:
            async with asyncio.timeout(PROBE_TIMEOUT_S):
                await platform.redis.ping()
        except (RedisError, OSError, TimeoutError) as exc:
            raise ServiceUnavailable(f"Redis does not answer: {exc!r}") from exc
        redis_state = "ok"
    return ReadinessStatus(status="ok", postgres="ok", redis=redis_state)
