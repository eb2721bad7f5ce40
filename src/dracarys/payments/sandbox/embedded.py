"""The payments sandbox as `dracarys up` runs it: both simulators served by the platform's
own server under /sandbox/ (outside the app's middleware: they are other sites, with their
own credentials), the settings that point the payment adapters at them, and the webhook
endpoint their events go to. It runs only where `sandbox_for` says so: `dracarys up`
outside production, with no payment provider configured."""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import msgspec
from litestar import Litestar, Router

from dracarys.payments.mode import (
    CHECKOUT_PAGE_PATH,
    DARAJA_SANDBOX_PATH,
    SANDBOX_PATH,
    STRIPE_SANDBOX_PATH,
    providers_configured,
)
from dracarys.payments.sandbox.daraja_sandbox import DarajaSimulator
from dracarys.payments.sandbox.stripe_sandbox import StripeSimulator
from dracarys.platform import Platform
from dracarys.settings import Settings

# ASGI, as the server calls it (lifespan scopes included).
Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

# Where the platform takes Stripe's events (the endpoint one registers in Stripe's
# dashboard).
STRIPE_WEBHOOK_PATH = "/api/v1/webhooks/stripe"


def internal_base(settings: Settings) -> str:
    """How the platform reaches its own server: the address it listens on, with a
    wildcard one read as loopback."""
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(  # noqa: S104
        settings.host, settings.host
    )
    try:
        if ipaddress.ip_address(host).version == 6:
            host = f"[{host}]"
    except ValueError:
        pass  # a name, such as localhost
    return f"http://{host}:{settings.port}"


@dataclass
class PaymentSandbox:
    stripe: StripeSimulator
    daraja: DarajaSimulator
    callback_token: str

    @classmethod
    def for_settings(cls, settings: Settings) -> PaymentSandbox:
        """Fresh credentials for this run; the pages at the public URL, the API and the
        webhooks on the server's own address."""
        public = settings.public_url.rstrip("/")
        internal = internal_base(settings)
        stripe = StripeSimulator(
            api_key=f"sk_test_sandbox_{secrets.token_hex(12)}",
            webhook_secrets=[f"whsec_sandbox_{secrets.token_hex(16)}"],
            checkout_base=f"{public}{STRIPE_SANDBOX_PATH}{CHECKOUT_PAGE_PATH}",
            webhook_url=f"{internal}{STRIPE_WEBHOOK_PATH}",
        )
        daraja = DarajaSimulator(
            consumer_key=secrets.token_hex(12),
            consumer_secret=secrets.token_hex(12),
            passkey=secrets.token_hex(32),
        )
        return cls(stripe=stripe, daraja=daraja, callback_token=secrets.token_urlsafe(24))

    def configure(self, settings: Settings) -> Settings:
        """`settings` with the payment adapters pointed at this sandbox."""
        internal = internal_base(settings)
        return msgspec.structs.replace(
            settings,
            payments_sandbox="on",
            stripe_api_key=self.stripe.api_key,
            stripe_webhook_secrets=",".join(self.stripe.webhook_secrets),
            stripe_api_base=f"{internal}{STRIPE_SANDBOX_PATH}",
            daraja_base_url=f"{internal}{DARAJA_SANDBOX_PATH}",
            daraja_consumer_key=self.daraja.consumer_key,
            daraja_consumer_secret=self.daraja.consumer_secret,
            daraja_shortcode=self.daraja.shortcode,
            daraja_passkey=self.daraja.passkey,
            daraja_b2c_shortcode=self.daraja.b2c_shortcode,
            daraja_b2c_initiator="dracarys_sandbox",
            daraja_b2c_security_credential=secrets.token_urlsafe(24),
            daraja_callback_token=self.callback_token,
        )

    def app(self) -> Litestar:
        return Litestar(
            [
                Router(STRIPE_SANDBOX_PATH, route_handlers=self.stripe.routes()),
                Router(DARAJA_SANDBOX_PATH, route_handlers=self.daraja.routes()),
            ],
            debug=False,
            openapi_config=None,
        )

    @asynccontextmanager
    async def running(self, _: Platform) -> AsyncIterator[None]:
        """Lifespan hook: at the end, stop delivering events and callbacks."""
        try:
            yield
        finally:
            await self.stripe.deliveries.close()
            await self.daraja.deliveries.close()


class SandboxedApp:
    """The ASGI app `dracarys up` serves with the sandbox: requests under /sandbox/ go to
    the sandbox, everything else (the lifespan included) to the platform."""

    def __init__(self, platform_app: Litestar, sandbox: PaymentSandbox) -> None:
        self.platform_app = platform_app
        self.sandbox = sandbox
        self._sandbox_app = sandbox.app()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if scope["type"] == "http" and (
            path == SANDBOX_PATH or path.startswith(f"{SANDBOX_PATH}/")
        ):
            await self._sandbox_app(scope, receive, send)  # type: ignore[arg-type]
            return
        await self.platform_app(scope, receive, send)  # type: ignore[arg-type]


def sandbox_for(settings: Settings) -> PaymentSandbox | None:
    """The sandbox `dracarys up` runs with these settings: None in production, when it is
    turned off, or when any payment provider setting is given."""
    if settings.payments_sandbox != "auto" or settings.env == "production":
        return None
    if providers_configured(settings):
        return None
    return PaymentSandbox.for_settings(settings)
