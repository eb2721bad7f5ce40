"""Routing mirrored signals to a member's own broker: linking a brokerage account (its
keys proven against the broker, then sealed), opting in and out, deciding whether a
mirrored copy is routed, sending it once, and bringing its fills back into the mirror
portfolio exactly once.

A copy is routed only when the platform enables external brokers, the member is at KYC
level 2 (`KYC_LEVEL_TO_ROUTE_TO_BROKER`), has linked an account and opted in. It passes
the paper risk checks first (`place_order(..., routed=True)`), becomes a paper order with
status `routed` (the paper engine leaves it alone) and a `broker_orders` row, and a
`trading.broker_order_routed` event; the `trading.broker_send` consumer sends it under
the broker's symbol for the instrument (the instruments registry's; an instrument with
none there is refused before anything is sent) and a client order id derived from the
order, so a send repeated after a crash finds the order the broker already has instead
of placing another. A signal's stop-loss and take-profit go with the entry as one
bracket order; the legs the broker names in its answer become routed orders of their
own, so each leg's fill comes back like the entry's, and the leg the broker cancels when
the other fills ends cancelled.

Fills come back from the broker's fill stream and, while the stream is quiet or down, by
asking about each open routed order every `broker_fill_poll_s`. Both paths hand over the
order's cumulative filled quantity and average price, applied under the routed order's
row lock as the difference from what is already booked, with a fill id derived from the
cumulative quantity: whichever path (or process) comes first books it, and no fill is
booked twice."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Any

import asyncpg
import msgspec
import structlog

from dracarys.crypto import broker_keys_cipher
from dracarys.db import Connection, transaction
from dracarys.errors import Conflict, Forbidden, InvalidInput, NotFound
from dracarys.identity import KYC_LEVEL_TO_ROUTE_TO_BROKER, CurrentUser
from dracarys.outbox import Event, emit_event
from dracarys.platform import Platform
from dracarys.settings import Settings
from dracarys.trading import store as paper_store
from dracarys.trading.brokers import store
from dracarys.trading.brokers.alpaca import AlpacaBroker
from dracarys.trading.brokers.broker import Broker, BrokerRefused, BrokerUnavailable
from dracarys.trading.brokers.events import BrokerCancelRequested, BrokerOrderRouted
from dracarys.trading.brokers.models import (
    BrokerLink,
    BrokerLinkInput,
    BrokerOrderRequest,
    BrokerOrderState,
    BrokerPosition,
    BrokerStatus,
    RoutedOrder,
)
from dracarys.trading.brokers.routing import kyc_level, no_symbol_reason
from dracarys.trading.events import PaperOrderFilled
from dracarys.trading.instruments import store as instrument_store
from dracarys.trading.models import ROUTED, Fill, FillFrame, Order, OrderFrame, Portfolio
from dracarys.trading.paper_loop import store as loop_store
from dracarys.trading.paper_loop.positions import apply_fills
from streams import channels

log = structlog.get_logger("dracarys.trading.brokers")

BROKER_FILL_NAMESPACE = uuid.UUID("5d7c2a61-0f3e-4b8a-9c14-7e2b6a9d3f80")
_QTY_TOLERANCE = 1e-9
# The broker's words for an order that ended, and what the paper order becomes.
_ENDED = {"canceled": "cancelled", "expired": "expired", "rejected": "rejected"}
_FINAL = frozenset({"filled", *_ENDED.values()})
_KEY_ID, _SECRET = b"api_key_id", b"api_secret"


def _enabled(settings: Settings) -> None:
    if not settings.external_brokers_enabled:
        raise Forbidden("sending orders to a broker is not enabled on this platform")


def broker_for(settings: Settings, link: BrokerLink) -> Broker:
    """The adapter of a linked account, its keys opened for this call only."""
    cipher = broker_keys_cipher(settings)
    return _alpaca(
        settings,
        cipher.open(link.user_id, _KEY_ID, link.api_key_id_sealed),
        cipher.open(link.user_id, _SECRET, link.api_secret_sealed),
    )


def _alpaca(settings: Settings, key_id: str, secret: str) -> AlpacaBroker:
    return AlpacaBroker(
        base_url=settings.alpaca_base_url,
        stream_url=settings.alpaca_stream_url,
        key_id=key_id,
        secret=secret,
        timeout_s=settings.broker_timeout_s,
    )


# --- the member's link --------------------------------------------------------------


def _status(settings: Settings, level: int, link: BrokerLink | None) -> BrokerStatus:
    return BrokerStatus(
        available=settings.external_brokers_enabled,
        required_kyc_level=KYC_LEVEL_TO_ROUTE_TO_BROKER,
        kyc_level=level,
        linked=link is not None,
        broker=link.broker if link else None,
        account_number=link.account_number if link else None,
        key_hint=link.key_hint if link else None,
        opted_in=link.opted_in if link else False,
        linked_at=link.linked_at if link else None,
    )


async def broker_status(platform: Platform, user: CurrentUser) -> BrokerStatus:
    async with platform.pool.acquire() as conn:
        link = await store.get_link(conn, user.id)
        return _status(platform.settings, await kyc_level(conn, user.id), link)


async def _require_kyc(conn: Connection, user_id: uuid.UUID) -> int:
    level = await kyc_level(conn, user_id)
    if level < KYC_LEVEL_TO_ROUTE_TO_BROKER:
        raise Forbidden(
            f"sending orders to your own broker needs identity verification (KYC level "
            f"{KYC_LEVEL_TO_ROUTE_TO_BROKER}); you are at level {level}",
            extra={"required_kyc_level": KYC_LEVEL_TO_ROUTE_TO_BROKER},
        )
    return level


async def link_broker(platform: Platform, user: CurrentUser, body: BrokerLinkInput) -> BrokerStatus:
    """Prove the keys against the broker's account endpoint, then keep them sealed.
    Routing stays off until the member opts in."""
    settings = platform.settings
    _enabled(settings)
    async with platform.pool.acquire() as conn:
        await _require_kyc(conn, user.id)
    try:
        account = await _alpaca(settings, body.api_key_id, body.api_secret).account()
    except BrokerRefused as exc:
        raise InvalidInput(
            f"{exc}: check the key id and secret (paper keys for a paper account)",
            field="api_key_id",
        ) from exc
    if account.status != "ACTIVE":
        raise InvalidInput(
            f"this Alpaca account is {account.status.lower()}, not active", field="api_key_id"
        )
    cipher = broker_keys_cipher(settings)
    async with transaction(platform.pool) as conn:
        level = await _require_kyc(conn, user.id)
        link = await store.save_link(
            conn,
            user_id=user.id,
            broker=body.broker,
            api_key_id_sealed=cipher.seal(user.id, _KEY_ID, body.api_key_id),
            api_secret_sealed=cipher.seal(user.id, _SECRET, body.api_secret),
            key_hint=body.api_key_id[-4:],
            account_number=account.account_number,
            now=platform.clock.now(),
        )
    return _status(settings, level, link)


async def set_opt_in(platform: Platform, user: CurrentUser, opted_in: bool) -> BrokerStatus:
    async with transaction(platform.pool) as conn:
        level = await kyc_level(conn, user.id)
        if opted_in:
            _enabled(platform.settings)
            await _require_kyc(conn, user.id)
        link = await store.set_opt_in(conn, user.id, opted_in, platform.clock.now())
        if link is None:
            raise NotFound("link a broker account first", field="opted_in")
    return _status(platform.settings, level, link)


async def unlink_broker(platform: Platform, user: CurrentUser) -> BrokerStatus:
    """Forget the keys. Orders already at the broker stay there; their fills are no
    longer followed."""
    async with transaction(platform.pool) as conn:
        if not await store.delete_link(conn, user.id):
            raise NotFound("no broker account is linked")
        level = await kyc_level(conn, user.id)
    return _status(platform.settings, level, None)


async def routed_orders(platform: Platform, user: CurrentUser, limit: int) -> list[RoutedOrder]:
    async with platform.pool.acquire() as conn:
        return await store.list_routed_orders(conn, user.id, limit)


async def broker_positions(platform: Platform, user: CurrentUser) -> list[BrokerPosition]:
    """The positions held at the member's broker, asked for now."""
    async with platform.pool.acquire() as conn:
        link = await store.get_link(conn, user.id)
    if link is None:
        raise NotFound("no broker account is linked")
    try:
        return await broker_for(platform.settings, link).positions()
    except BrokerRefused as exc:
        raise Conflict(str(exc)) from exc


async def cancel_routed_order(
    platform: Platform, user: CurrentUser, order_id: uuid.UUID
) -> RoutedOrder:
    """Ask the broker to cancel; the order ends here when the broker says it has."""
    async with platform.pool.acquire() as conn:
        routed = await store.get_routed_order(conn, order_id)
        link = await store.get_link(conn, user.id)
    if routed is None or routed.user_id != user.id:
        raise NotFound("no such routed order")
    if routed.status not in ("sent", "partially_filled") or routed.broker_order_id is None:
        raise Conflict(f"the order is {routed.status}, not open at the broker")
    if link is None:
        raise Conflict("no broker account is linked")
    broker = broker_for(platform.settings, link)
    try:
        await broker.cancel(routed.broker_order_id)
    except BrokerRefused as exc:
        raise Conflict(str(exc)) from exc
    await apply_order_state(platform, await broker.order(routed.broker_order_id), user.id)
    async with platform.pool.acquire() as conn:
        updated = await store.get_routed_order(conn, order_id)
    assert updated is not None
    return updated


def _request(order: Order, legs: list[Order], client_id: str, symbol: str) -> BrokerOrderRequest:
    """The paper entry and its legs as one order for the broker, under its symbol there."""
    fields: dict[str, Any] = {
        "client_order_id": client_id,
        "symbol": symbol,
        "side": order.side,
        "kind": order.kind,
        "qty": order.qty,
        "limit_price": order.limit_price,
        "stop_price": order.stop_price,
        "tif": order.tif,
        "take_profit": next((leg.limit_price for leg in legs if leg.role == "take_profit"), None),
        "stop_loss": next((leg.stop_price for leg in legs if leg.role == "stop_loss"), None),
    }
    return msgspec.convert(fields, BrokerOrderRequest)


def _leg_role(leg: BrokerOrderState) -> str:
    """Which exit a broker's bracket leg is: its take-profit is a limit order."""
    return "take_profit" if leg.order_type == "limit" else "stop_loss"


async def _record_legs(
    conn: Connection, platform: Platform, routed: RoutedOrder, state: BrokerOrderState
) -> None:
    """The bracket legs the broker named in its answer: each becomes a routed order of
    its own (under the id the broker gave it), so its fills come back like the entry's."""
    if not state.legs:
        return
    paper_legs = {leg.role: leg for leg in await paper_store.legs_of(conn, routed.order_id)}
    for leg in state.legs:
        paper_leg = paper_legs.get(_leg_role(leg))
        if paper_leg is None:
            continue
        await store.insert_routed_leg(
            conn,
            routed,
            order_id=paper_leg.id,
            role=paper_leg.role,
            client_order_id=leg.client_order_id,
            broker_order_id=leg.broker_order_id,
            side=paper_leg.side,
            qty=paper_leg.qty,
            now=platform.clock.now(),
        )


async def send_routed_order(conn: Connection, platform: Platform, event: Event) -> None:
    """Consumer `trading.broker_send`: send a routed order to the member's broker, once.
    The broker unreachable: the transaction rolls back and the event comes again (the
    broker knows the client order id if the first send reached it). The broker refusing:
    the order ends rejected, with the broker's reason."""
    routed_event = msgspec.convert(event.payload, BrokerOrderRouted)
    order_id = uuid.UUID(routed_event.order_id)
    routed = await store.get_routed_order(conn, order_id, lock=True)
    if routed is None or routed.status != "pending":
        return
    order = await paper_store.get_order(conn, order_id, lock=True)
    assert order is not None
    link = await store.get_link(conn, routed.user_id)
    if link is None or not link.opted_in or not platform.settings.external_brokers_enabled:
        reason = "not sent: routing to your broker was turned off before the order went out"
        await _end(conn, platform, routed, order, "cancelled", reason)
        return
    symbol = routed.broker_symbol or await instrument_store.broker_symbol(
        conn, order.symbol, link.broker
    )
    if symbol is None:
        await _end(
            conn, platform, routed, order, "rejected", no_symbol_reason(order.symbol, link.broker)
        )
        return
    legs = await paper_store.legs_of(conn, order_id)
    try:
        state = await broker_for(platform.settings, link).place(
            _request(order, legs, routed.client_order_id, symbol)
        )
    except BrokerRefused as exc:
        await _end(conn, platform, routed, order, "rejected", str(exc))
        return
    routed = await store.update_routed_order(
        conn,
        order_id,
        status="sent",
        now=platform.clock.now(),
        broker_order_id=state.broker_order_id,
        sent=True,
    )
    await _record_legs(conn, platform, routed, state)
    await _apply_state(conn, platform, routed, state)  # an order that filled at once


async def cancel_at_broker(conn: Connection, platform: Platform, event: Event) -> None:
    """Consumer `trading.broker_cancel`: ask the member's broker to cancel a routed copy
    whose signal was corrected or expired, and book what the broker then says
    (cancelled, with the legs it held, or a fill that came first)."""
    request = msgspec.convert(event.payload, BrokerCancelRequested)
    routed = await store.get_routed_order(conn, uuid.UUID(request.order_id), lock=True)
    if routed is None or routed.status not in ("sent", "partially_filled"):
        return
    link = await store.get_link(conn, routed.user_id)
    if link is None or routed.broker_order_id is None:
        return  # unlinked: the order is the member's to manage at the broker
    broker = broker_for(platform.settings, link)
    try:
        await broker.cancel(routed.broker_order_id)
    except BrokerRefused as exc:  # it filled or ended meanwhile: its state says which
        log.info("broker_cancel_refused", order_id=request.order_id, error=str(exc))
    state = await broker.order(routed.broker_order_id)
    await _apply_state(conn, platform, routed, state, ended_reason=request.reason)


async def _end(
    conn: Connection,
    platform: Platform,
    routed: RoutedOrder,
    order: Order,
    status: str,
    reason: str,
) -> list[Order]:
    now = platform.clock.now()
    await store.update_routed_order(conn, routed.order_id, status=status, now=now, reason=reason)
    change = (order.id, status, order.filled_qty, order.avg_fill_price, order.qty, reason, now)
    ended = await loop_store.apply_order_changes(conn, [change])
    return ended + await _end_legs(conn, platform, routed)


async def _end_legs(conn: Connection, platform: Platform, routed: RoutedOrder) -> list[Order]:
    """An entry that ended with nothing filled takes its legs with it (the broker cancels
    the legs it held; those never sent end here)."""
    now = platform.clock.now()
    reason = "the entry ended without a fill"
    for leg in await store.open_legs_of(conn, routed.order_id):
        await store.update_routed_order(
            conn, leg.order_id, status="cancelled", now=now, reason=reason
        )
    legs = [leg.id for leg in await paper_store.legs_of(conn, routed.order_id)]
    return await paper_store.close_orders(
        conn, legs, "cancelled", reason, now, from_statuses=(ROUTED,)
    )


# --- fills coming back --------------------------------------------------------------


def broker_fill_id(order_id: uuid.UUID, cumulative_qty: float) -> uuid.UUID:
    """A fill is named by its order and the cumulative quantity it brought the order to,
    which the fill stream and a later look-up of the order both tell."""
    return uuid.uuid5(BROKER_FILL_NAMESPACE, f"{order_id}:{round(cumulative_qty, 9)!r}")


async def _apply_state(
    conn: Connection,
    platform: Platform,
    routed: RoutedOrder,
    state: BrokerOrderState,
    *,
    ended_reason: str | None = None,
) -> tuple[list[Fill], list[Order]]:
    """Book what the broker filled beyond what is booked, and the order's end, then the
    same for the bracket legs the broker told of with it; the caller holds the routed
    order's row lock (the legs' are taken after it, as the stream's own path takes
    them)."""
    fills, orders = await _apply_one(conn, platform, routed, state, ended_reason=ended_reason)
    for leg_state in state.legs:
        leg = await store.routed_order_by_client_id(conn, leg_state.client_order_id, lock=True)
        if leg is None or leg.parent_order_id != routed.order_id:
            continue
        leg_fills, leg_orders = await _apply_one(conn, platform, leg, leg_state)
        fills += leg_fills
        orders += leg_orders
    return fills, orders


async def _apply_one(
    conn: Connection,
    platform: Platform,
    routed: RoutedOrder,
    state: BrokerOrderState,
    *,
    ended_reason: str | None = None,
) -> tuple[list[Fill], list[Order]]:
    now = platform.clock.now()
    order = await paper_store.get_order(conn, routed.order_id, lock=True)
    portfolio = await paper_store.get_portfolio(conn, routed.portfolio_id)
    assert order is not None
    assert portfolio is not None
    fills: list[Fill] = []
    delta = state.filled_qty - routed.filled_qty
    filled_qty, avg_price = routed.filled_qty, routed.avg_fill_price
    if delta > _QTY_TOLERANCE and state.filled_avg_price is not None:
        booked_value = routed.filled_qty * (routed.avg_fill_price or 0.0)
        price = (state.filled_avg_price * state.filled_qty - booked_value) / delta
        last = await paper_store.last_close(conn, order.symbol)
        reference = order.limit_price or (last.price if last else price)
        direction = 1.0 if order.side == "buy" else -1.0
        fills = await loop_store.insert_fills(
            conn,
            [
                {
                    "id": broker_fill_id(order.id, state.filled_qty),
                    "order_id": order.id,
                    "portfolio_id": portfolio.id,
                    "epoch": portfolio.epoch,
                    "symbol": order.symbol,
                    "side": order.side,
                    "qty": delta,
                    "price": price,
                    "reference_price": reference,
                    "slippage_bps": round((price / reference - 1.0) * 10_000 * direction, 4),
                    "preset": portfolio.preset,
                    "feed": f"broker:{routed.broker}",
                    "bar_seq": await store.count_order_fills(conn, order.id) + 1,
                    "market_time": now,
                    "filled_at": now,
                }
            ],
        )
        if fills:
            await apply_fills(conn, fills, {portfolio.id: portfolio.currency}, now)
            await emit_event(conn, _filled_event(fills[0], portfolio, order))
            filled_qty, avg_price = state.filled_qty, state.filled_avg_price
    full = filled_qty >= routed.qty - _QTY_TOLERANCE
    ended = _ENDED.get(state.status)
    reason: str | None = None
    if full:
        routed_status = paper_status = "filled"
    elif ended is not None:
        routed_status = paper_status = ended
        reason = f"{ended} at the broker ({state.status})"
        # The cancel's own reason, whether the request's consumer or the broker's
        # trade-update stream (which may report the cancel first) applies the end.
        why = ended_reason if ended_reason is not None else routed.cancel_reason
        if why is not None:
            reason = f"{why}: {reason}"
    elif routed.status in _FINAL:
        # Ended already: a state read before the end (a look-up answered after the
        # stream told of the cancel) books what it adds, never reopens the order.
        routed_status = paper_status = routed.status
    else:
        routed_status = "partially_filled" if filled_qty > _QTY_TOLERANCE else "sent"
        paper_status = ROUTED
    if not fills and routed_status == routed.status:
        return [], []
    await store.update_routed_order(
        conn,
        routed.order_id,
        status=routed_status,
        now=now,
        reason=reason,
        filled_qty=filled_qty,
        avg_fill_price=avg_price,
    )
    change = (order.id, paper_status, filled_qty, avg_price, order.qty, reason, now)
    orders = await loop_store.apply_order_changes(conn, [change])
    if ended is not None and not full and filled_qty <= _QTY_TOLERANCE:
        orders += await _end_legs(conn, platform, routed)
    return fills, orders


def _filled_event(fill: Fill, portfolio: Portfolio, order: Order) -> PaperOrderFilled:
    return PaperOrderFilled(
        fill_id=str(fill.id),
        order_id=str(fill.order_id),
        portfolio_id=str(fill.portfolio_id),
        user_id=str(portfolio.user_id),
        symbol=fill.symbol,
        side=fill.side,
        qty=fill.qty,
        price=fill.price,
        preset=fill.preset,
        signal_id=str(order.signal_id) if order.signal_id else None,
    )


async def apply_order_state(
    platform: Platform, state: BrokerOrderState, user_id: uuid.UUID
) -> list[Fill]:
    """What a broker told of one of `user_id`'s orders (from its stream or a look-up),
    booked once; an order that is not one we routed for that member is ignored. → the
    fills booked now."""
    async with transaction(platform.pool) as conn:
        routed = await store.routed_order_by_client_id(conn, state.client_order_id, lock=True)
        if routed is None or routed.user_id != user_id or routed.status == "pending":
            return []
        fills, orders = await _apply_state(conn, platform, routed, state)
    for order in orders:
        await platform.streams.publish(
            channels.portfolio(order.portfolio_id), OrderFrame(**msgspec.structs.asdict(order))
        )
    for fill in fills:
        await platform.streams.publish(
            channels.portfolio(fill.portfolio_id), FillFrame(**msgspec.structs.asdict(fill))
        )
    return fills


async def reconcile_open_orders(platform: Platform, link: BrokerLink) -> int:
    """Ask the broker about each of the member's open routed orders (what the stream may
    have missed) and book the answers. → fills booked."""
    async with platform.pool.acquire() as conn:
        open_orders = await store.open_routed_orders(conn, link.user_id)
    broker = broker_for(platform.settings, link)
    booked = 0
    for routed in open_orders:
        if routed.broker_order_id is None:
            continue
        try:
            state = await broker.order(routed.broker_order_id)
        except BrokerRefused as exc:
            log.warning(
                "broker_order_lookup_refused", order_id=str(routed.order_id), error=str(exc)
            )
            continue
        booked += len(await apply_order_state(platform, state, link.user_id))
    return booked


async def _follow_stream(platform: Platform, link: BrokerLink) -> None:
    try:
        async for update in broker_for(platform.settings, link).fills():
            await apply_order_state(platform, update.order, link.user_id)
    except (BrokerUnavailable, BrokerRefused) as exc:
        log.warning("broker_stream_ended", user_id=str(link.user_id), error=str(exc))


async def follow_broker_fills(platform: Platform) -> None:
    """Until cancelled: follow the fill stream of every linked account with open routed
    orders (a dropped stream is opened again on the next round) and, every
    `broker_fill_poll_s`, ask about their open orders. Safe to run in every process."""
    streams: dict[uuid.UUID, asyncio.Task[None]] = {}
    try:
        while True:
            try:
                async with platform.pool.acquire() as conn:
                    links = await store.links_with_open_orders(conn)
                wanted = {link.user_id for link in links}
                for user_id in [u for u, t in streams.items() if u not in wanted or t.done()]:
                    streams.pop(user_id).cancel()
                for link in links:
                    if link.user_id not in streams:
                        streams[link.user_id] = asyncio.create_task(
                            _follow_stream(platform, link), name=f"broker-fills-{link.user_id}"
                        )
                    await reconcile_open_orders(platform, link)
            except (OSError, asyncpg.PostgresError, BrokerUnavailable) as exc:
                log.warning("broker_fills_round_failed", error=repr(exc))
            await asyncio.sleep(platform.settings.broker_fill_poll_s)
    finally:
        for task in streams.values():
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*streams.values(), return_exceptions=True)
