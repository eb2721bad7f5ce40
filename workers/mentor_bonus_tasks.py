"""The monthly mentor bonus, a job across two domains: mentorship knows each mentor's
average rating and attendance over last month, the wallet pays the bonus to those above
its bar (once per mentor and month). Composed here, at the composition root, instead of
the wallet keeping a list of sources the mentorship domain fills when it is imported."""

from __future__ import annotations

import uuid
from typing import Any

from taskiq import AsyncBroker, AsyncTaskiqDecoratedTask

from dracarys.mentorship import mentor_months
from dracarys.platform import Platform
from dracarys.wallet import pay_mentor_bonuses, previous_month
from workers.broker import PlatformJob, register_cron_jobs

MENTOR_BONUSES = "wallet.mentor_bonuses"


async def pay_last_months_mentor_bonuses(platform: Platform) -> list[uuid.UUID]:
    """The mentors paid a bonus for the month before this one."""
    month = previous_month(platform.clock.now())
    async with platform.pool.acquire() as conn:
        stats = await mentor_months(conn, month)
    return await pay_mentor_bonuses(platform, month, stats)


_JOBS: dict[str, tuple[PlatformJob, str]] = {
    MENTOR_BONUSES: (pay_last_months_mentor_bonuses, "0 7 1 * *"),
}


def register_mentor_bonus_tasks(
    broker: AsyncBroker,
) -> dict[str, AsyncTaskiqDecoratedTask[Any, Any]]:
    return register_cron_jobs(broker, _JOBS)
