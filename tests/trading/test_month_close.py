"""Closing paper months: after a calendar month ends, each member's paper portfolio marked
in it is closed once with the month's profit or loss (what `paper.month_closed` carries),
which earns the first-profitable-month badge; signal books are not members' months."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import msgspec
import pytest

from dracarys.db import transaction
from dracarys.identity import Role
from dracarys.outbox import Event
from dracarys.points import apply_events
from dracarys.trading import close_paper_month
from tests.support import TestUser
from tests.trading.conftest import Desk

MakeUser = Callable[..., Awaitable[TestUser]]


async def month_events(desk: Desk) -> list[dict[str, Any]]:
    rows = await desk.fetch(
        "SELECT payload FROM outbox WHERE topic = 'paper.month_closed' ORDER BY created_at"
    )
    return [dict(r["payload"]) for r in rows]


async def last_mark(desk: Desk, portfolio_id: str) -> int:
    [row] = await desk.fetch(
        """SELECT equity_minor FROM paper_equity WHERE portfolio_id = $1
           ORDER BY recorded_at DESC, bar_seq DESC LIMIT 1""",
        portfolio_id,
    )
    return int(row["equity_minor"])


async def test_a_month_is_closed_once_with_its_profit_and_earns_the_badge(
    desk: Desk, make_user: MakeUser
) -> None:
    # The clock is Monday 2026-01-05 09:00 UTC.
    trader = await make_user()
    await desk.acknowledge(trader)
    portfolio = await desk.portfolio(trader)
    await desk.tick()  # bar 0 closes at 100
    await desk.placed(trader, portfolio["id"], side="buy", kind="market", qty=100)
    await desk.run(3)  # filled near 100, marked up to 110 in January
    january_close = await last_mark(desk, portfolio["id"])
    assert january_close > portfolio["starting_cash_minor"]

    with pytest.raises(ValueError, match="2026-01 has not ended yet"):
        await close_paper_month(desk.platform, date(2026, 1, 1))

    desk.clock.set(datetime(2026, 2, 1, 0, 7, tzinfo=UTC))
    [closed] = await close_paper_month(desk.platform)
    assert str(closed.portfolio_id) == portfolio["id"]
    assert closed.pnl_minor == january_close - portfolio["starting_cash_minor"]
    assert await month_events(desk) == [
        {
            "user_id": str(trader.id),
            "portfolio_id": portfolio["id"],
            "month": "2026-01",
            "pnl_minor": closed.pnl_minor,
            "currency": portfolio["currency"],
        }
    ]
    # Run again (a retried or doubled job): nothing closes twice.
    assert await close_paper_month(desk.platform) == []
    assert len(await month_events(desk)) == 1

    # February loses from where January ended: measured from January's last mark.
    await desk.tick()  # 94: a loss
    february_close = await last_mark(desk, portfolio["id"])
    desk.clock.set(datetime(2026, 3, 1, 0, 7, tzinfo=UTC))
    [february] = await close_paper_month(desk.platform)
    assert february.pnl_minor == february_close - january_close
    assert february.pnl_minor < 0

    # Points takes the months: the profitable one earns the badge, once.
    rows = await desk.fetch(
        "SELECT id, topic, payload, created_at FROM outbox WHERE topic = 'paper.month_closed'"
    )
    events = [msgspec.convert(dict(r), Event) for r in rows]
    async with transaction(desk.platform.pool) as conn:
        await apply_events(conn, desk.platform, events)
    badges = await desk.fetch(
        "SELECT badge, related FROM points_badges WHERE user_id = $1", trader.id
    )
    assert [(b["badge"], b["related"]) for b in badges] == [
        ("first_profitable_paper_month", "2026-01")
    ]


async def test_only_members_portfolios_marked_in_the_month_are_closed(
    desk: Desk, make_user: MakeUser
) -> None:
    idle = await make_user()
    await desk.acknowledge(idle)
    await desk.portfolio(idle)  # never marked: no month to close
    mentor = await make_user(role=Role.MENTOR)
    await desk.tick()
    signal = await desk.client.post(
        "/api/v1/trading/signals",
        json={"symbol": "XYZ", "side": "buy", "rationale": "Support held."},
        headers=mentor.headers,
    )
    assert signal.status_code == 201, signal.text
    desk.clock.advance(timedelta(seconds=2))
    await desk.run(2)  # the signal book trades and is marked
    assert await desk.fetch(
        """SELECT 1 FROM paper_equity e JOIN paper_portfolios p ON p.id = e.portfolio_id
           WHERE p.kind = 'signal_book'"""
    )
    desk.clock.set(datetime(2026, 2, 1, 0, 7, tzinfo=UTC))
    assert await close_paper_month(desk.platform) == []
    assert await month_events(desk) == []
