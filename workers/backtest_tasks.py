"""The backtests domain's background side. The outbox consumer only hands a queued job
to a task of its own: a run can take minutes (a sweep on millions of bars), and inside
the consumer it would hold the batch's transaction open and keep that batch's other
consumers waiting. A cron task re-queues jobs nobody is working on.

A sweep's job only cuts it into chunks and asks for as many `backtests.run_sweep_chunks`
tasks on the sweep queue (`build_sweep_broker`), which every worker process reads one at
a time: each task works on the sweep's chunks until none is left. Without that queue
(the in-memory broker of the embedded mode) the job runs the chunks itself."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import msgspec
from taskiq import AsyncBroker, AsyncTaskiqDecoratedTask, Context, TaskiqDepends

from dracarys.backtests import (
    AskWorkers,
    BacktestRequested,
    run_job,
    unattended_jobs,
    work_on_sweep,
)
from dracarys.db import Connection
from dracarys.outbox import Event
from dracarys.platform import Platform
from workers.broker import Delivery

RUN_BACKTEST = "backtests.run_job"
REQUEUE_BACKTESTS = "backtests.requeue_unattended"
RUN_SWEEP_CHUNKS = "backtests.run_sweep_chunks"


async def on_backtest_requested(conn: Connection, event: Event, delivery: Delivery) -> None:
    """Consumer `backtests.run`: `backtest.requested` → the job's own task. Kicked inside
    the consumer's transaction: if the kick fails the event is retried; if the commit
    fails after it, the retry kicks again and `run_job` runs the job once."""
    requested = msgspec.convert(event.payload, BacktestRequested)
    await _kick(delivery.broker, requested.backtest_id)


async def run_backtest(backtest_id: str, context: Annotated[Context, TaskiqDepends()]) -> None:
    platform: Platform = context.state.platform
    ask_workers: AskWorkers | None = getattr(context.state, "ask_sweep_workers", None)
    await run_job(platform, uuid.UUID(backtest_id), ask_workers=ask_workers)


async def run_sweep_chunks(backtest_id: str, context: Annotated[Context, TaskiqDepends()]) -> int:
    """Work on the sweep's chunks until none is left; → how many this task finished."""
    platform: Platform = context.state.platform
    return await work_on_sweep(platform, uuid.UUID(backtest_id))


def sweep_workers_asker(sweep_broker: AsyncBroker) -> AskWorkers:
    """Asks for `count` tasks on the sweep queue: up to that many worker processes join."""

    async def ask(backtest_id: uuid.UUID, count: int) -> None:
        task = sweep_broker.find_task(RUN_SWEEP_CHUNKS)
        if task is None:
            raise RuntimeError(f"task {RUN_SWEEP_CHUNKS} is not registered on this broker")
        for _ in range(count):
            await task.kiq(str(backtest_id))

    return ask


def register_sweep_tasks(
    sweep_broker: AsyncBroker,
) -> dict[str, AsyncTaskiqDecoratedTask[Any, Any]]:
    return {
        RUN_SWEEP_CHUNKS: sweep_broker.register_task(run_sweep_chunks, task_name=RUN_SWEEP_CHUNKS)
    }


async def requeue_unattended_backtests(context: Annotated[Context, TaskiqDepends()]) -> int:
    """Jobs whose task was lost (a broker without persistence restarted) or whose worker
    died mid-run go back on the queue."""
    platform: Platform = context.state.platform
    jobs = await unattended_jobs(platform)
    for backtest_id in jobs:
        await _kick(context.broker, str(backtest_id))
    return len(jobs)


async def _kick(broker: AsyncBroker, backtest_id: str) -> None:
    task = broker.find_task(RUN_BACKTEST)
    if task is None:
        raise RuntimeError(f"task {RUN_BACKTEST} is not registered on this broker")
    await task.kiq(backtest_id)


def register_backtest_tasks(broker: AsyncBroker) -> dict[str, AsyncTaskiqDecoratedTask[Any, Any]]:
    return {
        RUN_BACKTEST: broker.register_task(run_backtest, task_name=RUN_BACKTEST),
        REQUEUE_BACKTESTS: broker.register_task(
            requeue_unattended_backtests,
            task_name=REQUEUE_BACKTESTS,
            schedule=[{"cron": "*/2 * * * *"}],
        ),
    }
