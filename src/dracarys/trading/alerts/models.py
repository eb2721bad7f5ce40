"""TradingView alerts' records and the API's bodies: the alert a mentor's TradingView
sends (and the template that makes it), the webhook as its mentor sees it, and each
received alert with its outcome."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated

import msgspec

from dracarys.trading.models import Price, Side, Symbol
from dracarys.wire import Input, Schema

# What the mentor pastes into TradingView's alert "Message" box. TradingView fills the
# {{placeholders}} when the alert fires: {{close}} is a bare number, the rest are quoted.
# `alert_id` makes a resent alert a duplicate; stop_loss and take_profit are optional
# (a number, or null), as are `comment` (the signal's rationale) and `size_hint_pct`.
ALERT_TEMPLATE = """{
  "alert_id": "{{ticker}}-{{strategy.order.id}}-{{timenow}}",
  "symbol": "{{ticker}}",
  "side": "{{strategy.order.action}}",
  "price": {{close}},
  "stop_loss": null,
  "take_profit": null,
  "time": "{{timenow}}",
  "comment": "{{strategy.order.comment}}"
}"""

# An alert is a few hundred bytes; anything much larger is not one.
ALERT_MAX_BYTES = 4096

AlertId = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class AlertInput(Input):
    """An alert as TradingView sends it (after the side and symbol are normalised to
    lower and upper case: TradingView writes `{{strategy.order.action}}` as `buy`/`sell`
    but a hand-written alert may say `BUY`)."""

    symbol: Symbol
    side: Side
    price: Price
    stop_loss: Price | None = None
    take_profit: Price | None = None
    time: datetime | None = None
    alert_id: AlertId | None = None
    comment: Annotated[str, msgspec.Meta(max_length=2000)] | None = None
    size_hint_pct: Annotated[float, msgspec.Meta(gt=0, le=100)] = 5.0


class AlertOutcome(StrEnum):
    BROADCAST = "broadcast"
    DUPLICATE = "duplicate"
    REFUSED = "refused"


class Webhook(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    mentor_id: uuid.UUID
    token_hint: str
    created_at: datetime
    revoked_at: datetime | None


class WebhookStatus(Schema):
    """The mentor's webhook as it may be shown again: never the token, only its last
    characters."""

    active: bool
    token_hint: str | None
    created_at: datetime | None
    url_prefix: str
    template: str
    max_body_bytes: int


class IssuedWebhook(WebhookStatus):
    """A new webhook URL, shown this once: it is stored hashed and cannot be shown again."""

    url: str
    token: str


class AlertRecord(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    mentor_id: uuid.UUID
    webhook_id: uuid.UUID
    dedupe_key: bytes | None
    outcome: str
    reason: str | None
    symbol: str | None
    side: str | None
    price: float | None
    signal_id: uuid.UUID | None
    duplicate_of: uuid.UUID | None
    fired_at: datetime | None
    received_at: datetime
    latency_ms: int | None


class ReceivedAlert(Schema):
    """One alert a webhook received and what became of it: `broadcast` (its signal),
    `duplicate` (of the alert named, whose signal it is), or `refused` (the reason the
    sender was told)."""

    id: uuid.UUID
    outcome: AlertOutcome
    reason: str | None
    symbol: str | None
    side: str | None
    price: float | None
    signal_id: uuid.UUID | None
    duplicate_of: uuid.UUID | None
    fired_at: datetime | None
    received_at: datetime
    latency_ms: int | None


class AlertReceipt(Schema):
    """What TradingView (or any sender) is answered: the alert's id and its signal; a
    duplicate gets the first alert's receipt again, with `duplicate` true."""

    alert_id: uuid.UUID
    outcome: AlertOutcome
    signal_id: uuid.UUID
    duplicate: bool
    latency_ms: int | None
