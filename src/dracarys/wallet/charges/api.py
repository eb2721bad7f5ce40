"""Paying from the wallet, and admins refunding a charge to it."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from dracarys.edge import source_ip
from dracarys.identity import CurrentUser, Role, authenticated, requires_role
from dracarys.platform import Platform
from dracarys.wallet.charges import service
from dracarys.wallet.charges.models import ChargeRefunded, ChargeRequest, ChargeView
from dracarys.wallet.models import RefundRequest


class ChargesController(Controller):
    path = "/api/v1/payments"
    tags = ("payments",)
    guards = (authenticated,)

    @post(
        "/charge",
        operation_id="chargeWallet",
        status_code=HTTP_201_CREATED,
        summary="Pay for a course, subscription, session or package",
    )
    async def charge(
        self,
        data: JSONBody[ChargeRequest],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
        idempotency_key: NamedDependency[str],
    ) -> ChargeView:
        return await service.charge(platform, current_user, data, idempotency_key)


class ChargesAdminController(Controller):
    path = "/api/v1/admin/charges"
    tags = ("payments-admin",)
    guards = (requires_role(Role.ADMIN),)

    @post(
        "/{charge_id:uuid}/refund",
        operation_id="refundCharge",
        status_code=HTTP_200_OK,
        summary="Refund (part of) a course or subscription charge to the wallet",
    )
    async def refund_charge(
        self,
        charge_id: FromPath[uuid.UUID],
        data: JSONBody[RefundRequest],
        platform: NamedDependency[Platform],
        idempotency_key: NamedDependency[str],
        current_user: NamedDependency[CurrentUser],
        request: Request[Any, Any, Any],
    ) -> ChargeRefunded:
        return await service.refund_charge(
            platform,
            charge_id,
            amount_minor=data.amount_minor,
            idempotency_key=idempotency_key,
            actor=current_user.id,
            source_ip=source_ip(request),
        )


ROUTES: list[Any] = [ChargesController, ChargesAdminController]
