"""The topic external brokers produce: a mirrored order to send to a member's broker,
consumed by `trading.broker_send` (see `service.send_routed_order`)."""

from __future__ import annotations

from typing import ClassVar

from dracarys.outbox import EventPayload

BROKER_ORDER_ROUTED = "trading.broker_order_routed"


class BrokerOrderRouted(EventPayload, frozen=True, kw_only=True):
    topic: ClassVar[str] = BROKER_ORDER_ROUTED
    order_id: str
    user_id: str
    broker: str
    client_order_id: str
