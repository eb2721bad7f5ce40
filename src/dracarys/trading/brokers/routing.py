"""Whether a member's mirrored copy goes to their own broker, recording it for the
`trading.broker_send` consumer, and withdrawing the unfilled copies of a corrected
signal. Kept apart from the service (which books fills through
the paper loop's SQL) so that mirroring, below the paper loop, can call it."""

from __future__ import annotations

import uuid

from dracarys.db import Connection
from dracarys.identity import KYC_LEVEL_TO_ROUTE_TO_BROKER, account_of
from dracarys.outbox import emit_event
from dracarys.platform import Platform
from dracarys.settings import Settings
from dracarys.trading import store as paper_store
from dracarys.trading.brokers import store
from dracarys.trading.brokers.events import BrokerCancelRequested, BrokerOrderRouted
from dracarys.trading.brokers.models import BrokerLink, RoutedOrder
from dracarys.trading.models import ROUTED, Order, Portfolio

CLIENT_ORDER_PREFIX = "dracarys-"


def client_order_id(order_id: uuid.UUID) -> str:
    """The id the broker de-duplicates our order on: derived from the paper order."""
    return f"{CLIENT_ORDER_PREFIX}{order_id}"


async def kyc_level(conn: Connection, user_id: uuid.UUID) -> int:
    account = await account_of(conn, user_id)
    return 0 if account is None else account.kyc_level


async def routing_link(
    conn: Connection, settings: Settings, user_id: uuid.UUID
) -> BrokerLink | None:
    """The member's linked account when their mirrored copies go to it: enabled here,
    linked, opted in, KYC level 2."""
    if not settings.external_brokers_enabled:
        return None
    link = await store.get_link(conn, user_id)
    if link is None or not link.opted_in:
        return None
    if await kyc_level(conn, user_id) < KYC_LEVEL_TO_ROUTE_TO_BROKER:
        return None
    return link


async def route_order(
    conn: Connection, platform: Platform, portfolio: Portfolio, order: Order, link: BrokerLink
) -> RoutedOrder:
    """Record a just-placed routed order for sending (in the caller's transaction)."""
    assert order.status == ROUTED
    routed = await store.insert_routed_order(
        conn,
        order_id=order.id,
        user_id=portfolio.user_id,
        portfolio_id=portfolio.id,
        broker=link.broker,
        client_order_id=client_order_id(order.id),
        symbol=order.symbol,
        side=order.side,
        qty=order.qty,
        now=platform.clock.now(),
    )
    await emit_event(
        conn,
        BrokerOrderRouted(
            order_id=str(order.id),
            user_id=str(portfolio.user_id),
            broker=link.broker,
            client_order_id=routed.client_order_id,
        ),
    )
    return routed


async def withdraw_routed_copies(
    conn: Connection, platform: Platform, signal_id: uuid.UUID, reason: str
) -> list[Order]:
    """A corrected signal's copies with nothing filled: one not sent yet ends here (the
    send then finds it cancelled); one at the broker is asked to cancel by the
    `trading.broker_cancel` consumer, and ends when the broker says so. → the paper
    orders ended now."""
    now = platform.clock.now()
    ended: list[Order] = []
    for routed in await store.unfilled_routed_of_signal(conn, signal_id):
        if routed.status == "pending":
            await store.update_routed_order(
                conn, routed.order_id, status="cancelled", now=now, reason=reason
            )
            ended += await paper_store.close_orders(
                conn, [routed.order_id], "cancelled", reason, now, from_statuses=(ROUTED,)
            )
        else:
            await emit_event(
                conn,
                BrokerCancelRequested(
                    order_id=str(routed.order_id), user_id=str(routed.user_id), reason=reason
                ),
            )
    return ended
