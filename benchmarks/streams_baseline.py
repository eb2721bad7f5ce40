"""The peer for `streams_fanout.py`: Litestar's plain channels WebSocket route
(`ChannelsPlugin(create_ws_route_handlers=True)`) over the same Redis pub/sub, with no
authentication, sequence numbers, resume or back-pressure limits."""

from __future__ import annotations

import os

from litestar import Litestar, get
from litestar.channels import ChannelsPlugin
from litestar.channels.backends.redis import RedisChannelsPubSubBackend
from redis.asyncio import Redis


def channels_backend(redis: Redis, prefix: str) -> RedisChannelsPubSubBackend:
    return RedisChannelsPubSubBackend(redis=redis, key_prefix=f"{prefix}:litestar")


@get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


def create_app() -> Litestar:
    redis = Redis.from_url(os.environ["REDIS_URL"])
    plugin = ChannelsPlugin(
        backend=channels_backend(redis, os.environ["DRACARYS_REDIS_PREFIX"]),
        arbitrary_channels_allowed=True,
        create_ws_route_handlers=True,
        ws_handler_base_path="/ws/",
    )
    return Litestar(route_handlers=[health], plugins=[plugin])
