"""Adapters to the payment providers we cannot reach from tests: Stripe (cards, through
the official SDK) and Safaricom M-Pesa Daraja (httpx). Each speaks the provider's own wire
format; the wallet's services decide what a result means for money. The wallet imports
them from here, with the payment mode in force (`mode`). The local sandbox that stands in
for both (`dracarys.payments.sandbox`) is wired by the composition root only."""

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
from dracarys.payments.mode import PaymentMode, payment_mode
from dracarys.payments.stripe_gateway import (
    CheckoutSessionObject,
    DisputeObject,
    RefundObject,
    StripeEvent,
    StripeGateway,
    StripeOutcomeUnknown,
    StripeRefused,
    verify_webhook,
    webhook_secrets,
)

__all__ = [
    "CheckoutSessionObject",
    "DarajaError",
    "DarajaGateway",
    "DarajaOutcomeUnknown",
    "DisputeObject",
    "PaymentMode",
    "RefundObject",
    "StkCallback",
    "StripeEvent",
    "StripeGateway",
    "StripeOutcomeUnknown",
    "StripeRefused",
    "b2c_paid_minor",
    "check_callback_token",
    "normalise_phone",
    "payment_mode",
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
