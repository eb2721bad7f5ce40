"""Which transport the publisher uses: Redis (cross-process fan-out, Redis Streams
history for resume, keys under `settings.redis_prefix`) when `REDIS_URL` is set, memory
in the embedded single-process mode."""

from __future__ import annotations

from redis.asyncio import Redis

from dracarys.settings import Settings
from streams.hub import MemoryBackend, RedisBackend, StreamBackend, StreamHub


def build_hub(settings: Settings, redis: Redis | None) -> StreamHub:
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
