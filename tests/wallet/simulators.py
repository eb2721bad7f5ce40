"""The settings that point the payment adapters at the provider simulators. The
simulators themselves live in the product (`dracarys.payments.sandbox`, which `dracarys
up` also serves); they are re-exported here for suites written against this module."""

from __future__ import annotations

from dracarys.payments.sandbox import (
    B2COutcome,
    DarajaSimulator,
    HeldCall,
    StripeSimulator,
    parse_stripe_form,
    serve,
    stripe_signature,
)

__all__ = [
    "CALLBACK_TOKEN",
    "B2COutcome",
    "DarajaSimulator",
    "HeldCall",
    "StripeSimulator",
    "parse_stripe_form",
    "provider_env",
    "serve",
    "stripe_signature",
]

CALLBACK_TOKEN = "cb-secret-path-token-5f2a9c"


def provider_env(
    stripe: StripeSimulator, stripe_url: str, daraja: DarajaSimulator, daraja_url: str
) -> dict[str, str]:
    """The settings that point the payment adapters at the simulators (Stripe's list of
    webhook secrets keeps a rotated-out one in front, as after a rotation)."""
    return {
        "DRACARYS_STRIPE_API_KEY": stripe.api_key,
        "DRACARYS_STRIPE_API_BASE": stripe_url,
        "DRACARYS_STRIPE_WEBHOOK_SECRETS": ",".join(
            ["whsec_old_rotated_out", *stripe.webhook_secrets]
        ),
        "DRACARYS_DARAJA_BASE_URL": daraja_url,
        "DRACARYS_DARAJA_CONSUMER_KEY": daraja.consumer_key,
        "DRACARYS_DARAJA_CONSUMER_SECRET": daraja.consumer_secret,
        "DRACARYS_DARAJA_SHORTCODE": daraja.shortcode,
        "DRACARYS_DARAJA_PASSKEY": daraja.passkey,
        "DRACARYS_DARAJA_B2C_SHORTCODE": daraja.b2c_shortcode,
        "DRACARYS_DARAJA_B2C_INITIATOR": "dracarys_api",
        "DRACARYS_DARAJA_B2C_SECURITY_CREDENTIAL": "c2ltdWxhdG9yLWNyZWRlbnRpYWw=",
        "DRACARYS_DARAJA_CALLBACK_TOKEN": CALLBACK_TOKEN,
    }
