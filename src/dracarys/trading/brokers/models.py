"""External brokers' records: what is sent to a broker and what it answers (orders,
their fills, positions, the account), a member's link to a brokerage account, the orders
routed there, and the API's request and response bodies."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

import msgspec

from dracarys.wire import Input, Schema


class BrokerName(StrEnum):
    ALPACA = "alpaca"
    PAPER = "paper"


class BrokerOrderRequest(msgspec.Struct, frozen=True, kw_only=True):
    """An order as sent to a broker; the broker refuses a second order with the same
    `client_order_id`, which makes sending it again safe. `symbol` is the broker's own
    symbol for the instrument. `take_profit` (a limit price) and `stop_loss` (a stop
    price) make it a bracket: exit legs on the other side that the broker holds until
    the entry fills, one cancelling the other."""

    client_order_id: str
    symbol: str
    side: Literal["buy", "sell"]
    kind: Literal["market", "limit", "stop", "stop_limit"]
    qty: float
    limit_price: float | None = None
    stop_price: float | None = None
    tif: Literal["gtc", "day", "ioc"] = "gtc"
    take_profit: float | None = None
    stop_loss: float | None = None


class BrokerOrderState(msgspec.Struct, frozen=True, kw_only=True):
    """An order as the broker sees it now: its status in the broker's words and the
    quantity filled so far (cumulative) at its average price."""

    broker_order_id: str
    client_order_id: str
    symbol: str
    side: str
    qty: float
    status: str
    filled_qty: float
    filled_avg_price: float | None
    order_type: str = ""
    # A bracket's exit legs, each an order of its own (its type says which: `limit` is
    # the take-profit, `stop` the stop-loss).
    legs: tuple[BrokerOrderState, ...] = ()


class TradeUpdate(msgspec.Struct, frozen=True, kw_only=True):
    """One message of a broker's fill stream: what happened (`fill`, `partial_fill`,
    `canceled`, ...) and the order after it."""

    event: str
    order: BrokerOrderState
    at: datetime


class BrokerPosition(Schema):
    symbol: str
    qty: float
    avg_entry_price: float
    market_value: float | None = None


class BrokerAccount(msgspec.Struct, frozen=True, kw_only=True):
    account_number: str
    status: str
    currency: str


# --- stored -------------------------------------------------------------------------


class BrokerLink(msgspec.Struct, frozen=True, kw_only=True):
    """A member's linked brokerage account, its keys sealed (see `crypto.broker_keys_cipher`)."""

    user_id: uuid.UUID
    broker: str
    api_key_id_sealed: bytes
    api_secret_sealed: bytes
    key_hint: str
    account_number: str
    opted_in: bool
    linked_at: datetime
    updated_at: datetime


class RoutedOrder(Schema):
    """A mirrored order sent to the member's broker, and what became of it there."""

    order_id: uuid.UUID
    user_id: uuid.UUID
    portfolio_id: uuid.UUID
    broker: str
    client_order_id: str
    broker_order_id: str | None
    symbol: str
    side: str
    qty: float
    status: str
    status_reason: str | None
    filled_qty: float
    avg_fill_price: float | None
    created_at: datetime
    sent_at: datetime | None
    updated_at: datetime
    # The symbol the broker knows the instrument by (None: it has none there, refused).
    broker_symbol: str | None = None
    # `entry`, or the bracket leg (`stop_loss`, `take_profit`) of `parent_order_id`.
    role: str = "entry"
    parent_order_id: uuid.UUID | None = None
    cancel_requested_at: datetime | None = None
    # Why the cancel was asked for (the signal expired, or was corrected).
    cancel_reason: str | None = None


# --- API ----------------------------------------------------------------------------


class BrokerLinkInput(Input):
    api_key_id: Annotated[str, msgspec.Meta(min_length=8, max_length=128)]
    api_secret: Annotated[str, msgspec.Meta(min_length=8, max_length=256)]
    broker: Literal["alpaca"] = "alpaca"


class OptInInput(Input):
    opted_in: bool


class BrokerStatus(Schema):
    """Whether routing to a broker is on here, what it needs, and the member's link."""

    available: bool
    required_kyc_level: int
    kyc_level: int
    linked: bool
    broker: str | None = None
    account_number: str | None = None
    key_hint: str | None = None
    opted_in: bool = False
    linked_at: datetime | None = None
