"""TradingView alerts' HTTP routes: the public webhook TradingView posts to (its secret
token in the path, no bearer token), and under /api/v1/trading the mentor's own webhook
(issue or rotate, revoke, status with the alert template) and the alerts it received.
Handlers call services only."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from dracarys.identity import CurrentUser, Role, authenticated, requires_role
from dracarys.platform import Platform
from dracarys.trading.alerts import service
from dracarys.trading.alerts.models import (
    ALERT_MAX_BYTES,
    ALERT_TEMPLATE,
    AlertReceipt,
    IssuedWebhook,
    ReceivedAlert,
    WebhookStatus,
)

HOOK_DESCRIPTION = f"""\
TradingView posts here when an alert fires. Create the URL on the TradingView alerts page
(or `issueAlertWebhook`), set it as the alert's webhook URL, and paste this template into
the alert's Message box (TradingView fills the `{{{{placeholders}}}}`):

```json
{ALERT_TEMPLATE}
```

The body is read as JSON whatever its `Content-Type` (TradingView sends `text/plain`),
at most {ALERT_MAX_BYTES} bytes. `side` is `buy` or `sell` (any case), `symbol` an
instrument of the platform, `price` a positive number (text is accepted);
`stop_loss`, `take_profit`, `comment` (the signal's rationale), `size_hint_pct` and
`alert_id` are optional, and no other field is accepted. `time` (ISO 8601 with a zone)
more than `alert_max_age_s` old refuses the alert as stale.

- **201**: broadcast as a signal to the mentor's feed.
- **200**: a duplicate (same `alert_id`, or the same payload without one, as a broadcast
  within the de-duplication window): the first alert's receipt, nothing broadcast again.
- **404**: no such webhook (never was, rotated or revoked).
- **422**: a problem naming the field; **429**: over the mentor's alerts a minute.
"""


class AlertHookController(Controller):
    """No bearer token: the secret path token is the credential."""

    path = service.HOOK_PATH
    tags = ["alerts"]  # noqa: RUF012 (Litestar declares it as an instance attribute)

    @post(
        "/{token:str}",
        operation_id="receiveTradingViewAlert",
        summary="A TradingView alert in: broadcast as the webhook's mentor's signal",
        description=HOOK_DESCRIPTION,
        request_max_body_size=ALERT_MAX_BYTES,
        status_code=HTTP_201_CREATED,
    )
    async def receive(
        self,
        token: FromPath[str],
        request: Request[Any, Any, Any],
        platform: NamedDependency[Platform],
    ) -> Response[AlertReceipt]:
        receipt = await service.receive_alert(platform, token, request.json)
        return Response(receipt, status_code=HTTP_200_OK if receipt.duplicate else HTTP_201_CREATED)


class AlertWebhookController(Controller):
    path = "/api/v1/trading"
    tags = ["alerts"]  # noqa: RUF012
    guards = [authenticated, requires_role(Role.MENTOR)]  # noqa: RUF012

    @get(
        "/alert-webhook",
        operation_id="getAlertWebhook",
        summary="Your TradingView alert webhook (never its token) and the alert template",
    )
    async def status(
        self, platform: NamedDependency[Platform], current_user: NamedDependency[CurrentUser]
    ) -> WebhookStatus:
        return await service.webhook_status(platform, current_user)

    @post(
        "/alert-webhook",
        operation_id="issueAlertWebhook",
        status_code=HTTP_201_CREATED,
        summary="A new secret webhook URL, shown once; the previous one stops working",
    )
    async def issue(
        self, platform: NamedDependency[Platform], current_user: NamedDependency[CurrentUser]
    ) -> IssuedWebhook:
        return await service.issue_webhook(platform, current_user)

    @delete(
        "/alert-webhook",
        operation_id="revokeAlertWebhook",
        status_code=HTTP_200_OK,
        summary="Revoke your webhook URL: alerts sent to it are refused (404)",
    )
    async def revoke(
        self, platform: NamedDependency[Platform], current_user: NamedDependency[CurrentUser]
    ) -> WebhookStatus:
        return await service.revoke_webhook(platform, current_user)

    @get(
        "/alerts",
        operation_id="listReceivedAlerts",
        summary="The alerts your webhook received, newest first, with their outcomes",
    )
    async def received(
        self,
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
        limit: int = Parameter(default=50, ge=1, le=200),
    ) -> list[ReceivedAlert]:
        return await service.recent_alerts(platform, current_user, limit)


ROUTES: list[Any] = [AlertHookController, AlertWebhookController]
