"""Closing paper months: once a calendar month (UTC) has ended, each member's paper
portfolio marked in it is closed with the month's profit or loss, once, and
`paper.month_closed` says so (points grants the first-profitable-month badge from it).
The monthly job closes the month before the current one; a month closed already is
skipped, so a job run twice or late emits nothing twice."""

from __future__ import annotations

from datetime import UTC, date, datetime

from dracarys.db import transaction
from dracarys.outbox import emit_events
from dracarys.platform import Platform
from dracarys.trading import store
from dracarys.trading.events import PaperMonthClosed
from dracarys.trading.models import MonthResult


def month_bounds(month: date) -> tuple[datetime, datetime]:
    """[first instant, first instant of the next month) of `month`, in UTC."""
    start = datetime(month.year, month.month, 1, tzinfo=UTC)
    following = (
        datetime(month.year + 1, 1, 1, tzinfo=UTC)
        if month.month == 12
        else datetime(month.year, month.month + 1, 1, tzinfo=UTC)
    )
    return start, following


def previous_month(now: datetime) -> date:
    this_month = now.astimezone(UTC).date().replace(day=1)
    return (
        date(this_month.year - 1, 12, 1)
        if this_month.month == 1
        else date(this_month.year, this_month.month - 1, 1)
    )


async def close_paper_month(platform: Platform, month: date | None = None) -> list[MonthResult]:
    """Close `month` (default: the one before now) for every member's paper portfolio
    marked in it; returns the portfolios closed by this call."""
    now = platform.clock.now()
    month = month or previous_month(now)
    start, end = month_bounds(month)
    if end > now:
        raise ValueError(f"{month:%Y-%m} has not ended yet")
    async with transaction(platform.pool) as conn:
        closed = await store.close_month(conn, start, end, now)
        await emit_events(
            conn,
            [
                PaperMonthClosed(
                    user_id=str(result.user_id),
                    portfolio_id=str(result.portfolio_id),
                    month=f"{month:%Y-%m}",
                    pnl_minor=result.pnl_minor,
                    currency=result.currency,
                )
                for result in closed
            ],
        )
    return closed
