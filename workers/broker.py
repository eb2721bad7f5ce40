"""The taskiq broker, chosen by settings: Redis Streams with acknowledgements when
`REDIS_URL` is set (any number of worker processes), otherwise the in-memory broker that
runs tasks inside the platform's own process."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from typing import Annotated, Any

import structlog
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError
from taskiq import (
    AckableMessage,
    AsyncBroker,
    AsyncTaskiqDecoratedTask,
    Context,
    InMemoryBroker,
    TaskiqDepends,
)
from taskiq.kicker import AsyncKicker
from taskiq.message import TaskiqMessage
from taskiq.middlewares import SmartRetryMiddleware
from taskiq_redis import RedisStreamBroker

from dracarys.outbox import DeliveryBinding
from dracarys.platform import Platform
from dracarys.settings import Settings

log = structlog.get_logger("workers.broker")

PlatformJob = Callable[[Platform], Awaitable[Any]]
_REDIS_RETRY_MAX_S = 5.0


class RestartSafeRedisStreamBroker(RedisStreamBroker):
    """Keeps a worker reading through a Redis restart. taskiq restarts a failed listener
    at once, in a tight loop while Redis does not answer, and declares the consumer group
    only at start-up, so after a Redis without persistence came back empty every read
    fails with NOGROUP for good. Here the listener waits out an unreachable Redis, backing
    off, and declares the group again. Messages lost with the old Redis are the outbox
    relay's to re-deliver."""

    async def listen(self) -> AsyncGenerator[AckableMessage, None]:
        pause_s = 0.1
        declare_group = False
        while True:
            try:
                if declare_group:
                    await self._declare_consumer_group()
                    declare_group = False
                    log.warning("redis_consumer_group_declared_again", stream=self.queue_name)
                async with contextlib.aclosing(super().listen()) as messages:
                    async for message in messages:
                        pause_s = 0.1
                        yield message
            except ResponseError as exc:
                if not str(exc).startswith("NOGROUP"):
                    raise
                declare_group = True
            except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
                log.warning("redis_unreachable", error=str(exc), retry_in_s=pause_s)
                await asyncio.sleep(pause_s)
                pause_s = min(pause_s * 2, _REDIS_RETRY_MAX_S)


class BackoffRetryMiddleware(SmartRetryMiddleware):
    """SmartRetryMiddleware re-kicks at once unless a schedule source is configured (no
    broker here honours a `delay` label), so the backoff is waited out before re-kicking.
    The failed message is acknowledged only after this returns, so a worker that dies
    while waiting leaves the original to be re-delivered."""

    async def on_send(
        self, kicker: AsyncKicker[Any, Any], message: TaskiqMessage, delay: float
    ) -> None:
        await asyncio.sleep(delay)
        await kicker.kiq(*message.args, **message.kwargs)


# The broker delivering an event batch, for consumers that hand work on to a task of its
# own (bound in `deliver_events`).
DELIVERING_BROKER = DeliveryBinding[AsyncBroker]("broker")


def build_broker(settings: Settings) -> AsyncBroker:
    broker: AsyncBroker
    if settings.redis_url:
        broker = RestartSafeRedisStreamBroker(
            settings.redis_url,
            queue_name=f"{settings.redis_prefix}:tasks",
            consumer_group_name=f"{settings.redis_prefix}:workers",
            # A group declared on a stream that already holds messages (written by a
            # relay into a Redis that restarted empty, before any worker read) reads them
            # from the start rather than skipping them.
            consumer_id="0",
            # Messages a dead worker read but never acknowledged are claimed by another
            # worker after this long.
            idle_timeout=30_000,
            maxlen=1_000_000,
        )
    else:
        broker = InMemoryBroker(max_async_tasks=200)
    broker.add_middlewares(
        BackoffRetryMiddleware(
            default_retry_count=8,
            default_retry_label=True,
            default_delay=0.2,
            use_jitter=True,
            use_delay_exponent=True,
            max_delay_exponent=30,
        )
    )
    return broker


def register_cron_jobs(
    broker: AsyncBroker, jobs: Mapping[str, tuple[PlatformJob, str]]
) -> dict[str, AsyncTaskiqDecoratedTask[Any, Any]]:
    """Register each `name: (job, cron)` as a scheduled task that runs `job(platform)` with
    the worker's platform. A job that returns the ids it handled is reported by their
    count, so task results stay small and serialisable."""
    return {
        name: broker.register_task(_platform_task(job), task_name=name, schedule=[{"cron": cron}])
        for name, (job, cron) in jobs.items()
    }


def _platform_task(job: PlatformJob) -> Callable[..., Awaitable[Any]]:
    async def run(context: Annotated[Context, TaskiqDepends()]) -> Any:
        platform: Platform = context.state.platform
        result = await job(platform)
        return len(result) if isinstance(result, list | set | tuple) else result

    run.__name__ = job.__name__
    return run
