"""The payments sandbox: local stand-ins for Stripe and M-Pesa Daraja that speak their
real wire formats (requests, answers, signed webhooks, callback bodies, result codes),
with the pages a person uses where the providers have theirs: Stripe's hosted checkout
(test cards only) and a phone that answers STK pushes. No real money moves.

`dracarys up` serves it under /sandbox/ when no payment provider is configured
(`sandbox_for`, `SandboxedApp`); the test suites run the simulators on local ports
(`serve`) and drive them directly."""

from dracarys.payments.sandbox.daraja_sandbox import STK_RESULTS, B2COutcome, DarajaSimulator
from dracarys.payments.sandbox.embedded import (
    STRIPE_WEBHOOK_PATH,
    PaymentSandbox,
    SandboxedApp,
    internal_base,
    sandbox_for,
)
from dracarys.payments.sandbox.serving import Deliveries, DeliveryAttempt, HeldCall, serve
from dracarys.payments.sandbox.stripe_sandbox import (
    TEST_CARDS,
    StripeSimulator,
    card_problem,
    parse_stripe_form,
    stripe_signature,
)

__all__ = [
    "STK_RESULTS",
    "STRIPE_WEBHOOK_PATH",
    "TEST_CARDS",
    "B2COutcome",
    "DarajaSimulator",
    "Deliveries",
    "DeliveryAttempt",
    "HeldCall",
    "PaymentSandbox",
    "SandboxedApp",
    "StripeSimulator",
    "card_problem",
    "internal_base",
    "parse_stripe_form",
    "sandbox_for",
    "serve",
    "stripe_signature",
]
