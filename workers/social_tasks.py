"""The social domain's scheduled jobs: re-check verified follows on the platforms whose
APIs can answer (a follow found gone is revoked and its points taken back); affiliate
commissions whose refund window closed become payable, and the weekly payout run pays
them (the wallet's own weekly run for mentors first, then what affiliates are owed,
through the same batch and payout path). Thin: each calls the domains' services; the
payout composition is here because the wallet does not know social."""

from __future__ import annotations

import uuid
from typing import Any

from taskiq import AsyncBroker, AsyncTaskiqDecoratedTask

from dracarys import social, wallet
from dracarys.platform import Platform
from workers.broker import PlatformJob, register_cron_jobs

RECHECK_FOLLOWS = "social.recheck_follows"
POST_DUE_COMMISSIONS = "social.post_due_commissions"


async def weekly_payouts(platform: Platform) -> list[uuid.UUID]:
    """The weekly payout run: mentors' balances, then affiliates' payable commissions
    (recorded as paid by the payout that carried them). Running it again pays nothing
    twice: the wallet's batch lines are unique per week and user."""
    created = await wallet.run_weekly_payouts(platform)
    owed = await social.commissions_owed(platform)
    paid = await wallet.pay_commissions(
        platform, {(line.affiliate_id, line.currency): line.amount_minor for line in owed}
    )
    await social.record_commission_payouts(platform, owed, paid)
    # A mentor who is also an affiliate has one line a week: it is among `created`.
    return [*created, *(p for p in paid.values() if p not in created)]


_JOBS: dict[str, tuple[PlatformJob, str]] = {
    # Hourly: each follow is due `DRACARYS_SOCIAL_RECHECK_HOURS` after its last check, so
    # the checks spread over the day instead of arriving together.
    RECHECK_FOLLOWS: (social.recheck_follows, "31 * * * *"),
    POST_DUE_COMMISSIONS: (social.post_due_commissions, "*/10 * * * *"),
}


def register_social_tasks(broker: AsyncBroker) -> dict[str, AsyncTaskiqDecoratedTask[Any, Any]]:
    return register_cron_jobs(broker, _JOBS)
