"""Trading's scheduled job: renewing paid signal subscriptions from the wallet when their
period ends (and expiring cancelled ones). Thin: it calls one service."""

from __future__ import annotations

from typing import Any

from taskiq import AsyncBroker, AsyncTaskiqDecoratedTask

from dracarys.trading.signals import renew_due_subscriptions
from workers.broker import register_cron_jobs

RENEW_SUBSCRIPTIONS = "trading.renew_subscriptions"


def register_trading_tasks(broker: AsyncBroker) -> dict[str, AsyncTaskiqDecoratedTask[Any, Any]]:
    return register_cron_jobs(
        broker, {RENEW_SUBSCRIPTIONS: (renew_due_subscriptions, "*/15 * * * *")}
    )
