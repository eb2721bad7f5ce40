"""Stripe's webhook (signed), the admins' chargeback list and refunds to the card."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, Parameter
from litestar.status_codes import HTTP_200_OK

from dracarys import csv_export
from dracarys.edge import source_ip
from dracarys.identity import CurrentUser, Role, requires_role
from dracarys.platform import Platform
from dracarys.wallet.cards import service
from dracarys.wallet.cards.models import CardRefundResult, ChargebackView
from dracarys.wallet.models import RefundRequest


class CardsAdminController(Controller):
    path = "/api/v1/admin"
    tags = ("payments-admin",)
    guards = (requires_role(Role.ADMIN),)

    @get(
        "/chargebacks",
        operation_id="listChargebacks",
        summary="Card chargebacks: open ones first, then the latest decided",
    )
    async def chargebacks(
        self,
        platform: NamedDependency[Platform],
        limit: Annotated[int, Parameter(ge=1, le=500)] = 100,
    ) -> list[ChargebackView]:
        return await service.recent_chargebacks(platform, limit)

    chargebacks_csv = csv_export.download_route(chargebacks, ChargebackView, "chargebacks.csv")

    @post(
        "/deposits/{deposit_id:uuid}/refund",
        operation_id="refundCardDeposit",
        status_code=HTTP_200_OK,
        summary="Refund a card deposit to the card",
    )
    async def refund_card(
        self,
        deposit_id: FromPath[uuid.UUID],
        data: JSONBody[RefundRequest],
        platform: NamedDependency[Platform],
        idempotency_key: NamedDependency[str],
        current_user: NamedDependency[CurrentUser],
        request: Request[Any, Any, Any],
    ) -> CardRefundResult:
        status = await service.refund_card_deposit(
            platform,
            deposit_id,
            amount_minor=data.amount_minor,
            idempotency_key=idempotency_key,
            actor=current_user.id,
            source_ip=source_ip(request),
        )
        return CardRefundResult(status=status)


class StripeWebhookController(Controller):
    """No bearer token here: Stripe proves itself by its signature."""

    path = "/api/v1/webhooks"
    tags = ("webhooks",)

    @post("/stripe", operation_id="stripeWebhook", status_code=HTTP_200_OK)
    async def stripe(
        self, request: Request[Any, Any, Any], platform: NamedDependency[Platform]
    ) -> dict[str, bool]:
        payload = await request.body()
        signature = request.headers.get("stripe-signature", "")
        fresh = await service.handle_stripe_webhook(platform, payload, signature)
        return {"received": True, "duplicate": not fresh}


ROUTES: list[Any] = [CardsAdminController, StripeWebhookController]
