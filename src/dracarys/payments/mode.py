"""Which payment mode is active: real providers (Stripe and M-Pesa Daraja, as configured),
the local sandbox `dracarys up` runs when none is configured, or none at all; and where the
sandbox serves its pages. The sandbox itself (`dracarys.payments.sandbox`) is wired by the
composition root; the platform only reads what the settings say."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from dracarys.settings import Settings

# Where the sandbox is served, under the app's own origin.
SANDBOX_PATH = "/sandbox"
STRIPE_SANDBOX_PATH = f"{SANDBOX_PATH}/stripe"
DARAJA_SANDBOX_PATH = f"{SANDBOX_PATH}/mpesa"
# The sandbox's pages: Stripe's hosted checkout (one per session) and the M-Pesa phone.
CHECKOUT_PAGE_PATH = "/checkout"
PHONE_PAGE_PATH = "/phone"

# The settings that name a payment provider: any one of them set means a provider is
# configured, and the sandbox stays off (it never mixes with a real provider).
PROVIDER_SETTINGS = (
    "stripe_api_key",
    "stripe_webhook_secrets",
    "stripe_api_base",
    "daraja_base_url",
    "daraja_consumer_key",
    "daraja_consumer_secret",
    "daraja_passkey",
    "daraja_b2c_initiator",
    "daraja_b2c_security_credential",
    "daraja_callback_token",
)

PaymentModeName = Literal["sandbox", "providers", "unavailable"]


@dataclass(frozen=True, slots=True)
class PaymentMode:
    """`sandbox`: the local stand-ins take every payment and no real money moves;
    `providers`: the configured Stripe and M-Pesa accounts do; `unavailable`: neither."""

    mode: PaymentModeName
    card_available: bool
    mpesa_available: bool
    sandbox_phone_url: str | None  # the sandbox's M-Pesa phone page, in sandbox mode


def providers_configured(settings: Settings) -> list[str]:
    """The provider settings given a value other than their default."""
    defaults = Settings()
    return [
        name for name in PROVIDER_SETTINGS if getattr(settings, name) != getattr(defaults, name)
    ]


def card_payments_configured(settings: Settings) -> bool:
    return bool(settings.stripe_api_key and settings.stripe_webhook_secrets.strip(" ,"))


def mpesa_configured(settings: Settings) -> bool:
    return bool(
        settings.daraja_consumer_key
        and settings.daraja_consumer_secret
        and settings.daraja_passkey
        and settings.daraja_callback_token
    )


def payment_mode(settings: Settings) -> PaymentMode:
    card = card_payments_configured(settings)
    mpesa = mpesa_configured(settings)
    if settings.payments_sandbox == "on":
        phone = f"{settings.public_url.rstrip('/')}{DARAJA_SANDBOX_PATH}{PHONE_PAGE_PATH}"
        return PaymentMode("sandbox", card, mpesa, phone)
    return PaymentMode("providers" if card or mpesa else "unavailable", card, mpesa, None)
