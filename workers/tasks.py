"""Task definitions. Tasks are thin: they find the platform in the broker's state and call
domain services; the broker decides where they run."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import timedelta
from typing import Annotated, Any

import msgspec
import structlog
from taskiq import AsyncBroker, AsyncTaskiqDecoratedTask, Context, TaskiqDepends

from dracarys.db import Connection, transaction
from dracarys.messaging import requeue_unsent
from dracarys.outbox import (
    BatchEventHandler,
    Event,
    EventHandler,
    consume_batch,
    prune_completed,
    record_completed,
)
from dracarys.platform import Platform
from workers.admin_tasks import register_admin_tasks
from workers.analytics_tasks import register_analytics_tasks
from workers.backtest_tasks import register_backtest_tasks
from workers.broker import Delivery
from workers.community_tasks import register_community_tasks
from workers.consumers import Consumer, consumers_for
from workers.identity_tasks import register_identity_tasks
from workers.mentor_bonus_tasks import register_mentor_bonus_tasks
from workers.mentorship_tasks import register_mentorship_tasks
from workers.notification_tasks import register_notification_tasks
from workers.points_tasks import register_points_tasks
from workers.social_tasks import register_social_tasks
from workers.trading_tasks import register_trading_tasks
from workers.wallet_tasks import register_wallet_tasks

log = structlog.get_logger("workers.tasks")

DELIVER_EVENTS = "dracarys.deliver_events"
PRUNE_OUTBOX = "dracarys.prune_outbox"
REQUEUE_MESSAGES = "messaging.requeue_unsent"
OUTBOX_RETENTION = timedelta(days=7)


def platform_of(context: Context) -> Platform:
    platform: Platform = context.state.platform
    return platform


async def deliver_events(
    events: list[dict[str, Any]],
    context: Annotated[Context, TaskiqDepends()],
    consumers: list[str] | None = None,
) -> int:
    """Hand a batch of relayed outbox events to every consumer of their topics (a
    re-delivery names the `consumers` that had not committed), then record as complete the
    events none of whose consumers failed."""
    platform = platform_of(context)
    decoded = msgspec.convert(events, list[Event], strict=False)
    per_consumer: dict[Consumer, list[Event]] = defaultdict(list)
    for event in decoded:
        for consumer in consumers_for(event.topic):
            if consumers is None or consumer.name in consumers:
                per_consumer[consumer].append(event)
    applied = 0
    failures: list[Exception] = []
    unfinished: set[uuid.UUID] = set()
    delivery = Delivery(platform=platform, broker=context.broker)
    for consumer, batch in per_consumer.items():
        # One failing consumer must not hold back the others: each runs, and the task is
        # retried afterwards; those that succeeded skip the retry by dedupe.
        handler, batch_handler = handlers_of(consumer, delivery)
        try:
            applied += await consume_batch(
                platform.pool, consumer.name, batch, handler, batch_handler=batch_handler
            )
        except Exception as exc:  # re-raised below, so the task is retried
            log.exception("consumer_failed", consumer=consumer.name, events=len(batch))
            failures.append(exc)
            unfinished.update(event.id for event in batch)
    await record_completed(platform.pool, [e.id for e in decoded if e.id not in unfinished])
    if failures:
        raise failures[0]
    return applied


def handlers_of(
    consumer: Consumer, delivery: Delivery
) -> tuple[EventHandler, BatchEventHandler | None]:
    """The consumer's handlers as the outbox calls them, `(conn, event)`, with what this
    delivery hands them."""

    async def handler(conn: Connection, event: Event) -> None:
        await consumer.handler(conn, event, delivery)

    batch = consumer.batch_handler
    if batch is None:
        return handler, None

    async def batch_handler(conn: Connection, events: Sequence[Event]) -> None:
        assert batch is not None
        await batch(conn, events, delivery)

    return handler, batch_handler


async def prune_outbox(context: Annotated[Context, TaskiqDepends()]) -> int:
    platform = platform_of(context)
    async with transaction(platform.pool) as conn:
        removed = await prune_completed(conn, platform.clock.now() - OUTBOX_RETENTION)
    log.info("outbox_pruned", rows=removed)
    return removed


async def requeue_unsent_messages(context: Annotated[Context, TaskiqDepends()]) -> int:
    platform = platform_of(context)
    async with transaction(platform.pool) as conn:
        return await requeue_unsent(conn, platform.clock.now())


def register_tasks(broker: AsyncBroker) -> dict[str, AsyncTaskiqDecoratedTask[Any, Any]]:
    """Attach every task to `broker`; schedules are labels read by the scheduler."""
    return {
        DELIVER_EVENTS: broker.register_task(deliver_events, task_name=DELIVER_EVENTS),
        PRUNE_OUTBOX: broker.register_task(
            prune_outbox, task_name=PRUNE_OUTBOX, schedule=[{"cron": "17 3 * * *"}]
        ),
        REQUEUE_MESSAGES: broker.register_task(
            requeue_unsent_messages,
            task_name=REQUEUE_MESSAGES,
            schedule=[{"cron": "*/5 * * * *"}],
        ),
        **register_backtest_tasks(broker),
        **register_points_tasks(broker),
        **register_social_tasks(broker),
        **register_notification_tasks(broker),
        **register_mentorship_tasks(broker),
        **register_wallet_tasks(broker),
        **register_mentor_bonus_tasks(broker),
        **register_trading_tasks(broker),
        **register_social_tasks(broker),
        **register_community_tasks(broker),
        **register_admin_tasks(broker),
        **register_identity_tasks(broker),
        **register_analytics_tasks(broker),
    }
