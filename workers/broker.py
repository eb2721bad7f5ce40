"""The taskiq broker, chosen by settings: Redis Streams with acknowledgements when
`REDIS_URL` is set (any number of worker processes), otherwise the in-memory broker that
runs tasks inside the platform's own process."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Annotated, Any

from taskiq import AsyncBroker, AsyncTaskiqDecoratedTask, Context, InMemoryBroker, TaskiqDepends
from taskiq.kicker import AsyncKicker
from taskiq.message import TaskiqMessage
from taskiq.middlewares import SmartRetryMiddleware
from taskiq_redis import RedisStreamBroker

from dracarys.outbox import DeliveryBinding
from dracarys.platform import Platform
from dracarys.settings import Settings

PlatformJob = Callable[[Platform], Awaitable[Any]]


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
        broker = RedisStreamBroker(
            settings.redis_url,
            queue_name=f"{settings.redis_prefix}:tasks",
            consumer_group_name=f"{settings.redis_prefix}:workers",
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
