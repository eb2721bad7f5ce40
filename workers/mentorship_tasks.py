"""Mentorship's scheduled jobs: `session.reminder` events 24 h and 1 h before each
session (idempotent: a reminder is recorded with its event), and completing sessions whose
mentor forgot to (which releases their escrow). Thin: each calls one service."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from taskiq import AsyncBroker, AsyncTaskiqDecoratedTask, Context, TaskiqDepends

from dracarys.mentorship.service import complete_ended_sessions, emit_due_reminders
from dracarys.platform import Platform

SEND_REMINDERS = "mentorship.send_reminders"
COMPLETE_SESSIONS = "mentorship.complete_ended_sessions"

_JOBS: dict[str, tuple[Callable[[Platform], Awaitable[int]], str]] = {
    SEND_REMINDERS: (emit_due_reminders, "*/5 * * * *"),
    COMPLETE_SESSIONS: (complete_ended_sessions, "*/15 * * * *"),
}


def platform_job(job: Callable[[Platform], Awaitable[int]]) -> Callable[..., Awaitable[int]]:
    """A scheduled job as a taskiq task: it receives the worker's platform."""

    async def run(context: Annotated[Context, TaskiqDepends()]) -> int:
        platform: Platform = context.state.platform
        return await job(platform)

    run.__name__ = job.__name__
    return run


def register_mentorship_tasks(broker: AsyncBroker) -> dict[str, AsyncTaskiqDecoratedTask[Any, Any]]:
    return {
        name: broker.register_task(platform_job(job), task_name=name, schedule=[{"cron": cron}])
        for name, (job, cron) in _JOBS.items()
    }
