"""Adapters to the payment providers we cannot reach from tests: Stripe (cards, through
the official SDK) and Safaricom M-Pesa Daraja (httpx). Each speaks the provider's own wire
format; the wallet's services decide what a result means for money. The wallet imports
them from here."""

from dracarys.payments.daraja import (
    DarajaError,
    DarajaGateway,
    DarajaOutcomeUnknown,
    StkCallback,
    b2c_paid_minor,
    check_callback_token,
    normalise_phone,
    read_result,
    read_stk_callback,
    read_stored_stk_callback,
    result_as_received,
    stk_callback_as_received,
    transaction_status_answer,
    whole_shillings,
)
from dracarys.payments.stripe_gateway import (
    CheckoutSessionObject,
    DisputeObject,
    RefundObject,
    StripeEvent,
    StripeGateway,
    verify_webhook,
    webhook_secrets,
)

__all__ = [
    "CheckoutSessionObject",
    "DarajaError",
    "DarajaGateway",
    "DarajaOutcomeUnknown",
    "DisputeObject",
    "RefundObject",
    "StkCallback",
    "StripeEvent",
    "StripeGateway",
    "b2c_paid_minor",
    "check_callback_token",
    "normalise_phone",
    "read_result",
    "read_stk_callback",
    "read_stored_stk_callback",
    "result_as_received",
    "stk_callback_as_received",
    "transaction_status_answer",
    "verify_webhook",
    "webhook_secrets",
    "whole_shillings",
]
