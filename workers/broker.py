"""The taskiq broker, chosen by settings: Redis Streams with acknowledgements when
`REDIS_URL` is set (any number of worker processes), otherwise the in-memory broker that
runs tasks inside the platform's own process."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

import structlog
from redis.asyncio import Redis
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
    TaskiqMiddleware,
)
from taskiq.kicker import AsyncKicker
from taskiq.message import TaskiqMessage
from taskiq.middlewares import SmartRetryMiddleware
from taskiq.result import TaskiqResult
from taskiq_redis import RedisStreamBroker

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


# How long cancelled tasks get to unwind (roll back) before a stopping worker moves on.
_CANCELLED_TASKS_WAIT_S = 5.0


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

    async def on_error(
        self, message: TaskiqMessage, result: TaskiqResult[Any], exception: BaseException
    ) -> None:
        if isinstance(exception, asyncio.CancelledError):
            # taskiq reports a cancelled task as a failed one and then acknowledges it. A
            # worker cancels only the tasks it abandons on its way out: those must stay
            # unacknowledged, to be handed back (`hand_back_unfinished`), not retried
            # from here with a retry spent, nor dropped.
            raise exception
        await super().on_error(message, result, exception)


class RunningTasks(TaskiqMiddleware):
    """The asyncio tasks executing messages in this process, so a stopping worker can wait
    for them and cancel the ones that outlast its grace period."""

    def __init__(self) -> None:
        super().__init__()
        self._tasks: set[asyncio.Task[Any]] = set()

    def pre_execute(self, message: TaskiqMessage) -> TaskiqMessage:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return message

    async def finish(self, grace_s: float) -> int:
        """Wait up to `grace_s` for the running tasks, then cancel the rest (their messages
        stay unacknowledged); → how many were cancelled."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=grace_s)
        abandoned = set(self._tasks)
        for task in abandoned:
            task.cancel()
        if abandoned:
            # Bounded: a task that ignores its cancellation must not hold the exit.
            await asyncio.wait(abandoned, timeout=_CANCELLED_TASKS_WAIT_S)
        return len(abandoned)


async def hand_back_unfinished(broker: AsyncBroker) -> int:
    """Put every message this worker read but did not acknowledge back on the stream at
    once, a copy added and the original acknowledged in one transaction, so another
    worker runs it now rather than after `idle_timeout`; then leave the consumer group.
    → how many were handed back. The in-memory broker's queue dies with its process
    (the outbox relays those events again)."""
    if not isinstance(broker, RedisStreamBroker):
        return 0
    stream, group, consumer = broker.queue_name, broker.consumer_group_name, broker.consumer_name
    handed_back = 0
    async with Redis(connection_pool=broker.connection_pool) as redis:
        while pending := await redis.xpending_range(
            stream, group, min="-", max="+", count=100, consumername=consumer
        ):
            for entry in pending:
                message_id = entry["message_id"]
                found = await redis.xrange(stream, min=message_id, max=message_id)
                fields: dict[Any, Any] | None = dict(found[0][1] or {}) if found else None
                async with redis.pipeline(transaction=True) as pipe:
                    if fields:  # else trimmed from the stream: nothing left to run
                        pipe.xadd(stream, fields, maxlen=broker.maxlen, approximate=True)
                        handed_back += 1
                    pipe.xack(stream, group, message_id)
                    await pipe.execute()
        await redis.xgroup_delconsumer(stream, group, consumer)
    return handed_back


@dataclass(frozen=True, slots=True)
class Delivery:
    """What an outbox consumer may need beyond its connection and events, handed to it as
    an argument by `deliver_events`: the delivering worker's platform (settings, clock,
    streams) and broker (for consumers that hand work on to a task of its own)."""

    platform: Platform
    broker: AsyncBroker


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


def build_sweep_broker(settings: Settings) -> AsyncBroker | None:
    """The queue of distributed sweeps' work (with Redis; None without): each worker
    process reads one message at a time and only once it is free, so a sweep's messages
    spread over every worker process instead of the first reader taking them all."""
    if not settings.redis_url:
        return None
    return RestartSafeRedisStreamBroker(
        settings.redis_url,
        queue_name=f"{settings.redis_prefix}:sweep-chunks",
        consumer_group_name=f"{settings.redis_prefix}:sweep-workers",
        consumer_id="0",
        idle_timeout=30_000,
        maxlen=100_000,
        xread_count=1,
    )


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
