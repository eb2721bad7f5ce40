"""Withdrawals, the rules they meet, a wallet's payouts, a payout's state, the admins'
payout queue and decisions, and M-Pesa's B2C and transaction-status callbacks (on URLs
carrying a secret path token)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from dracarys import csv_export
from dracarys.edge import source_ip
from dracarys.identity import CurrentUser, Role, authenticated, requires_role
from dracarys.platform import Platform
from dracarys.wallet.http import json_object
from dracarys.wallet.payouts import mpesa, service
from dracarys.wallet.payouts.models import (
    BankTransferRecord,
    PayoutReviewDecision,
    PayoutView,
    WithdrawalPolicy,
    WithdrawRequest,
)

_ACCEPTED = {"ResultCode": 0, "ResultDesc": "Accepted"}


class PayoutsController(Controller):
    path = "/api/v1"
    guards = (authenticated,)

    @post(
        "/wallets/{wallet_id:uuid}/withdraw",
        operation_id="withdrawFromWallet",
        status_code=HTTP_201_CREATED,
        summary="Withdraw to M-Pesa or a bank account",
        tags=["wallet"],
    )
    async def withdraw(
        self,
        wallet_id: FromPath[uuid.UUID],
        data: JSONBody[WithdrawRequest],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
        idempotency_key: NamedDependency[str],
    ) -> PayoutView:
        return await service.request_withdrawal(
            platform, current_user, wallet_id, data, idempotency_key
        )

    @get(
        "/wallets/{wallet_id:uuid}/payouts",
        operation_id="listWalletPayouts",
        summary="A wallet's withdrawals and payouts, newest first",
        tags=["wallet"],
    )
    async def wallet_payouts(
        self,
        wallet_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
        limit: Annotated[int, Parameter(ge=1, le=100)] = 20,
    ) -> list[PayoutView]:
        return await service.wallet_payouts(platform, current_user, wallet_id, limit)

    @get(
        "/wallets/{wallet_id:uuid}/withdrawal-policy",
        operation_id="getWithdrawalPolicy",
        summary="The KYC level, step-up threshold and daily limits a withdrawal meets",
        tags=["wallet"],
    )
    async def withdrawal_policy(
        self,
        wallet_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> WithdrawalPolicy:
        return await service.withdrawal_policy(platform, current_user, wallet_id)

    @get(
        "/payouts/{payout_id:uuid}", operation_id="getPayout", summary="A payout", tags=["payments"]
    )
    async def get_payout(
        self,
        payout_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> PayoutView:
        return await service.get_payout(platform, current_user, payout_id)


class PayoutsAdminController(Controller):
    path = "/api/v1/admin/payouts"
    tags = ("payments-admin",)
    guards = (requires_role(Role.ADMIN),)

    @post(
        "/{payout_id:uuid}/bank-transfer",
        operation_id="recordBankTransfer",
        status_code=HTTP_200_OK,
        summary="Record that a bank payout was sent",
    )
    async def bank_transfer(
        self,
        payout_id: FromPath[uuid.UUID],
        data: JSONBody[BankTransferRecord],
        request: Request[Any, Any, Any],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> PayoutView:
        return await service.record_bank_transfer(
            platform, current_user, payout_id, data.bank_reference, source_ip=source_ip(request)
        )

    @get(
        "/queue",
        operation_id="listPayoutsAwaitingAdmin",
        summary="Payouts held for review, bank transfers to make, M-Pesa sends stuck in flight",
    )
    async def payout_queue(self, platform: NamedDependency[Platform]) -> list[PayoutView]:
        return await service.payouts_awaiting_admin(platform)

    payout_queue_csv = csv_export.download_route(payout_queue, PayoutView, "payouts.csv")

    @post(
        "/{payout_id:uuid}/review",
        operation_id="resolvePayoutReview",
        status_code=HTTP_200_OK,
        summary="Settle a payout held for review or stuck in flight, after checking M-Pesa",
    )
    async def resolve_review(
        self,
        payout_id: FromPath[uuid.UUID],
        data: JSONBody[PayoutReviewDecision],
        request: Request[Any, Any, Any],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> PayoutView:
        return await service.resolve_payout_review(
            platform,
            current_user,
            payout_id,
            data.outcome,
            data.note,
            source_ip=source_ip(request),
        )


class PayoutCallbacksController(Controller):
    """No bearer token here: Daraja proves itself by the secret path token, checked before
    the body is read."""

    path = "/api/v1/webhooks/mpesa/{token:str}"
    tags = ("webhooks",)

    @post("/b2c/result", operation_id="mpesaB2cResult", status_code=HTTP_200_OK)
    async def b2c_result(
        self,
        token: FromPath[str],
        request: Request[Any, Any, Any],
        platform: NamedDependency[Platform],
    ) -> dict[str, Any]:
        mpesa.check_callback_token(platform.settings, token)
        await mpesa.handle_b2c_result(
            platform, token, await json_object(request), queue_timeout=False
        )
        return _ACCEPTED

    @post("/b2c/timeout", operation_id="mpesaB2cTimeout", status_code=HTTP_200_OK)
    async def b2c_timeout(
        self,
        token: FromPath[str],
        request: Request[Any, Any, Any],
        platform: NamedDependency[Platform],
    ) -> dict[str, Any]:
        mpesa.check_callback_token(platform.settings, token)
        await mpesa.handle_b2c_result(
            platform, token, await json_object(request), queue_timeout=True
        )
        return _ACCEPTED

    @post(
        "/b2c/status/{originator_id:str}",
        operation_id="mpesaTransactionStatusResult",
        status_code=HTTP_200_OK,
    )
    async def status_result(
        self,
        token: FromPath[str],
        originator_id: FromPath[str],
        request: Request[Any, Any, Any],
        platform: NamedDependency[Platform],
    ) -> dict[str, Any]:
        mpesa.check_callback_token(platform.settings, token)
        await mpesa.handle_status_result(
            platform, token, originator_id, await json_object(request), queue_timeout=False
        )
        return _ACCEPTED

    @post(
        "/b2c/status/{originator_id:str}/timeout",
        operation_id="mpesaTransactionStatusTimeout",
        status_code=HTTP_200_OK,
    )
    async def status_timeout(
        self,
        token: FromPath[str],
        originator_id: FromPath[str],
        request: Request[Any, Any, Any],
        platform: NamedDependency[Platform],
    ) -> dict[str, Any]:
        mpesa.check_callback_token(platform.settings, token)
        await mpesa.handle_status_result(
            platform, token, originator_id, await json_object(request), queue_timeout=True
        )
        return _ACCEPTED


ROUTES: list[Any] = [PayoutsController, PayoutsAdminController, PayoutCallbacksController]
