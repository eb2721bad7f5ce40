"""The transactional outbox: events are written in the same transaction as the change that
caused them, relayed once committed, and consumed at most once per consumer in effect.

Delivery is at-least-once: handing an event to the queue (`published_at`) is not the end
of it, since a queue can lose it (the in-memory one dies with its process, a Redis without
persistence restarts empty). An event is complete (`completed_at`) once every consumer of
its topic has committed; the relay hands events still incomplete after a deadline over
again, to the consumers that have not committed, backing off with each attempt.
`consume_batch` makes delivery exactly-once in effect by recording (consumer, event id) in
`processed_events` in the same transaction as the consumer's own writes."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar

import asyncpg
import msgspec
import structlog
from prometheus_client import Counter, Gauge

from dracarys.db import Connection, transaction

log = structlog.get_logger("dracarys.outbox")

# An event handed over this many times and still incomplete is reported as stuck (in the
# log line of each sweep that hands it over again, the gauge below, `stuck_events`); it
# keeps being handed over, at most once an hour, so a consumer fixed later still gets it.
STUCK_AFTER_ATTEMPTS = 5
_MAX_REDELIVERY_INTERVAL_S = 3600.0

REDELIVERIES = Counter(
    "dracarys_outbox_redeliveries",
    "Events handed over again to a consumer that had not committed them by the deadline",
    ["consumer"],
)
STUCK_EVENTS = Gauge(
    "dracarys_outbox_stuck_events",
    f"Events still incomplete after {STUCK_AFTER_ATTEMPTS} hand-overs, at the last sweep",
)


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
# Hands events over again, to the named consumers only.
Redeliverer = Callable[[Sequence[Event], frozenset[str]], Awaitable[None]]
# The names of the consumers that must commit an event of a topic before it is complete.
ConsumersOf = Callable[[str], Collection[str]]


class StuckEvent(msgspec.Struct, frozen=True, kw_only=True):
    """An event handed over `attempts` times whose `pending_consumers` never committed it;
    `published_at` is the last hand-over."""

    id: uuid.UUID
    topic: str
    attempts: int
    pending_consumers: list[str]
    created_at: datetime
    published_at: datetime


class EventPayload(msgspec.Struct, frozen=True, kw_only=True):
    """An event's payload, defined once by the domain that produces it (in its
    `events.py`), with the `topic` it goes out under. On the wire ids are strings and money
    is `amount_minor` plus `currency`; consumers decode it with `msgspec.convert`."""

    topic: ClassVar[str]


async def emit_event(conn: Connection, event: EventPayload) -> uuid.UUID:
    """Record the event under its topic inside the caller's transaction; it leaves only if
    that commits. Producers emit through this, so a payload cannot drift from its type."""
    return await emit(conn, event.topic, msgspec.to_builtins(event))


async def emit_events(conn: Connection, events: Sequence[EventPayload]) -> None:
    """`emit_event` for many events at once (one round trip)."""
    await emit_many(conn, [(e.topic, msgspec.to_builtins(e)) for e in events])


async def emit(conn: Connection, topic: str, payload: Mapping[str, Any]) -> uuid.UUID:
    """Record an event of any topic and shape (for tests that plant one): domain code emits
    its typed events through `emit_event`, which the event catalogue test holds it to."""
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


async def relay_batch(
    pool: asyncpg.Pool,
    publish: Publisher,
    *,
    limit: int = 500,
    consumers_of: ConsumersOf | None = None,
) -> int:
    """Publish one batch of committed, unpublished events and mark them published.

    Rows are locked with SKIP LOCKED so several relays share the work; if the process
    dies after `publish` but before commit, the rows stay unpublished and go out again.
    Published is not complete (see `redeliver_due`), except for events of topics no
    consumer reads (given `consumers_of`): they are complete at once and skip the queue."""
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
        unread = (
            set() if consumers_of is None else {e.id for e in events if not consumers_of(e.topic)}
        )
        if len(unread) < len(events):
            await publish([e for e in events if e.id not in unread])
        await conn.execute(
            """UPDATE outbox SET published_at = clock_timestamp(), attempts = attempts + 1,
                                 completed_at = CASE WHEN id = ANY($2::uuid[])
                                                     THEN clock_timestamp() END
               WHERE id = ANY($1::uuid[])""",
            [e.id for e in events],
            list(unread),
        )
        return len(events)


async def record_completed(pool: asyncpg.Pool, event_ids: Sequence[uuid.UUID]) -> None:
    """Mark complete the events whose every consumer has committed (the deliverer knows:
    it just ran them). One statement per delivered batch; rows are locked in id order, so
    deliveries of overlapping batches wait for each other instead of deadlocking."""
    if not event_ids:
        return
    await pool.execute(
        """UPDATE outbox SET completed_at = clock_timestamp(), pending_consumers = NULL
           FROM (SELECT id FROM outbox
                 WHERE id = ANY($1::uuid[]) AND completed_at IS NULL
                 ORDER BY id
                 FOR UPDATE) AS done
           WHERE outbox.id = done.id""",
        list(event_ids),
    )


async def redeliver_due(
    pool: asyncpg.Pool,
    redeliver: Redeliverer,
    consumers_of: ConsumersOf,
    *,
    after_s: float,
    limit: int = 500,
) -> int:
    """Sweep one batch of events handed over `after_s` ago or longer (the wait doubles
    with each attempt, up to an hour) that are not complete: those whose consumers all
    committed meanwhile are marked complete, the others are handed over again to the
    consumers that have not committed. Returns how many events were due.

    Like `relay_batch`: SKIP LOCKED lets several relays sweep, and a relay that dies after
    handing over but before commit only causes another hand-over, which consumers dedupe."""
    async with transaction(pool) as conn:
        rows = await conn.fetch(
            """SELECT id, topic, payload, created_at, attempts FROM outbox
               WHERE completed_at IS NULL AND published_at IS NOT NULL
                 AND published_at <= clock_timestamp() - make_interval(secs => $1)
                 AND published_at <= clock_timestamp() - make_interval(
                     secs => least($1 * power(2, least(attempts - 1, 20)), greatest($1, $2)))
               ORDER BY published_at
               LIMIT $3
               FOR UPDATE SKIP LOCKED""",
            after_s,
            _MAX_REDELIVERY_INTERVAL_S,
            limit,
        )
        if not rows:
            return 0
        events = {
            r["id"]: Event(
                id=r["id"], topic=r["topic"], payload=r["payload"], created_at=r["created_at"]
            )
            for r in rows
        }
        expected = {e.id: frozenset(consumers_of(e.topic)) for e in events.values()}
        pairs = [(name, event_id) for event_id, names in expected.items() for name in names]
        committed = await conn.fetch(
            """SELECT consumer, event_id FROM processed_events
               WHERE (consumer, event_id) IN (SELECT * FROM unnest($1::text[], $2::uuid[]))""",
            [name for name, _ in pairs],
            [event_id for _, event_id in pairs],
        )
        done: dict[uuid.UUID, set[str]] = defaultdict(set)
        for r in committed:
            done[r["event_id"]].add(r["consumer"])
        pending = {event_id: names - done[event_id] for event_id, names in expected.items()}
        by_pending: dict[frozenset[str], list[Event]] = defaultdict(list)
        for event_id, names in pending.items():
            if names:
                by_pending[names].append(events[event_id])
        for names, batch in by_pending.items():
            await redeliver(batch, names)
        complete = [event_id for event_id, names in pending.items() if not names]
        if complete:
            await conn.execute(
                """UPDATE outbox SET completed_at = clock_timestamp(), pending_consumers = NULL
                   WHERE id = ANY($1::uuid[])""",
                complete,
            )
        if by_pending:
            await conn.executemany(
                """UPDATE outbox SET published_at = clock_timestamp(), attempts = attempts + 1,
                                     pending_consumers = $2
                   WHERE id = $1""",
                [(event_id, sorted(names)) for event_id, names in pending.items() if names],
            )
    attempts = {r["id"]: r["attempts"] + 1 for r in rows}
    _report_redeliveries(events, pending, attempts)
    return len(rows)


def _report_redeliveries(
    events: Mapping[uuid.UUID, Event],
    pending: Mapping[uuid.UUID, frozenset[str]],
    attempts: Mapping[uuid.UUID, int],
) -> None:
    per_consumer: dict[str, int] = defaultdict(int)
    for names in pending.values():
        for name in names:
            per_consumer[name] += 1
    for name, count in per_consumer.items():
        REDELIVERIES.labels(consumer=name).inc(count)
    if per_consumer:
        log.info("outbox_redelivered", consumers=dict(per_consumer))
    stuck = [i for i, names in pending.items() if names and attempts[i] >= STUCK_AFTER_ATTEMPTS]
    if stuck:
        # One line per sweep, not per event: an outage can leave thousands stuck at once.
        by_topic: dict[str, int] = defaultdict(int)
        for event_id in stuck:
            by_topic[events[event_id].topic] += 1
        log.warning(
            "outbox_events_stuck",
            events=len(stuck),
            by_topic=dict(by_topic),
            max_attempts=max(attempts[i] for i in stuck),
            event_ids=[str(i) for i in stuck[:20]],
        )


async def stuck_events(
    conn: Connection, *, min_attempts: int = STUCK_AFTER_ATTEMPTS, limit: int = 100
) -> list[StuckEvent]:
    """Events handed over at least `min_attempts` times and still not complete, the most
    tried first: what an operator looks at when a consumer keeps failing."""
    rows = await conn.fetch(
        """SELECT id, topic, attempts, coalesce(pending_consumers, '{}') AS pending_consumers,
                  created_at, published_at
           FROM outbox
           WHERE completed_at IS NULL AND published_at IS NOT NULL AND attempts >= $1
           ORDER BY attempts DESC, created_at
           LIMIT $2""",
        min_attempts,
        limit,
    )
    return [StuckEvent(**dict(r)) for r in rows]


async def stuck_event_count(conn: Connection, *, min_attempts: int = STUCK_AFTER_ATTEMPTS) -> int:
    count = await conn.fetchval(
        """SELECT count(*) FROM outbox
           WHERE completed_at IS NULL AND published_at IS NOT NULL AND attempts >= $1""",
        min_attempts,
    )
    return int(count)


class OutboxRelay:
    """Loops over `relay_batch`, woken by NOTIFY on insert and by a poll as a fallback, and
    sweeps for events not complete in time (`redeliver_due`) every quarter of the deadline.

    The sweep lives here rather than in a cron task: it needs a finer clock than cron's
    minute, it must not travel through the queue whose losses it makes good (a sweep task
    kicked into a Redis that restarts empty is lost with the rest), and every process that
    relays (`dracarys worker`, `dracarys up`) then sweeps too, sharing rows by SKIP LOCKED."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        dsn: str,
        publish: Publisher,
        redeliver: Redeliverer,
        consumers_of: ConsumersOf,
        *,
        redeliver_after_s: float,
        batch_size: int = 500,
        poll_interval_s: float = 0.5,
    ) -> None:
        self._pool = pool
        self._dsn = dsn
        self._publish = publish
        self._redeliver = redeliver
        self._consumers_of = consumers_of
        self._redeliver_after_s = redeliver_after_s
        self._batch_size = batch_size
        self._poll_interval_s = poll_interval_s
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def sweep(self) -> None:
        while (
            await redeliver_due(
                self._pool,
                self._redeliver,
                self._consumers_of,
                after_s=self._redeliver_after_s,
                limit=self._batch_size,
            )
            == self._batch_size
        ):
            pass
        async with self._pool.acquire() as conn:
            STUCK_EVENTS.set(await stuck_event_count(conn))

    async def run(self) -> None:
        listener: asyncpg.Connection | None = None
        try:
            listener = await asyncpg.connect(self._dsn)
            await listener.add_listener("outbox", lambda *_: self._wake.set())
        except (OSError, asyncpg.PostgresError):
            log.warning("outbox_listen_unavailable", fallback="polling")
        loop = asyncio.get_running_loop()
        next_sweep = loop.time()
        try:
            while True:
                try:
                    relayed = 1
                    while relayed:
                        relayed = await relay_batch(
                            self._pool,
                            self._publish,
                            limit=self._batch_size,
                            consumers_of=self._consumers_of,
                        )
                        # Between batches too: a steady stream of new events must not
                        # hold the sweep back.
                        if loop.time() >= next_sweep:
                            await self.sweep()
                            next_sweep = loop.time() + self._redeliver_after_s / 4
                # Whatever the database or the queue raised (a Redis that is down raises its
                # own errors), the relay must outlive it: the events wait in the table.
                except Exception as exc:
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
        # In id order: two deliveries of overlapping batches (a re-delivery beside the
        # original) then wait for each other here instead of deadlocking.
        fresh = await conn.fetch(
            """INSERT INTO processed_events (consumer, event_id)
               SELECT $1, unnest($2::uuid[])
               ON CONFLICT DO NOTHING
               RETURNING event_id""",
            consumer,
            sorted(e.id for e in events),
        )
        fresh_ids = {r["event_id"] for r in fresh}
        fresh_events = [event for event in events if event.id in fresh_ids]
        if not fresh_events:
            return 0
        if batch_handler is not None:
            await batch_handler(conn, fresh_events)
        else:
            for event in fresh_events:
                await handler(conn, event)
        return len(fresh_ids)


async def prune_completed(conn: Connection, older_than: datetime) -> int:
    """Delete events complete since before `older_than`; incomplete ones stay, however old,
    until their consumers commit (or an operator looks at them: `stuck_events`)."""
    status = await conn.execute("DELETE FROM outbox WHERE completed_at < $1", older_than)
    return int(status.split()[-1])
