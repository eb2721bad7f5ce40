"""The `Broker` interface every brokerage adapter meets (place, cancel, look up an order,
positions, and the fill stream), the errors it raises, and `PaperBroker`: the same
interface over a paper portfolio and the paper engine, so code written against a broker
runs unchanged on paper."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Protocol

from dracarys.db import transaction
from dracarys.errors import Conflict, Forbidden, InvalidInput, NotFound, ServiceUnavailable
from dracarys.platform import Platform
from dracarys.trading import service as paper
from dracarys.trading import store
from dracarys.trading.brokers.models import (
    BrokerOrderRequest,
    BrokerOrderState,
    BrokerPosition,
    TradeUpdate,
)
from dracarys.trading.models import (
    OPEN_STATUSES,
    BracketLegs,
    Order,
    OrderInput,
    OrderKind,
    Side,
    TimeInForce,
)


class BrokerRefused(Exception):
    """The broker answered and said no (bad keys, not enough buying power, an order it
    cannot take): sending again will not help. The message is the broker's reason."""


class BrokerUnavailable(ServiceUnavailable):
    """The broker could not be reached or failed on its side: try again later."""


class Broker(Protocol):
    name: str

    async def place(self, order: BrokerOrderRequest) -> BrokerOrderState:
        """Place `order`, or answer the order already placed under its client order id."""
        ...

    async def cancel(self, broker_order_id: str) -> None: ...

    async def order(self, broker_order_id: str) -> BrokerOrderState: ...

    async def positions(self) -> list[BrokerPosition]: ...

    def fills(self) -> AsyncIterator[TradeUpdate]:
        """Every fill and every end of an order, as they happen, until cancelled."""
        ...


# Paper statuses in a broker's words, so callers read one vocabulary.
_PAPER_STATUS = {
    "waiting_parent": "accepted",
    "working": "new",
    "triggered": "new",
    "routed": "new",
    "filled": "filled",
    "cancelled": "canceled",
    "expired": "expired",
    "rejected": "rejected",
}


def _state(order: Order, legs: tuple[Order, ...] = ()) -> BrokerOrderState:
    status = _PAPER_STATUS[order.status]
    if status == "new" and order.filled_qty > 0:
        status = "partially_filled"
    return BrokerOrderState(
        order_type=order.kind,
        legs=tuple(_state(leg) for leg in legs),
        broker_order_id=str(order.id),
        client_order_id=order.client_order_id or str(order.id),
        symbol=order.symbol,
        side=order.side,
        qty=order.qty,
        status=status,
        filled_qty=order.filled_qty,
        filled_avg_price=order.avg_fill_price,
    )


class PaperBroker:
    """A paper portfolio behind the broker interface: orders go through the paper risk
    checks into the paper engine's book, fills are the engine's (read back from the
    database every `poll_s`)."""

    name = "paper"

    def __init__(self, platform: Platform, portfolio_id: uuid.UUID, *, poll_s: float = 1.0):
        self.platform = platform
        self.portfolio_id = portfolio_id
        self.poll_s = poll_s

    async def place(self, order: BrokerOrderRequest) -> BrokerOrderState:
        async with transaction(self.platform.pool) as conn:
            portfolio = await store.get_portfolio(conn, self.portfolio_id, lock=True)
            if portfolio is None:
                raise BrokerRefused("the paper portfolio no longer exists")
            body = OrderInput(
                symbol=order.symbol,
                side=Side(order.side),
                kind=OrderKind(order.kind),
                qty=order.qty,
                limit_price=order.limit_price,
                stop_price=order.stop_price,
                tif=TimeInForce(order.tif),
                client_order_id=order.client_order_id,
                bracket=(
                    BracketLegs(stop_loss=order.stop_loss, take_profit=order.take_profit)
                    if order.stop_loss is not None or order.take_profit is not None
                    else None
                ),
            )
            try:
                placed = await paper.place_order(conn, self.platform, portfolio, body)
            except (Forbidden, InvalidInput, Conflict) as exc:
                raise BrokerRefused(exc.detail) from exc
        await paper.publish_orders(self.platform, [placed.order, *placed.legs])
        return _state(placed.order, tuple(placed.legs))

    async def _owned(self, broker_order_id: str) -> Order:
        async with self.platform.pool.acquire() as conn:
            found = await store.get_order(conn, uuid.UUID(broker_order_id))
        if found is None or found.portfolio_id != self.portfolio_id:
            raise NotFound("no such order")
        return found

    async def cancel(self, broker_order_id: str) -> None:
        order = await self._owned(broker_order_id)
        async with transaction(self.platform.pool) as conn:
            await store.get_portfolio(conn, self.portfolio_id, lock=True)
            current = await store.get_order(conn, order.id, lock=True)
            if current is None or current.status not in OPEN_STATUSES:
                raise BrokerRefused("the order is no longer open")
            cancelled = await store.close_orders(
                conn, [order.id], "cancelled", "cancelled through the broker interface",
                self.platform.clock.now(),
            )  # fmt: skip
        await paper.publish_orders(self.platform, cancelled)

    async def order(self, broker_order_id: str) -> BrokerOrderState:
        order = await self._owned(broker_order_id)
        async with self.platform.pool.acquire() as conn:
            legs = await store.legs_of(conn, order.id)
        return _state(order, tuple(legs))

    async def positions(self) -> list[BrokerPosition]:
        async with self.platform.pool.acquire() as conn:
            held = await store.positions(conn, self.portfolio_id)
        return [
            BrokerPosition(symbol=p.symbol, qty=p.qty, avg_entry_price=p.avg_price)
            for p in held
            if p.qty != 0
        ]

    async def fills(self) -> AsyncGenerator[TradeUpdate]:
        seen: set[uuid.UUID] = set()
        while True:
            async with self.platform.pool.acquire() as conn:
                portfolio = await store.get_portfolio(conn, self.portfolio_id)
                if portfolio is None:
                    return
                fills = await store.list_fills(conn, self.portfolio_id, portfolio.epoch, 500)
                fresh = [f for f in reversed(fills) if f.id not in seen]
                orders = {f.order_id: await store.get_order(conn, f.order_id) for f in fresh}
            for fill in fresh:
                seen.add(fill.id)
                order = orders[fill.order_id]
                if order is None:
                    continue
                state = _state(order)
                event = "fill" if state.status == "filled" else "partial_fill"
                yield TradeUpdate(event=event, order=state, at=fill.filled_at)
            await asyncio.sleep(self.poll_s)
