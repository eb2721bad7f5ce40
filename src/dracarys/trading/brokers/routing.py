"""Whether a member's mirrored copy goes to their own broker, recording it for the
`trading.broker_send` consumer (or refusing it, when the broker has no symbol for the
instrument), and withdrawing the copies still open of a corrected or expired signal.
Kept apart from the service (which books fills through the paper loop's SQL) so that
mirroring and the paper loop's expiry, below it, can call it.

A copy is withdrawn once: the first correction or expiry that finds it marks it
(`cancel_requested_at`, set by the same statement that selects it), and a second run of
the expiry, or an expiry after a correction, finds it marked and asks nothing again.

"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from dracarys.db import Connection
from dracarys.identity import KYC_LEVEL_TO_ROUTE_TO_BROKER, account_of
from dracarys.outbox import emit_event
from dracarys.platform import Platform
from dracarys.settings import Settings
from dracarys.trading import store as paper_store
from dracarys.trading.brokers import store
from dracarys.trading.brokers.events import BrokerCancelRequested, BrokerOrderRouted
from dracarys.trading.brokers.models import BrokerLink, RoutedOrder
from dracarys.trading.instruments import store as instrument_store
from dracarys.trading.models import ROUTED, Order, PlacedOrder, Portfolio

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


def broker_title(broker: str) -> str:
    return {"alpaca": "Alpaca"}.get(broker, broker)


def no_symbol_reason(symbol: str, broker: str) -> str:
    title = broker_title(broker)
    return (
        f"not sent: {symbol} has no {title} symbol in the instruments registry, so "
        f"{title} would refuse it"
    )


async def route_order(
    conn: Connection,
    platform: Platform,
    portfolio: Portfolio,
    placed: PlacedOrder,
    link: BrokerLink,
) -> RoutedOrder:
    """Record a just-placed routed order (its bracket legs go with it) for sending, in
    the caller's transaction; or, when the registry has no symbol for the instrument at
    the member's broker, record it refused with that reason, the paper order and its
    legs rejected, and send nothing."""
    order = placed.order
    assert order.status == ROUTED
    now = platform.clock.now()
    symbol_there = await instrument_store.broker_symbol(conn, order.symbol, link.broker)
    reason = None if symbol_there is not None else no_symbol_reason(order.symbol, link.broker)
    routed = await store.insert_routed_order(
        conn,
        order_id=order.id,
        user_id=portfolio.user_id,
        portfolio_id=portfolio.id,
        broker=link.broker,
        client_order_id=client_order_id(order.id),
        symbol=order.symbol,
        broker_symbol=symbol_there,
        side=order.side,
        qty=order.qty,
        status="pending" if reason is None else "rejected",
        reason=reason,
        now=now,
    )
    if reason is not None:
        ids = [order.id, *[leg.id for leg in placed.legs]]
        await paper_store.close_orders(conn, ids, "rejected", reason, now, from_statuses=(ROUTED,))
        return routed
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


async def _withdraw(
    conn: Connection,
    platform: Platform,
    claimed: list[RoutedOrder],
    *,
    unsent_status: str,
    reason: str,
) -> list[Order]:
    """Copies just marked for withdrawal: one not sent yet ends here with its legs (the
    send then finds it ended); one at the broker is asked to cancel by the
    `trading.broker_cancel` consumer, and ends when the broker says so."""
    now = platform.clock.now()
    ended: list[Order] = []
    for routed in claimed:
        if routed.status == "pending":
            await store.update_routed_order(
                conn, routed.order_id, status=unsent_status, now=now, reason=reason
            )
            ended += await paper_store.close_orders(
                conn, [routed.order_id], unsent_status, reason, now, from_statuses=(ROUTED,)
            )
            legs = [leg.id for leg in await paper_store.legs_of(conn, routed.order_id)]
            ended += await paper_store.close_orders(
                conn, legs, "cancelled", "the entry ended without a fill", now,
                from_statuses=(ROUTED,),
            )  # fmt: skip
        else:
            await emit_event(
                conn,
                BrokerCancelRequested(
                    order_id=str(routed.order_id), user_id=str(routed.user_id), reason=reason
                ),
            )
    return ended


async def withdraw_routed_copies(
    conn: Connection, platform: Platform, signal_id: uuid.UUID, reason: str
) -> list[Order]:
    """A corrected signal's routed copies with nothing filled, withdrawn once (a filled
    copy keeps the legs protecting it). → the paper orders ended now."""
    claimed = await store.claim_unfilled_routed_of_signal(
        conn, signal_id, platform.clock.now(), reason
    )
    return await _withdraw(conn, platform, claimed, unsent_status="cancelled", reason=reason)


async def expire_routed_copies(
    conn: Connection, platform: Platform, symbols: Sequence[str], now: datetime
) -> list[Order]:
    """Called by the paper loop with its own expiry: routed copies of `symbols` whose
    signal has expired and whose entry is still open, withdrawn once (what filled keeps
    its legs, as on paper). → the paper orders ended now."""
    reason = "signal expired"
    claimed = await store.claim_expired_routed(conn, symbols, now, reason)
    return await _withdraw(conn, platform, claimed, unsent_status="expired", reason=reason)
