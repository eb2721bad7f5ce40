"""The topics external brokers produce: a mirrored order to send to a member's broker,
consumed by `trading.broker_send` (see `service.send_routed_order`), and one to cancel
there (its signal was corrected or expired), consumed by `trading.broker_cancel`
(`service.cancel_at_broker`)."""

from __future__ import annotations

from typing import ClassVar

from dracarys.outbox import EventPayload

BROKER_ORDER_ROUTED = "trading.broker_order_routed"
BROKER_CANCEL_REQUESTED = "trading.broker_cancel_requested"


class BrokerOrderRouted(EventPayload, frozen=True, kw_only=True):
    topic: ClassVar[str] = BROKER_ORDER_ROUTED
    order_id: str
    user_id: str
    broker: str
    client_order_id: str


class BrokerCancelRequested(EventPayload, frozen=True, kw_only=True):
    topic: ClassVar[str] = BROKER_CANCEL_REQUESTED
    order_id: str
    user_id: str
    reason: str
