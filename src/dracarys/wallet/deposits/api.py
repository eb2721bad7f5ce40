"""Starting a deposit, reading one, leaving its card checkout, the payment mode in force,
and M-Pesa's STK callback (on a URL carrying a secret path token)."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from dracarys.identity import CurrentUser, authenticated
from dracarys.platform import Platform
from dracarys.wallet.deposits import service
from dracarys.wallet.deposits.models import DepositRequest, DepositView, PaymentModeView
from dracarys.wallet.http import json_object


class DepositsController(Controller):
    path = "/api/v1"
    guards = (authenticated,)

    @post(
        "/wallets/{wallet_id:uuid}/deposits",
        operation_id="startWalletDeposit",
        status_code=HTTP_201_CREATED,
        summary="Top up through Stripe Checkout or M-Pesa",
        tags=["wallet"],
    )
    async def deposit(
        self,
        wallet_id: FromPath[uuid.UUID],
        data: JSONBody[DepositRequest],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
        idempotency_key: NamedDependency[str],
    ) -> DepositView:
        return await service.start_deposit(platform, current_user, wallet_id, data, idempotency_key)

    @get(
        "/deposits/{deposit_id:uuid}",
        operation_id="getDeposit",
        summary="A deposit",
        tags=["payments"],
    )
    async def get_deposit(
        self,
        deposit_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> DepositView:
        return await service.get_deposit(platform, current_user, deposit_id)

    @post(
        "/deposits/{deposit_id:uuid}/cancel",
        operation_id="cancelCardDeposit",
        status_code=HTTP_200_OK,
        summary="Leave a card top-up's checkout unpaid: the session closes, the deposit fails",
        tags=["payments"],
    )
    async def cancel_deposit(
        self,
        deposit_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> DepositView:
        return await service.cancel_card_deposit(platform, current_user, deposit_id)


class PaymentModeController(Controller):
    """Public: what a top-up form offers, and whether money is real, is no secret."""

    path = "/api/v1/payments"
    tags = ("payments",)

    @get(
        "/mode",
        operation_id="getPaymentMode",
        summary="The payment mode in force (sandbox, providers or unavailable)",
        sync_to_thread=False,
    )
    def mode(self, platform: NamedDependency[Platform]) -> PaymentModeView:
        return service.current_payment_mode(platform)


class DepositCallbacksController(Controller):
    """No bearer token here: Daraja proves itself by the secret path token, checked before
    the body is read."""

    path = "/api/v1/webhooks/mpesa/{token:str}"
    tags = ("webhooks",)

    @post("/stk", operation_id="mpesaStkCallback", status_code=HTTP_200_OK)
    async def stk(
        self,
        token: FromPath[str],
        request: Request[Any, Any, Any],
        platform: NamedDependency[Platform],
    ) -> dict[str, Any]:
        service.check_callback_token(platform.settings, token)
        await service.handle_stk_callback(platform, token, await json_object(request))
        return {"ResultCode": 0, "ResultDesc": "Accepted"}

    @post(
        "/stk/{deposit_id:uuid}",
        operation_id="mpesaStkCallbackForDeposit",
        status_code=HTTP_200_OK,
    )
    async def stk_for_deposit(
        self,
        token: FromPath[str],
        deposit_id: FromPath[uuid.UUID],
        request: Request[Any, Any, Any],
        platform: NamedDependency[Platform],
    ) -> dict[str, Any]:
        """The callback of a prompt pushed for one deposit, which its URL names."""
        service.check_callback_token(platform.settings, token)
        await service.handle_stk_callback(
            platform, token, await json_object(request), deposit_id=deposit_id
        )
        return {"ResultCode": 0, "ResultDesc": "Accepted"}


ROUTES: list[Any] = [DepositsController, PaymentModeController, DepositCallbacksController]
