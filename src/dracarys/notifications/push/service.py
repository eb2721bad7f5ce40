"""Web Push: the platform's VAPID key pair (made once, at first start, and kept sealed in
the database so every process signs with the same key), each person's browser
subscriptions (subscribe, list, remove: only one's own), the pushes a notification plans
(`queue_pushes`, in the planning transaction, one per subscribed device, each sent through
the outbox), and their sending (`deliver_push`, the `notifications.push` consumer).

A push carries the notification's in-app title, body and link; nothing per workflow. A
push service's 404/410 deletes the subscription; any other failure raises, so the outbox
retries the task, and `requeue_unsent_pushes` puts back what is still unsent after that."""

from __future__ import annotations

import base64
import binascii
import ipaddress
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from email.utils import parseaddr
from functools import lru_cache
from urllib.parse import urlsplit

import msgspec
import structlog
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from dracarys.crypto import seal, unseal, vapid_key
from dracarys.db import Connection, transaction
from dracarys.errors import InvalidInput, NotFound
from dracarys.identity import CurrentUser, device_label
from dracarys.notifications.push import store
from dracarys.notifications.push.adapters import PushOutcome, PushService
from dracarys.notifications.push.events import PushQueued
from dracarys.notifications.push.models import (
    DeviceList,
    DeviceView,
    PushKey,
    SubscribeInput,
    Subscription,
    UnsubscribeInput,
)
from dracarys.outbox import Event, emit_events
from dracarys.platform import Platform
from dracarys.settings import Settings

log = structlog.get_logger("dracarys.notifications.push")

# A push waits this long at the push service for a device that is offline.
PUSH_TTL_S = 24 * 3600
# As messaging's sweeper: still unsent this long after it was planned, a push's task ran
# out of retries (a long push-service outage) and it goes back on the outbox.
REQUEUE_AFTER = timedelta(minutes=10)
MAX_REQUEUES = 5
MAX_DEVICES = 20
_AD = b"dracarys vapid private key"


# ---- the VAPID key pair ----------------------------------------------------------------


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


async def ensure_vapid_keys(conn: Connection, settings: Settings, now: datetime) -> str:
    """The platform's VAPID public key, the pair made now if this is the first start.
    Concurrent first starts agree: the first insert wins and everyone reads it back."""
    found = await store.vapid_keys(conn)
    if found is None:
        private = ec.generate_private_key(ec.SECP256R1())
        public = private.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        der = private.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        await store.insert_vapid_keys(
            conn, _b64url(public), seal(vapid_key(settings), der, _AD), now
        )
        found = await store.vapid_keys(conn)
        assert found is not None
        log.info("vapid_keys_created")
    return found.public_key


@lru_cache(maxsize=4)
def _opened_key(sealing_key: bytes, sealed: bytes) -> ec.EllipticCurvePrivateKey:
    # Cached: every push signs with it, and a signal's followers are thousands of pushes.
    key = serialization.load_der_private_key(unseal(sealing_key, sealed, _AD), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key


async def _signing_key(
    conn: Connection, settings: Settings, now: datetime
) -> ec.EllipticCurvePrivateKey:
    await ensure_vapid_keys(conn, settings, now)
    found = await store.vapid_keys(conn)
    assert found is not None
    return _opened_key(vapid_key(settings), found.private_key_sealed)


async def push_key(platform: Platform) -> PushKey:
    async with transaction(platform.pool) as conn:
        return PushKey(
            public_key=await ensure_vapid_keys(conn, platform.settings, platform.clock.now())
        )


def push_contact(settings: Settings) -> str:
    """The VAPID `sub`: the address our mail comes from, as a mailto: URL."""
    return f"mailto:{parseaddr(settings.mail_from)[1]}"


# ---- subscriptions -----------------------------------------------------------------------


def _checked_endpoint(settings: Settings, endpoint: str) -> str:
    parts = urlsplit(endpoint)
    if parts.scheme not in {"https", "http"} or not parts.hostname:
        raise InvalidInput(
            "That is not a push service address this browser could have given.",
            field="endpoint",
        )
    if settings.env == "production":
        # The server posts to this address: in production only to a public https host,
        # never to a private network or this machine.
        host = parts.hostname
        try:
            private = not ipaddress.ip_address(host).is_global
        except ValueError:
            private = host == "localhost" or host.endswith((".localhost", ".local", ".internal"))
        if parts.scheme != "https" or private:
            raise InvalidInput(
                "Push services are reached over https on a public address; this one is not.",
                field="endpoint",
            )
    return endpoint


def _checked_keys(data: SubscribeInput) -> tuple[str, str]:
    """The browser's keys must be what RFC 8291 needs: a P-256 public key (uncompressed
    point) and a 16-byte auth secret. Checked here, so a bad one never reaches a push."""
    try:
        point = _unb64url(data.keys.p256dh)
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
        if len(point) != 65:
            raise ValueError("not an uncompressed point")
    except (binascii.Error, ValueError):
        raise InvalidInput(
            "The browser's push key is not a P-256 public key.", field="keys.p256dh"
        ) from None
    try:
        secret = _unb64url(data.keys.auth)
    except (binascii.Error, ValueError):
        secret = b""
    if len(secret) != 16:
        raise InvalidInput(
            "The browser's push auth secret must be 16 bytes.", field="keys.auth"
        ) from None
    return _b64url(point), _b64url(secret)


def _device(subscription: Subscription) -> DeviceView:
    return DeviceView(
        id=subscription.id,
        label=subscription.label,
        service=urlsplit(subscription.endpoint).hostname or "",
        created_at=subscription.created_at,
        last_used_at=subscription.last_used_at,
    )


async def subscribe(
    platform: Platform, user: CurrentUser, data: SubscribeInput, user_agent: str | None
) -> DeviceView:
    endpoint = _checked_endpoint(platform.settings, data.endpoint)
    p256dh, auth = _checked_keys(data)
    async with transaction(platform.pool) as conn:
        mine = await store.subscriptions_of(conn, user.id)
        if len(mine) >= MAX_DEVICES and all(s.endpoint != endpoint for s in mine):
            raise InvalidInput(
                f"You can receive push notifications on at most {MAX_DEVICES} devices; "
                "remove one you no longer use first.",
                field="endpoint",
            )
        saved = await store.save_subscription(
            conn,
            user_id=user.id,
            endpoint=endpoint,
            p256dh=p256dh,
            auth=auth,
            label=device_label(user_agent),
            at=platform.clock.now(),
        )
    return _device(saved)


async def devices(platform: Platform, user: CurrentUser) -> DeviceList:
    async with platform.pool.acquire() as conn:
        return DeviceList(devices=[_device(s) for s in await store.subscriptions_of(conn, user.id)])


async def remove_device(platform: Platform, user: CurrentUser, device_id: uuid.UUID) -> None:
    async with transaction(platform.pool) as conn:
        if not await store.delete_subscription(conn, user.id, device_id):
            raise NotFound("You have no such device.", field="device_id")


async def unsubscribe(platform: Platform, user: CurrentUser, data: UnsubscribeInput) -> None:
    """The browser unsubscribed (its endpoint is all it knows); removing one that is not
    yours, or no longer there, is the same answer, so endpoints cannot be probed."""
    async with transaction(platform.pool) as conn:
        await store.delete_endpoint(conn, user.id, data.endpoint)


# ---- sending -----------------------------------------------------------------------------


async def queue_pushes(
    conn: Connection,
    notification_ids: Sequence[uuid.UUID],
    user_ids: Sequence[uuid.UUID],
    now: datetime,
) -> set[uuid.UUID]:
    """In the caller's transaction: a push per subscribed device of each notification's
    person, each sent through the outbox once that transaction commits. Returns the
    notifications that got at least one (the others' people have no device)."""
    if not notification_ids:
        return set()
    planned = await store.insert_pushes(conn, notification_ids, user_ids, now)
    await emit_events(conn, [PushQueued(push_id=push_id) for push_id, _ in planned])
    return {notification_id for _, notification_id in planned}


class PushPayload(msgspec.Struct, kw_only=True):
    """What the service worker (`/sw.js`) receives and shows."""

    id: str
    kind: str
    title: str
    body: str
    link: str


async def deliver_push(conn: Connection, platform: Platform, event: Event) -> None:
    """Consumer of `push.send`. A push already sent, or whose subscription is gone, is
    skipped; a failure raises (the task is retried); 404/410 deletes the subscription."""
    push_id = msgspec.convert(event.payload, PushQueued).push_id
    queued = await store.push_for_update(conn, push_id)
    if queued is None or queued.sent_at is not None:
        return
    now = platform.clock.now()
    sender = PushService(
        await _signing_key(conn, platform.settings, now), push_contact(platform.settings)
    )
    payload = msgspec.json.encode(
        PushPayload(
            id=str(queued.notification_id),
            kind=queued.kind,
            title=queued.title,
            body=queued.body,
            link=queued.link or "/notifications",
        )
    )
    outcome = await sender.send(
        endpoint=queued.endpoint,
        p256dh=queued.p256dh,
        auth=queued.auth,
        payload=payload,
        ttl_s=PUSH_TTL_S,
        urgency="high" if queued.priority == "critical" else "normal",
    )
    if outcome is PushOutcome.GONE:
        await store.forget_subscription(conn, queued.subscription_id)
        log.info("push_subscription_gone", subscription_id=str(queued.subscription_id))
        return
    await store.mark_sent(conn, push_id, queued.subscription_id, now)
    log.info("push_sent", push_id=str(push_id), kind=queued.kind)


async def requeue_unsent_pushes(platform: Platform) -> int:
    """Cron: the safety net behind the consumer's retries (as messaging's
    `requeue_unsent`): a fresh send event for each push still unsent after
    `REQUEUE_AFTER`, at most `MAX_REQUEUES` times. Delivery skips a sent push."""
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        claimed = await store.claim_unsent(
            conn, created_before=now - REQUEUE_AFTER, max_requeues=MAX_REQUEUES, limit=500
        )
        await emit_events(conn, [PushQueued(push_id=p.id) for p in claimed])
    if claimed:
        log.warning("pushes_requeued", count=len(claimed))
    return len(claimed)
