"""The notifications domain's scheduled jobs: send the e-mail, SMS and push that waited
for quiet hours to end, the daily digests (hourly: each person's goes once their local
morning came), put pushes still unsent back on the outbox, send the drip programs' due
steps and enrol inactive members. Thin: one notifications service each."""

from __future__ import annotations

from typing import Any

from taskiq import AsyncBroker, AsyncTaskiqDecoratedTask

from dracarys.notifications import (
    advance_drips,
    enrol_inactive_members,
    release_deferred,
    requeue_unsent_pushes,
    send_digests,
)
from workers.broker import PlatformJob, register_cron_jobs

RELEASE_DEFERRED = "notifications.release_deferred"
SEND_DIGESTS = "notifications.send_digests"
REQUEUE_PUSHES = "notifications.requeue_unsent_pushes"
ADVANCE_DRIPS = "notifications.advance_drips"
ENROL_INACTIVE = "notifications.enrol_inactive_members"

_JOBS: dict[str, tuple[PlatformJob, str]] = {
    # Every minute: quiet hours end on a minute boundary in any zone.
    RELEASE_DEFERRED: (release_deferred, "* * * * *"),
    SEND_DIGESTS: (send_digests, "3 * * * *"),
    REQUEUE_PUSHES: (requeue_unsent_pushes, "*/5 * * * *"),
    # Drip steps are due to the minute; the inactivity query is cheap enough hourly.
    ADVANCE_DRIPS: (advance_drips, "* * * * *"),
    ENROL_INACTIVE: (enrol_inactive_members, "17 * * * *"),
}


def register_notification_tasks(
    broker: AsyncBroker,
) -> dict[str, AsyncTaskiqDecoratedTask[Any, Any]]:
    return register_cron_jobs(broker, _JOBS)
