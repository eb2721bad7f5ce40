"""Push's records and API bodies."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import msgspec

from dracarys.wire import Input, Schema

# base64url without padding, as `PushSubscription.toJSON()` gives the keys.
_B64URL = r"^[A-Za-z0-9_-]+={0,2}$"


class VapidKeys(msgspec.Struct, frozen=True, kw_only=True):
    public_key: str
    private_key_sealed: bytes


class Subscription(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    user_id: uuid.UUID
    endpoint: str
    p256dh: str
    auth: str
    label: str
    created_at: datetime
    last_used_at: datetime | None


class QueuedPush(msgspec.Struct, frozen=True, kw_only=True):
    """One push waiting to go, with its subscription and its notification's text."""

    id: uuid.UUID
    sent_at: datetime | None
    subscription_id: uuid.UUID
    endpoint: str
    p256dh: str
    auth: str
    notification_id: uuid.UUID
    kind: str
    priority: str
    title: str
    body: str
    link: str | None


class UnsentPush(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID


class SubscriptionKeys(Input):
    p256dh: Annotated[str, msgspec.Meta(min_length=80, max_length=100, pattern=_B64URL)]
    auth: Annotated[str, msgspec.Meta(min_length=16, max_length=32, pattern=_B64URL)]


class SubscribeInput(Input):
    """What the browser's `PushSubscription.toJSON()` gives (`expirationTime` accepted and
    not kept: browsers leave it null)."""

    endpoint: Annotated[str, msgspec.Meta(min_length=12, max_length=2048)]
    keys: SubscriptionKeys
    # The browser's own field name.
    expirationTime: int | None = None


class UnsubscribeInput(Input):
    endpoint: Annotated[str, msgspec.Meta(min_length=12, max_length=2048)]


class PushKey(Schema):
    """The VAPID public key a browser subscribes with (`applicationServerKey`)."""

    public_key: str


class DeviceView(Schema):
    id: uuid.UUID
    label: str
    # The push service's host, so two devices with one label can be told apart.
    service: str
    created_at: datetime
    last_used_at: datetime | None


class DeviceList(Schema):
    devices: list[DeviceView]
