"""Trading's background side: the scheduled renewal of paid signal subscriptions from the
wallet when their period ends (and expiry of cancelled ones), the monthly close of
members' paper months, and the `trading.mirror`
consumer that copies a published signal into subscribers' portfolios. Thin: each calls
one trading service."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from taskiq import AsyncBroker, AsyncTaskiqDecoratedTask

from dracarys.db import Connection
from dracarys.outbox import Event
from dracarys.platform import Platform
from dracarys.trading import (
    SignalPublished,
    close_paper_month,
    mirror_signal,
    renew_due_subscriptions,
)
from workers.broker import register_cron_jobs

RENEW_SUBSCRIPTIONS = "trading.renew_subscriptions"
CLOSE_PAPER_MONTHS = "trading.close_paper_months"


async def on_signal_published(conn: Connection, platform: Platform, event: Event) -> None:
    """Consumer `trading.mirror`: `signal.published` → mirrored orders, off the mentor's
    request path."""
    published = msgspec.convert(event.payload, SignalPublished)
    await mirror_signal(conn, platform, uuid.UUID(published.signal_id))


def register_trading_tasks(broker: AsyncBroker) -> dict[str, AsyncTaskiqDecoratedTask[Any, Any]]:
    return register_cron_jobs(
        broker,
        {
            RENEW_SUBSCRIPTIONS: (renew_due_subscriptions, "*/15 * * * *"),
            # Just after midnight UTC on the 1st: the month before is closed.
            CLOSE_PAPER_MONTHS: (close_paper_month, "7 0 1 * *"),
        },
    )
