"""The notifications domain's scheduled jobs: send the e-mail and SMS that waited for
quiet hours to end, and the daily digests (hourly: each person's goes once their local
morning came). Thin: one notifications service each."""

from __future__ import annotations

from typing import Any

from taskiq import AsyncBroker, AsyncTaskiqDecoratedTask

from dracarys.notifications import release_deferred, send_digests
from workers.broker import PlatformJob, register_cron_jobs

RELEASE_DEFERRED = "notifications.release_deferred"
SEND_DIGESTS = "notifications.send_digests"

_JOBS: dict[str, tuple[PlatformJob, str]] = {
    # Every minute: quiet hours end on a minute boundary in any zone.
    RELEASE_DEFERRED: (release_deferred, "* * * * *"),
    SEND_DIGESTS: (send_digests, "3 * * * *"),
}


def register_notification_tasks(
    broker: AsyncBroker,
) -> dict[str, AsyncTaskiqDecoratedTask[Any, Any]]:
    return register_cron_jobs(broker, _JOBS)
