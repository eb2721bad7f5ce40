"""Stripe through the official SDK: hosted Checkout sessions (no card data touches us),
refunds, and webhook signature verification against the platform clock.

Verification follows Stripe's scheme: `Stripe-Signature: t=<unix>,v1=<hex>,v1=<hex>`,
HMAC-SHA256 over `"<t>.<raw body>"`; any v1 signature made with any of our configured
secrets passes (Stripe sends one per active secret while a secret is being rolled), and
the timestamp must be within the tolerance of the platform clock."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec
import stripe

from dracarys.errors import InvalidInput, ServiceUnavailable
from dracarys.settings import Settings

WEBHOOK_TOLERANCE_S = 300


class WebhookRejected(InvalidInput):
    status = 400
    slug = "webhook-rejected"
    title = "Webhook rejected"


@dataclass(frozen=True, slots=True)
class CheckoutSession:
    id: str
    url: str


@dataclass(frozen=True, slots=True)
class StripeRefund:
    id: str
    status: str


def webhook_secrets(settings: Settings) -> list[str]:
    return [s.strip() for s in settings.stripe_webhook_secrets.split(",") if s.strip()]


def verify_webhook(
    payload: bytes,
    signature_header: str,
    secrets: Sequence[str],
    *,
    now: datetime,
    tolerance_s: int = WEBHOOK_TOLERANCE_S,
) -> dict[str, Any]:
    """The decoded event if the raw body carries a valid, fresh signature; otherwise a
    400 that says what was wrong (never which secret)."""
    if not secrets:
        raise ServiceUnavailable("Stripe webhooks are not configured")
    timestamp: int | None = None
    signatures: list[str] = []
    for part in signature_header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1" and value:
            signatures.append(value)
    if timestamp is None or not signatures:
        raise WebhookRejected("the Stripe-Signature header is missing or malformed")
    signed = str(timestamp).encode() + b"." + payload
    expected = [hmac.new(s.encode(), signed, hashlib.sha256).hexdigest() for s in secrets]
    if not any(hmac.compare_digest(e, given) for e in expected for given in signatures):
        raise WebhookRejected("no signature matches the body")
    if abs(now.timestamp() - timestamp) > tolerance_s:
        raise WebhookRejected("the signature timestamp is outside the tolerance")
    try:
        event = msgspec.json.decode(payload)
    except msgspec.DecodeError as exc:
        raise WebhookRejected("the body is not JSON") from exc
    if not isinstance(event, dict) or not isinstance(event.get("id"), str):
        raise WebhookRejected("the body is not a Stripe event")
    return event


class StripeGateway:
    def __init__(self, settings: Settings) -> None:
        if not settings.stripe_api_key:
            raise ServiceUnavailable("card payments are not configured")
        self._client = stripe.StripeClient(
            settings.stripe_api_key,
            base_addresses={"api": settings.stripe_api_base},
            http_client=stripe.HTTPXClient(),
            max_network_retries=2,
        )

    async def create_checkout(
        self,
        *,
        deposit_id: str,
        user_id: str,
        amount_minor: int,
        currency: str,
        success_url: str,
        cancel_url: str,
        idempotency_key: str,
    ) -> CheckoutSession:
        try:
            session = await self._client.v1.checkout.sessions.create_async(
                params={
                    "mode": "payment",
                    "client_reference_id": deposit_id,
                    "success_url": success_url,
                    "cancel_url": cancel_url,
                    "line_items": [
                        {
                            "quantity": 1,
                            "price_data": {
                                "currency": currency.lower(),
                                "unit_amount": amount_minor,
                                "product_data": {"name": "Dracarys wallet top-up"},
                            },
                        }
                    ],
                    "metadata": {"deposit_id": deposit_id, "user_id": user_id},
                    "payment_intent_data": {"metadata": {"deposit_id": deposit_id}},
                },
                options={"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as exc:
            raise ServiceUnavailable(f"Stripe refused the checkout: {exc.user_message}") from exc
        return CheckoutSession(id=session.id, url=session.url or "")

    async def refund(
        self, *, payment_intent: str, amount_minor: int, refund_id: str, idempotency_key: str
    ) -> StripeRefund:
        try:
            refund = await self._client.v1.refunds.create_async(
                params={
                    "payment_intent": payment_intent,
                    "amount": amount_minor,
                    "metadata": {"refund_id": refund_id},
                },
                options={"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as exc:
            raise ServiceUnavailable(f"Stripe refused the refund: {exc.user_message}") from exc
        return StripeRefund(id=refund.id, status=refund.status or "pending")
