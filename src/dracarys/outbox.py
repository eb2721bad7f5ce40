"""The transactional outbox: events are written in the same transaction as the change that
caused them, relayed once committed, and consumed at most once per consumer in effect.

Delivery is at-least-once (a relay killed between publishing and marking re-publishes);
`consume_batch` makes it exactly-once in effect by recording (consumer, event id) in
`processed_events` in the same transaction as the consumer's own writes."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from datetime import datetime
from typing import Any, Generic, TypeVar

import asyncpg
import msgspec
import structlog

from dracarys.db import Connection, transaction

log = structlog.get_logger("dracarys.outbox")


T = TypeVar("T")


class DeliveryBinding(Generic[T]):
    """Something a consumer needs beyond `(conn, event)` (the platform, the broker),
    bound by the worker while it delivers a batch. A ContextVar: each task sees its own."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._value: ContextVar[T] = ContextVar(f"dracarys_delivery_{name}")

    @contextlib.contextmanager
    def bound(self, value: T) -> Iterator[None]:
        token = self._value.set(value)
        try:
            yield
        finally:
            self._value.reset(token)

    def get(self) -> T:
        try:
            return self._value.get()
        except LookupError:
            message = f"no {self._name} bound: deliver events through the worker"
            raise RuntimeError(message) from None


class Event(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    topic: str
    payload: dict[str, Any]
    created_at: datetime


EventHandler = Callable[[Connection, Event], Awaitable[None]]
# Optional: a consumer that applies a whole batch with set-based SQL (far fewer round
# trips) takes the fresh events of the batch at once, in the same transaction.
BatchEventHandler = Callable[[Connection, Sequence[Event]], Awaitable[None]]
Publisher = Callable[[Sequence[Event]], Awaitable[None]]


async def emit(conn: Connection, topic: str, payload: Mapping[str, Any]) -> uuid.UUID:
    """Record an event inside the caller's transaction; it leaves only if that commits."""
    event_id = uuid.uuid4()
    await conn.execute(
        "INSERT INTO outbox (id, topic, payload) VALUES ($1, $2, $3)",
        event_id,
        topic,
        msgspec.to_builtins(dict(payload)),
    )
    return event_id


async def emit_many(conn: Connection, events: Sequence[tuple[str, Mapping[str, Any]]]) -> None:
    await conn.executemany(
        "INSERT INTO outbox (id, topic, payload) VALUES ($1, $2, $3)",
        [(uuid.uuid4(), topic, msgspec.to_builtins(dict(p))) for topic, p in events],
    )


async def relay_batch(pool: asyncpg.Pool, publish: Publisher, *, limit: int = 500) -> int:
    """Publish one batch of committed, unpublished events and mark them published.

    Rows are locked with SKIP LOCKED so several relays share the work; if the process
    dies after `publish` but before commit, the rows stay unpublished and go out again."""
    async with transaction(pool) as conn:
        rows = await conn.fetch(
            """SELECT id, topic, payload, created_at FROM outbox
               WHERE published_at IS NULL
               ORDER BY created_at
               LIMIT $1
               FOR UPDATE SKIP LOCKED""",
            limit,
        )
        if not rows:
            return 0
        events = [
            Event(id=r["id"], topic=r["topic"], payload=r["payload"], created_at=r["created_at"])
            for r in rows
        ]
        await publish(events)
        await conn.execute(
            """UPDATE outbox SET published_at = clock_timestamp(), attempts = attempts + 1
               WHERE id = ANY($1::uuid[])""",
            [e.id for e in events],
        )
        return len(events)


class OutboxRelay:
    """Loops over `relay_batch`, woken by NOTIFY on insert and by a poll as a fallback."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        dsn: str,
        publish: Publisher,
        *,
        batch_size: int = 500,
        poll_interval_s: float = 0.5,
    ) -> None:
        self._pool = pool
        self._dsn = dsn
        self._publish = publish
        self._batch_size = batch_size
        self._poll_interval_s = poll_interval_s
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def run(self) -> None:
        listener: asyncpg.Connection | None = None
        try:
            listener = await asyncpg.connect(self._dsn)
            await listener.add_listener("outbox", lambda *_: self._wake.set())
        except (OSError, asyncpg.PostgresError):
            log.warning("outbox_listen_unavailable", fallback="polling")
        try:
            while True:
                try:
                    while await relay_batch(self._pool, self._publish, limit=self._batch_size):
                        pass
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                    log.warning("outbox_relay_retry", error=repr(exc))
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._poll_interval_s)
        finally:
            if listener is not None:
                await listener.close()

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name="outbox-relay")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


async def consume_batch(
    pool: asyncpg.Pool,
    consumer: str,
    events: Sequence[Event],
    handler: EventHandler,
    *,
    batch_handler: BatchEventHandler | None = None,
) -> int:
    """Apply `handler` to each event this consumer has not processed yet, in one
    transaction with the de-duplication record; returns how many were new.

    If the batch fails as a whole, each event is retried alone so that one bad event
    cannot hold back the others; a failing single event raises for the task's retry."""
    if not events:
        return 0
    try:
        return await _consume(pool, consumer, events, handler, batch_handler)
    except Exception:
        if len(events) == 1:
            raise
    applied = 0
    failures: list[Exception] = []
    for event in events:
        try:
            applied += await _consume(pool, consumer, [event], handler, batch_handler)
        except Exception as exc:
            log.exception("event_consumer_failed", consumer=consumer, event_id=str(event.id))
            failures.append(exc)
    if failures:
        raise failures[0]
    return applied


async def _consume(
    pool: asyncpg.Pool,
    consumer: str,
    events: Sequence[Event],
    handler: EventHandler,
    batch_handler: BatchEventHandler | None = None,
) -> int:
    async with transaction(pool) as conn:
        fresh = await conn.fetch(
            """INSERT INTO processed_events (consumer, event_id)
               SELECT $1, unnest($2::uuid[])
               ON CONFLICT DO NOTHING
               RETURNING event_id""",
            consumer,
            [e.id for e in events],
        )
        fresh_ids = {r["event_id"] for r in fresh}
        fresh_events = [event for event in events if event.id in fresh_ids]
        if batch_handler is not None:
            await batch_handler(conn, fresh_events)
        else:
            for event in fresh_events:
                await handler(conn, event)
        return len(fresh_ids)


async def prune_published(conn: Connection, older_than: datetime) -> int:
    status = await conn.execute(
        "DELETE FROM outbox WHERE published_at IS NOT NULL AND published_at < $1", older_than
    )
    return int(status.split()[-1])
