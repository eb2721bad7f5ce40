from __future__ import annotations

import asyncio
import contextlib

import pytest

from dracarys.platform import Platform
from workers.community_tasks import RECOMPUTE_TRUST_LEVELS, RENEW_PREMIUM_MEMBERSHIPS
from workers.notification_tasks import (
    ADVANCE_DRIPS,
    ENROL_INACTIVE,
    RELEASE_DEFERRED,
    REQUEUE_PUSHES,
    SEND_DIGESTS,
)
from workers.runtime import Worker
from workers.tasks import PRUNE_OUTBOX


async def test_cron_jobs_are_registered_with_the_scheduler(platform: Platform) -> None:
    worker = Worker(platform)
    source = worker.scheduler().sources[0]
    await source.startup()
    schedules = await source.get_schedules()
    crons = {s.task_name: s.cron for s in schedules}
    assert crons[PRUNE_OUTBOX] == "17 3 * * *"
    # The community's: trust levels hourly, premium renewals (or lapses) every 5 minutes.
    assert crons[RECOMPUTE_TRUST_LEVELS] == "43 * * * *"
    assert crons[RENEW_PREMIUM_MEMBERSHIPS] == "*/5 * * * *"
    # Notifications': what quiet hours held and drip steps to the minute, the digest
    # hourly (each person's local morning), unsent pushes every 5 minutes, inactive
    # members hourly.
    assert crons[RELEASE_DEFERRED] == "* * * * *"
    assert crons[ADVANCE_DRIPS] == "* * * * *"
    assert crons[SEND_DIGESTS] == "3 * * * *"
    assert crons[REQUEUE_PUSHES] == "*/5 * * * *"
    assert crons[ENROL_INACTIVE] == "17 * * * *"


async def _wait_until(predicate: object, timeout_s: float = 10) -> None:
    async with asyncio.timeout(timeout_s):
        while not predicate():  # type: ignore[operator]
            await asyncio.sleep(0.02)


async def test_only_one_scheduler_is_active_and_a_standby_takes_over(platform: Platform) -> None:
    first, second = Worker(platform), Worker(platform)
    await first.broker.startup()
    await second.broker.startup()
    first_task = asyncio.create_task(first.run_scheduler(standby_poll_s=0.05))
    await _wait_until(lambda: first.scheduler_active)
    second_task = asyncio.create_task(second.run_scheduler(standby_poll_s=0.05))
    await asyncio.sleep(0.3)
    assert first.scheduler_active
    assert not second.scheduler_active

    first_task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await first_task
    await _wait_until(lambda: second.scheduler_active)
    second_task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await second_task


@pytest.mark.parametrize("stale_days", [8])
async def test_prune_task_removes_only_events_completed_long_ago(
    platform: Platform, stale_days: int
) -> None:
    await platform.pool.execute(
        """INSERT INTO outbox (id, topic, payload, published_at, completed_at) VALUES
           (gen_random_uuid(), 'old.completed', '{}',
            $1::timestamptz - make_interval(days => $2),
            $1::timestamptz - make_interval(days => $2)),
           (gen_random_uuid(), 'old.incomplete', '{}',
            $1::timestamptz - make_interval(days => $2), NULL),
           (gen_random_uuid(), 'new.completed', '{}', $1::timestamptz, $1::timestamptz),
           (gen_random_uuid(), 'old.unpublished', '{}', NULL, NULL)""",
        platform.clock.now(),
        stale_days,
    )
    worker = Worker(platform)
    await worker.broker.startup()
    try:
        task = await worker.tasks[PRUNE_OUTBOX].kiq()
        result = await task.wait_result(timeout=5)
    finally:
        await worker.broker.shutdown()
    assert result.return_value == 1
    topics = {r["topic"] for r in await platform.pool.fetch("SELECT topic FROM outbox")}
    # Published long ago but never completed: kept for the re-delivery sweep and operators.
    assert topics == {"old.incomplete", "new.completed", "old.unpublished"}
