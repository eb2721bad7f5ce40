"""The topics paper trading produces, each with its payload (ids as strings), emitted
through the outbox with `emit_event`. Signals and subscriptions define theirs in
`trading.signals.events`."""

from __future__ import annotations

from typing import ClassVar

from dracarys.outbox import EventPayload

# The paper loop filled (part of) an order.
PAPER_ORDER_FILLED = "paper.order_filled"


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
