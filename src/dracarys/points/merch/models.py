"""Merch: catalogue items, orders and the moves of their fulfilment."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated

import msgspec

from dracarys.wire import Input, Schema

ItemCode = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9-]{1,39}$")]


class OrderStatus(StrEnum):
    ORDERED = "ordered"
    PACKED = "packed"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


# Where an order may go from each status: forward one step, or cancelled before it ships.
NEXT_STATUSES: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.ORDERED: frozenset({OrderStatus.PACKED, OrderStatus.CANCELLED}),
    OrderStatus.PACKED: frozenset({OrderStatus.SHIPPED, OrderStatus.CANCELLED}),
    OrderStatus.SHIPPED: frozenset({OrderStatus.DELIVERED}),
    OrderStatus.DELIVERED: frozenset(),
    OrderStatus.CANCELLED: frozenset(),
}


class MerchItem(Schema):
    code: str
    name: str
    description: str
    points: int
    # Left to order; null when stock is not counted.
    stock: int | None
    active: bool


class MerchItemInput(Input, kw_only=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=120)]
    points: Annotated[int, msgspec.Meta(ge=1, le=10_000_000)]
    description: Annotated[str, msgspec.Meta(max_length=2000)] = ""
    stock: Annotated[int, msgspec.Meta(ge=0, le=1_000_000)] | None = None
    active: bool = True


class MerchOrderRecord(msgspec.Struct, frozen=True, kw_only=True):
    redemption_id: uuid.UUID
    user_id: uuid.UUID
    item_code: str
    item_name: str
    points: int
    status: OrderStatus
    tracking: str | None
    created_at: datetime
    updated_at: datetime


class ShipTo(Schema):
    name: str
    lines: list[str]
    country: str | None


class MerchOrder(Schema):
    """An order as its member sees it; staff also see where it ships (`ship_to`, null
    when the member has no address on their profile any more)."""

    redemption_id: uuid.UUID
    user_id: uuid.UUID
    item_code: str
    item_name: str
    points: int
    status: OrderStatus
    tracking: str | None
    created_at: datetime
    updated_at: datetime
    ship_to: ShipTo | None = None


class FulfilmentInput(Input, kw_only=True):
    status: OrderStatus
    # A carrier's tracking number or link, when shipping.
    tracking: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | None = None
