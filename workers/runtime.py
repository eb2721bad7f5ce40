"""Running the background side: the broker's receiver, the outbox relay and the
scheduler, either in their own processes (`dracarys worker`, `dracarys scheduler`) or all
inside the platform process in the embedded mode (`dracarys up`)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import msgspec
import structlog
from taskiq import AsyncBroker, InMemoryBroker, TaskiqScheduler
from taskiq.api import run_receiver_task, run_scheduler_task
from taskiq.schedule_sources import LabelScheduleSource

from dracarys.outbox import Event, OutboxRelay
from dracarys.platform import Platform
from dracarys.trading import follow_broker_fills, paper_trading
from workers.backtest_tasks import register_sweep_tasks, sweep_workers_asker
from workers.broker import RunningTasks, build_broker, build_sweep_broker, hand_back_unfinished
from workers.consumers import consumer_names
from workers.tasks import DELIVER_EVENTS, register_tasks

log = structlog.get_logger("workers.runtime")

_SCHEDULER_LOCK_KEY = 0x44524143_53434844  # "DRACSCHD"
# Bound of each stopping step that should take an instant (cancelled loops ending, the
# hand-back, the broker's shutdown), so a stuck one cannot hold a stopping process.
_STOP_STEP_S = 5.0


class Worker:
    """One broker with its tasks, bound to a platform (pool, settings, clock)."""

    def __init__(self, platform: Platform, broker: AsyncBroker | None = None) -> None:
        self.platform = platform
        self.broker = broker or build_broker(platform.settings)
        self.tasks = register_tasks(self.broker)
        self.running = RunningTasks()
        self.broker.add_middlewares(self.running)
        self.broker.state.platform = platform
        # Distributed sweeps' own queue, read one message at a time; only beside a shared
        # broker (the in-memory one runs a sweep's chunks inside its job).
        self.sweep_broker = None if self.in_memory else build_sweep_broker(platform.settings)
        self.sweep_running = RunningTasks()
        if self.sweep_broker is not None:
            register_sweep_tasks(self.sweep_broker)
            self.sweep_broker.add_middlewares(self.sweep_running)
            self.sweep_broker.state.platform = platform
            self.broker.state.ask_sweep_workers = sweep_workers_asker(self.sweep_broker)
        self._background: list[asyncio.Task[Any]] = []
        self.scheduler_active = False

    @property
    def in_memory(self) -> bool:
        return isinstance(self.broker, InMemoryBroker)

    async def publish_events(self, events: Sequence[Event]) -> None:
        await self.tasks[DELIVER_EVENTS].kiq(msgspec.to_builtins(list(events)))

    async def redeliver_events(self, events: Sequence[Event], consumers: frozenset[str]) -> None:
        await self.tasks[DELIVER_EVENTS].kiq(
            msgspec.to_builtins(list(events)), consumers=sorted(consumers)
        )

    def relay(self) -> OutboxRelay:
        settings = self.platform.settings
        return OutboxRelay(
            self.platform.pool,
            self.platform.database.dsn,
            self.publish_events,
            self.redeliver_events,
            consumer_names,
            redeliver_after_s=settings.outbox_redeliver_after_s,
            batch_size=settings.outbox_batch_size,
            poll_interval_s=settings.outbox_poll_interval_s,
        )

    async def start(self, *, receive: bool = True, relay: bool = True) -> None:
        await self.broker.startup()
        if receive and not self.in_memory:
            self._background.append(
                asyncio.create_task(run_receiver_task(self.broker, max_async_tasks=50))
            )
        if self.sweep_broker is not None:
            await self.sweep_broker.startup()
            if receive:
                # One chunk at a time per process: its kernel uses every core already.
                self._background.append(
                    asyncio.create_task(
                        run_receiver_task(self.sweep_broker, max_async_tasks=1), name="sweeps"
                    )
                )
        if relay:
            self._background.append(asyncio.create_task(self.relay().run(), name="relay"))
        if self.platform.settings.external_brokers_enabled:
            # Fills of orders routed to members' brokers, booked once whichever of the
            # processes running this sees them first.
            self._background.append(
                asyncio.create_task(follow_broker_fills(self.platform), name="broker-fills")
            )

    def start_scheduler(self) -> None:
        self._background.append(asyncio.create_task(self.run_scheduler(), name="scheduler"))

    async def run_scheduler(self, *, standby_poll_s: float = 5.0) -> None:
        """Only one scheduler may fire cron jobs: the one holding a PostgreSQL advisory
        lock. Others wait on standby and take over when the holder's session ends."""
        conn = await asyncpg.connect(self.platform.database.dsn)
        try:
            while not await conn.fetchval("SELECT pg_try_advisory_lock($1)", _SCHEDULER_LOCK_KEY):
                log.info("scheduler_standby", reason="another scheduler holds the lock")
                await asyncio.sleep(standby_poll_s)
            log.info("scheduler_active")
            self.scheduler_active = True
            await run_scheduler_task(self.scheduler(), run_startup=True)
        finally:
            self.scheduler_active = False
            await conn.close()

    def scheduler(self) -> TaskiqScheduler:
        return TaskiqScheduler(self.broker, [LabelScheduleSource(self.broker)])

    async def stop(self, *, grace_s: float | None = None) -> None:
        """Stop taking work (receiver, relay and scheduler end at once), let the running
        tasks finish within `grace_s` (default: the shutdown grace setting), cancel the
        rest and hand their messages back to the queue, then shut the broker down. The
        whole stop takes at most `grace_s` plus `_STOP_STEP_S` for each step past it, so
        a stuck task cannot hold the process beyond the orchestrator's patience."""
        grace_s = self.platform.settings.shutdown_grace_s if grace_s is None else grace_s
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace_s
        for task in self._background:
            task.cancel()
        if self._background:
            _, pending = await asyncio.wait(self._background, timeout=_STOP_STEP_S)
            if pending:
                log.warning("worker_tasks_still_running", tasks=[t.get_name() for t in pending])
        self._background.clear()
        abandoned = await self.running.finish(max(deadline - loop.time(), 0))
        abandoned += await self.sweep_running.finish(max(deadline - loop.time(), 0))
        if abandoned:
            log.warning("tasks_abandoned_at_shutdown", count=abandoned, grace_s=grace_s)
        for broker in (self.broker, self.sweep_broker):
            if broker is None:
                continue
            try:
                async with asyncio.timeout(_STOP_STEP_S):
                    handed_back = await hand_back_unfinished(broker)
                    if handed_back:
                        log.info("tasks_handed_back", count=handed_back)
                    await broker.shutdown()
            except TimeoutError:
                log.warning("broker_shutdown_timed_out", timeout_s=_STOP_STEP_S)


@asynccontextmanager
async def embedded_background(platform: Platform) -> AsyncIterator[None]:
    """Lifespan hook for `dracarys up`: worker, relay, scheduler and the paper-trading
    engine (replaying the demo feed) in-process."""
    worker = Worker(platform)
    await worker.start()
    worker.start_scheduler()
    try:
        async with paper_trading(platform):
            yield
    finally:
        await worker.stop()
