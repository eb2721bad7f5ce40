"""The push service, through `pywebpush`: the payload encrypted for the browser's keys
(RFC 8291, aes128gcm) and a VAPID JWT (RFC 8292, ES256) signed with the platform's key.
The push service's answer decides what happens next: 201 delivered; 404/410 the
subscription is gone for good; anything else (429, 5xx, no answer) is a failure to retry."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, cast

import aiohttp
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid
from pywebpush import WebPushException, webpush_async

from dracarys.errors import ServiceUnavailable

_GONE = frozenset({404, 410})
TIMEOUT_S = 30


class PushOutcome(StrEnum):
    DELIVERED = "delivered"
    GONE = "gone"


class PushService:
    """Sends to any push service a browser subscribed with (its endpoint names it)."""

    def __init__(self, private_key: ec.EllipticCurvePrivateKey, contact: str) -> None:
        self._vapid = Vapid(private_key)
        # The JWT's `sub`: how a push service's operator reaches us about our traffic.
        self._contact = contact

    async def send(
        self,
        *,
        endpoint: str,
        p256dh: str,
        auth: str,
        payload: bytes,
        ttl_s: int,
        urgency: str,
    ) -> PushOutcome:
        subscription: dict[str, Any] = {
            "endpoint": endpoint,
            "keys": {"p256dh": p256dh, "auth": auth},
        }
        try:
            await webpush_async(
                subscription_info=subscription,
                data=payload.decode(),
                vapid_private_key=self._vapid,
                # A fresh dict each call: pywebpush fills `aud` (the endpoint's origin)
                # and `exp` into the one it is given.
                vapid_claims={"sub": self._contact},
                content_encoding="aes128gcm",
                ttl=ttl_s,
                headers={"Urgency": urgency},
                timeout=cast("Any", aiohttp.ClientTimeout(total=TIMEOUT_S)),
            )
        except WebPushException as exc:
            status = exc.status_code
            if status in _GONE:
                return PushOutcome.GONE
            raise ServiceUnavailable(f"the push service answered {status}") from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ServiceUnavailable(f"the push service is unreachable: {exc!r}") from exc
        return PushOutcome.DELIVERED
