"""The topics paper trading produces, each with its payload (ids as strings), emitted
through the outbox with `emit_event`. Signals and subscriptions define theirs in
`trading.signals.events`."""

from __future__ import annotations

from typing import ClassVar

from dracarys.outbox import EventPayload

# The paper loop filled (part of) an order.
PAPER_ORDER_FILLED = "paper.order_filled"
# A member's paper portfolio closed a calendar month (the monthly job, `close_paper_month`).
PAPER_MONTH_CLOSED = "paper.month_closed"


class PaperOrderFilled(EventPayload, frozen=True, kw_only=True):
    topic: ClassVar[str] = PAPER_ORDER_FILLED
    fill_id: str
    order_id: str
    portfolio_id: str
    user_id: str
    symbol: str
    side: str
    qty: float
    price: float
    preset: str
    signal_id: str | None


class PaperMonthClosed(EventPayload, frozen=True, kw_only=True):
    """A calendar month (`month`: "2026-11", UTC) of a member's paper portfolio, closed
    with its profit or loss in the portfolio's currency."""

    topic: ClassVar[str] = PAPER_MONTH_CLOSED
    user_id: str
    portfolio_id: str
    month: str
    pnl_minor: int
    currency: str
