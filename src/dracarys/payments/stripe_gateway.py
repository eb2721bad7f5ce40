"""Stripe through the official SDK: hosted Checkout sessions (no card data touches us),
refunds, the fingerprint of the card a payment was made with, and webhook signature
verification against the platform clock.

Verification follows Stripe's scheme: `Stripe-Signature: t=<unix>,v1=<hex>,v1=<hex>`,
HMAC-SHA256 over `"<t>.<raw body>"`; any v1 signature made with any of our configured
secrets passes (Stripe sends one per active secret while a secret is being rolled), and
the timestamp must be within the tolerance of the platform clock."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, TypeVar

import msgspec
import stripe

from dracarys.errors import InvalidInput, ServiceUnavailable
from dracarys.settings import Settings

WEBHOOK_TOLERANCE_S = 300
_HEX_SHA256 = re.compile(r"[0-9a-f]{64}")


class WebhookRejected(InvalidInput):
    status = 400
    slug = "webhook-rejected"
    title = "Webhook rejected"


class StripeRefused(ServiceUnavailable):
    """Stripe answered that it will not do it (a 4xx): nothing was created."""


class StripeOutcomeUnknown(ServiceUnavailable):
    """No answer, or a server error: Stripe may have acted. Asking again with the same
    idempotency key replays what it did, if it did."""


# Stripe's refusals: the request was checked and turned down, so it did nothing.
_REFUSALS: tuple[type[stripe.StripeError], ...] = (
    stripe.InvalidRequestError,
    stripe.AuthenticationError,
    stripe.PermissionError,
    stripe.RateLimitError,
    stripe.CardError,
    stripe.IdempotencyError,
)


def _stripe_failure(what: str, exc: stripe.StripeError) -> ServiceUnavailable:
    message = exc.user_message or "no answer"
    if isinstance(exc, _REFUSALS):
        return StripeRefused(f"Stripe refused the {what}: {message}")
    return StripeOutcomeUnknown(f"Stripe did not answer the {what}: {message}")


@dataclass(frozen=True, slots=True)
class CheckoutSession:
    id: str
    url: str
    status: str = "open"


@dataclass(frozen=True, slots=True)
class StripeRefund:
    id: str
    status: str


# ---- the events we read, as types ----------------------------------------------------
#
# Only the fields the platform acts on; Stripe adds fields freely, so others are ignored.
# A body of another shape is refused with a 400 naming the field (Stripe retries and the
# log says why), so nothing downstream meets a surprise.

AmountMinor = Annotated[int, msgspec.Meta(ge=0, le=10**15)]
T = TypeVar("T")


class _EventData(msgspec.Struct, frozen=True):
    object: msgspec.Raw


class StripeEvent(msgspec.Struct, frozen=True):
    id: str
    kind: str = msgspec.field(name="type")  # e.g. "checkout.session.completed"
    data: _EventData = msgspec.field(name="data")

    def object_as(self, shape: type[T]) -> T:
        """`data.object` read as the object this event's type carries."""
        return _decode(self.data.object, shape, f"the object of a {self.kind} event")


class CheckoutSessionObject(msgspec.Struct, frozen=True):
    id: str
    client_reference_id: str | None = None
    metadata: dict[str, str] = {}
    payment_status: str | None = None
    amount_total: AmountMinor | None = None
    currency: str | None = None
    payment_intent: str | None = None


class DisputeObject(msgspec.Struct, frozen=True):
    id: str
    status: str
    payment_intent: str | None = None
    amount: AmountMinor | None = None
    currency: str | None = None
    reason: str | None = None


class RefundObject(msgspec.Struct, frozen=True):
    id: str
    status: str | None = None
    metadata: dict[str, str] = {}


def _decode(raw: bytes | msgspec.Raw, shape: type[T], what: str) -> T:
    try:
        return msgspec.json.decode(raw, type=shape)
    except msgspec.ValidationError as exc:
        raise WebhookRejected(f"the body is not {what}: {exc}") from None
    except (msgspec.DecodeError, UnicodeDecodeError):
        raise WebhookRejected("the body is not JSON") from None


def webhook_secrets(settings: Settings) -> list[str]:
    return [s.strip() for s in settings.stripe_webhook_secrets.split(",") if s.strip()]


def verify_webhook(
    payload: bytes,
    signature_header: str,
    secrets: Sequence[str],
    *,
    now: datetime,
    tolerance_s: int = WEBHOOK_TOLERANCE_S,
) -> StripeEvent:
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
        elif key == "v1" and _HEX_SHA256.fullmatch(value):
            # Anything else cannot match (and compare_digest refuses non-ASCII text).
            signatures.append(value)
    if timestamp is None or not signatures:
        raise WebhookRejected("the Stripe-Signature header is missing or malformed")
    signed = str(timestamp).encode() + b"." + payload
    expected = [hmac.new(s.encode(), signed, hashlib.sha256).hexdigest() for s in secrets]
    if not any(hmac.compare_digest(e, given) for e in expected for given in signatures):
        raise WebhookRejected("no signature matches the body")
    if abs(now.timestamp() - timestamp) > tolerance_s:
        raise WebhookRejected("the signature timestamp is outside the tolerance")
    return _decode(payload, StripeEvent, "a Stripe event")


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
            raise _stripe_failure("checkout", exc) from exc
        return CheckoutSession(id=session.id, url=session.url or "", status=session.status or "")

    async def expire_checkout(self, session_id: str) -> CheckoutSession:
        """Close an open checkout session so that it can no longer be paid (Stripe then
        sends `checkout.session.expired`). A session no longer open is a `StripeRefused`."""
        try:
            session = await self._client.v1.checkout.sessions.expire_async(session_id)
        except stripe.StripeError as exc:
            raise _stripe_failure("expiry of the checkout", exc) from exc
        return CheckoutSession(id=session.id, url=session.url or "", status=session.status or "")

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

    async def card_fingerprint(self, payment_intent: str) -> str | None:
        """Stripe's fingerprint of the card that paid `payment_intent` (the same for every
        payment with one card number on our account), read from the intent's latest
        charge (`expand[]=latest_charge`); None when it was not paid by card."""
        try:
            intent = await self._client.v1.payment_intents.retrieve_async(
                payment_intent, params={"expand": ["latest_charge"]}
            )
        except stripe.StripeError as exc:
            raise _stripe_failure("payment lookup", exc) from exc
        charge = intent.latest_charge
        if not isinstance(charge, stripe.Charge):
            return None
        details = charge.payment_method_details
        card = details.card if details is not None else None
        return (card.fingerprint or None) if card is not None else None
