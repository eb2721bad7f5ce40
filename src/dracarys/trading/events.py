"""Events paper trading writes to the outbox, each with its payload's shape (read outside:
points and notifications subscribe to fills). Signals and subscriptions define theirs in
`trading.signals.events`."""

from __future__ import annotations

from typing import Any

import msgspec


class Payload(msgspec.Struct, frozen=True, kw_only=True):
    """An event's payload as trading writes it (ids as strings, as they travel in JSON)."""

    def as_payload(self) -> dict[str, Any]:
        return msgspec.structs.asdict(self)


# The paper loop filled (part of) an order.
PAPER_ORDER_FILLED = "paper.order_filled"


class PaperOrderFilled(Payload, frozen=True, kw_only=True):
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
