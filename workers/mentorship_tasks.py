"""Mentorship's scheduled jobs: `session.reminder` events 24 h and 1 h before each
session (idempotent: a reminder is recorded with its event), completing sessions whose
mentor forgot to (which releases their escrow), and refunding the unbooked sessions of
packages past their booking window. Thin: each calls one service."""

from __future__ import annotations

from typing import Any

from taskiq import AsyncBroker, AsyncTaskiqDecoratedTask

from dracarys.mentorship import complete_ended_sessions, emit_due_reminders, expire_packages
from workers.broker import PlatformJob, register_cron_jobs

SEND_REMINDERS = "mentorship.send_reminders"
COMPLETE_SESSIONS = "mentorship.complete_ended_sessions"
EXPIRE_PACKAGES = "mentorship.expire_packages"

_JOBS: dict[str, tuple[PlatformJob, str]] = {
    SEND_REMINDERS: (emit_due_reminders, "*/5 * * * *"),
    COMPLETE_SESSIONS: (complete_ended_sessions, "*/15 * * * *"),
    EXPIRE_PACKAGES: (expire_packages, "23 * * * *"),
}


def register_mentorship_tasks(broker: AsyncBroker) -> dict[str, AsyncTaskiqDecoratedTask[Any, Any]]:
    return register_cron_jobs(broker, _JOBS)
