"""Merch: the catalogue members redeem points for, the order a merch redemption places
(in the redemption's own transaction, so a refused order spends nothing), and its
fulfilment, which an admin moves one step at a time and which is audited; cancelling an
order before it ships gives the points back, once."""

from __future__ import annotations

import uuid
from datetime import datetime

from dracarys.db import Connection, transaction
from dracarys.errors import Conflict, InvalidInput, NotFound
from dracarys.identity import CurrentUser, display_names, record_audit, shipping_addresses_of
from dracarys.platform import Platform
from dracarys.points.ledger import service as ledger
from dracarys.points.merch import store
from dracarys.points.merch.models import (
    NEXT_STATUSES,
    FulfilmentInput,
    MerchItem,
    MerchItemInput,
    MerchOrder,
    MerchOrderRecord,
    OrderStatus,
    ShipTo,
)
from dracarys.settings import Settings

OPEN_STATUSES = [OrderStatus.ORDERED, OrderStatus.PACKED, OrderStatus.SHIPPED]


async def catalogue(platform: Platform, *, include_inactive: bool = False) -> list[MerchItem]:
    async with platform.pool.acquire() as conn:
        return await store.items(conn, active_only=not include_inactive)


async def save_item(
    platform: Platform, actor: CurrentUser, code: str, body: MerchItemInput, source_ip: str | None
) -> MerchItem:
    async with transaction(platform.pool) as conn:
        saved = await store.upsert_item(conn, code, body, platform.clock.now())
        await record_audit(
            conn,
            actor.id,
            "points.merch_item_saved",
            f"merch:{code}",
            source_ip,
            {"points": body.points, "active": body.active},
        )
    return saved


async def stock_catalogue(platform: Platform, items: dict[str, MerchItemInput]) -> None:
    """Add the items not in the catalogue yet (the demo's); items an admin has already
    changed are left as they are."""
    async with transaction(platform.pool) as conn:
        await store.insert_missing_items(conn, items, platform.clock.now())


async def place_order(
    conn: Connection,
    settings: Settings,
    *,
    redemption_id: uuid.UUID,
    user_id: uuid.UUID,
    item_code: str,
    points: int,
    now: datetime,
) -> None:
    """The order of a merch redemption, in its transaction: the item must be in the
    catalogue and in stock, cost exactly the points spent, and the member must have a
    postal address on their profile to ship it to."""
    if user_id not in await shipping_addresses_of(conn, settings, [user_id]):
        raise Conflict(
            "merch ships to the postal address on your profile: add one on your Account page first"
        )
    item = await store.take_one(conn, item_code)
    if item is None:
        known = await store.item(conn, item_code)
        raise InvalidInput(
            f"“{known.name}” is sold out"
            if known is not None and known.active
            else f"{item_code!r} is not in the merch catalogue",
            field="target_ref",
        )
    if points != item.points:
        raise InvalidInput(f"“{item.name}” costs {item.points:,} points", field="points")
    await store.insert_order(
        conn,
        redemption_id=redemption_id,
        user_id=user_id,
        item_code=item.code,
        points=points,
        now=now,
    )


def _view(record: MerchOrderRecord, ship_to: ShipTo | None = None) -> MerchOrder:
    return MerchOrder(
        redemption_id=record.redemption_id,
        user_id=record.user_id,
        item_code=record.item_code,
        item_name=record.item_name,
        points=record.points,
        status=record.status,
        tracking=record.tracking,
        created_at=record.created_at,
        updated_at=record.updated_at,
        ship_to=ship_to,
    )


async def orders_of(platform: Platform, user_id: uuid.UUID, limit: int) -> list[MerchOrder]:
    async with platform.pool.acquire() as conn:
        found = await store.orders(conn, user_id=user_id, statuses=None, limit=limit)
    return [_view(order) for order in found]


async def orders_to_fulfil(
    platform: Platform, statuses: list[OrderStatus] | None, limit: int
) -> list[MerchOrder]:
    """Orders for the fulfilment queue (the open ones by default), each with where it
    ships: the member's name and profile address, opened for staff."""
    async with platform.pool.acquire() as conn:
        found = await store.orders(
            conn, user_id=None, statuses=statuses or OPEN_STATUSES, limit=limit
        )
        members = {order.user_id for order in found}
        names = await display_names(conn, platform.settings, members)
        addresses = await shipping_addresses_of(conn, platform.settings, members)
    views = []
    for order in found:
        shipping = addresses.get(order.user_id)
        ship_to = None
        if shipping is not None:
            a = shipping.address
            lines = [a.line1, a.line2, " ".join(p for p in (a.postal_code, a.city) if p), a.region]
            ship_to = ShipTo(
                name=names.get(order.user_id, ""),
                lines=[line for line in lines if line],
                country=shipping.country,
            )
        views.append(_view(order, ship_to))
    return views


async def move_order(
    platform: Platform,
    actor: CurrentUser,
    redemption_id: uuid.UUID,
    body: FulfilmentInput,
    source_ip: str | None,
) -> MerchOrder:
    """One step of fulfilment; a cancelled order gives its points back and its item to
    the stock. Moving an order to where it is already is refused, so a retry cannot
    refund twice."""
    async with transaction(platform.pool) as conn:
        now = platform.clock.now()
        order = await store.order_for_update(conn, redemption_id)
        if order is None:
            raise NotFound("no merch order for this redemption", field="redemption_id")
        allowed = NEXT_STATUSES[order.status]
        if body.status not in allowed:
            choices = ", ".join(sorted(s.value for s in allowed)) or "nothing: it is final"
            raise Conflict(
                f"an order that is {order.status.value} can move to {choices}", field="status"
            )
        if body.status is OrderStatus.CANCELLED:
            await ledger.adjust(
                conn,
                platform,
                user_id=order.user_id,
                change=order.points,
                reason_code="merch_cancelled",
                related_entity=str(redemption_id),
                key=f"merch-cancelled:{redemption_id}",
                source_ip=None,
            )
            await store.put_back_one(conn, order.item_code)
        await store.set_status(conn, redemption_id, body.status, body.tracking, now)
        await record_audit(
            conn,
            actor.id,
            "points.merch_order_moved",
            f"redemption:{redemption_id}",
            source_ip,
            {"from": order.status.value, "to": body.status.value, "tracking": body.tracking or ""},
            at=now,
        )
        moved = await store.order_for_update(conn, redemption_id)
    assert moved is not None
    return _view(moved)
