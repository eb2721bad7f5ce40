"""Wallet, payment, escrow and payout endpoints, and the providers' webhooks (Stripe's
signed JSON; Daraja's callbacks on URLs carrying a secret path token)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, Parameter, PathParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from dracarys.db import transaction
from dracarys.errors import InvalidInput, NotFound
from dracarys.idempotency import IdempotencyKey
from dracarys.identity.access import CurrentUser, Role, authenticated, requires_role
from dracarys.models import Input
from dracarys.platform import Platform
from dracarys.wallet import escrow, invoices, payouts, service, store
from dracarys.wallet.models import (
    BankTransferRecord,
    ChargebackView,
    ChargeRequest,
    ChargeView,
    DepositRequest,
    DepositView,
    DisputeRequest,
    DisputeResolution,
    DisputeView,
    EscrowView,
    InvoiceView,
    PayoutReviewDecision,
    PayoutView,
    WalletBalances,
    WalletHistory,
    WithdrawRequest,
)


class RefundRequest(Input):
    amount_minor: Annotated[int, msgspec.Meta(gt=0)]
    idempotency_key: IdempotencyKey | None = None  # or the Idempotency-Key header


class CardRefundResult(msgspec.Struct):
    status: str


class WalletController(Controller):
    path = "/api/v1/wallets"
    tags = ("wallet",)
    guards = (authenticated,)

    @get("/{wallet_id:uuid}/balances", operation_id="getWalletBalances", summary="Balances")
    async def balances(
        self,
        wallet_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> WalletBalances:
        if not current_user.may_read_as_owner(wallet_id):
            raise NotFound("no such wallet", field="wallet_id")
        async with platform.pool.acquire() as conn:
            return await service.wallet_balances(conn, wallet_id)

    @get("/{wallet_id:uuid}/history", operation_id="getWalletHistory", summary="History")
    async def history(
        self,
        wallet_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
        currency: FromQuery[str] = "KES",
        cursor: FromQuery[str | None] = None,
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
    ) -> WalletHistory:
        if not current_user.may_read_as_owner(wallet_id):
            raise NotFound("no such wallet", field="wallet_id")
        async with platform.pool.acquire() as conn:
            return await service.wallet_history(
                conn, wallet_id, currency, cursor=cursor, limit=limit
            )

    @post(
        "/{wallet_id:uuid}/deposits",
        operation_id="startWalletDeposit",
        status_code=HTTP_201_CREATED,
        summary="Top up through Stripe Checkout or M-Pesa",
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

    @post(
        "/{wallet_id:uuid}/withdraw",
        operation_id="withdrawFromWallet",
        status_code=HTTP_201_CREATED,
        summary="Withdraw to M-Pesa or a bank account",
    )
    async def withdraw(
        self,
        wallet_id: FromPath[uuid.UUID],
        data: JSONBody[WithdrawRequest],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
        idempotency_key: NamedDependency[str],
    ) -> PayoutView:
        return await payouts.request_withdrawal(
            platform, current_user, wallet_id, data, idempotency_key
        )


class PaymentsController(Controller):
    path = "/api/v1"
    tags = ("payments",)
    guards = (authenticated,)

    @post(
        "/payments/charge",
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

    @get("/deposits/{deposit_id:uuid}", operation_id="getDeposit", summary="A deposit")
    async def get_deposit(
        self,
        deposit_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> DepositView:
        return await service.get_deposit(platform, current_user, deposit_id)

    @get("/payouts/{payout_id:uuid}", operation_id="getPayout", summary="A payout")
    async def get_payout(
        self,
        payout_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> PayoutView:
        return await payouts.get_payout(platform, current_user, payout_id)

    @get("/invoices", operation_id="listMyInvoices", summary="My invoices and receipts")
    async def my_invoices(
        self, platform: NamedDependency[Platform], current_user: NamedDependency[CurrentUser]
    ) -> list[InvoiceView]:
        async with platform.pool.acquire() as conn:
            rows = await store.invoices_of_user(conn, current_user.id)
        return [invoices.invoice_view(r) for r in rows]

    @get(
        "/invoices/{invoice_id:uuid}/pdf",
        operation_id="downloadInvoicePdf",
        summary="Invoice and receipt as PDF",
        media_type="application/pdf",
    )
    async def invoice_pdf(
        self,
        invoice_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> Response[bytes]:
        async with platform.pool.acquire() as conn:
            invoice = await invoices.invoice_document(conn, platform.settings, invoice_id)
        if invoice is None or not current_user.may_read_as_owner(invoice["user_id"]):
            raise NotFound("no such invoice", field="invoice_id")
        return Response(
            invoices.render_invoice_pdf(invoice),
            media_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="{invoice["number"]}.pdf"'},
        )

    @get("/escrows/{escrow_id:uuid}", operation_id="getEscrow", summary="An escrow")
    async def get_escrow(
        self,
        escrow_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> EscrowView:
        async with platform.pool.acquire() as conn:
            row = await store.get_escrow(conn, escrow_id)
        # Its payer, its mentor and staff; not observers: an escrow says who pays which
        # mentor for which booking.
        if row is None or not (
            current_user.id in (row["payer_id"], row["mentor_id"]) or current_user.is_staff
        ):
            raise NotFound("no such escrow", field="escrow_id")
        return escrow.escrow_view(row)

    @post(
        "/escrows/{escrow_id:uuid}/disputes",
        operation_id="disputeEscrow",
        status_code=HTTP_201_CREATED,
        summary="Dispute money held in escrow (or add evidence)",
    )
    async def dispute(
        self,
        escrow_id: FromPath[uuid.UUID],
        data: JSONBody[DisputeRequest],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> DisputeView:
        async with transaction(platform.pool) as conn:
            return await escrow.open_dispute(
                conn,
                escrow_id,
                opened_by=current_user.id,
                reason=data.reason,
                evidence=list(data.evidence),
                now=platform.clock.now(),
            )


class PaymentsAdminController(Controller):
    path = "/api/v1/admin"
    tags = ("payments-admin",)
    guards = (requires_role(Role.ADMIN),)

    @get("/disputes", operation_id="listOpenDisputes", summary="The disputes queue")
    async def disputes(self, platform: NamedDependency[Platform]) -> list[DisputeView]:
        async with platform.pool.acquire() as conn:
            return await escrow.list_open_disputes(conn)

    @post(
        "/disputes/{dispute_id:uuid}/resolve",
        operation_id="resolveDispute",
        status_code=HTTP_200_OK,
        summary="Decide a dispute; the refund goes back, the rest is released",
    )
    async def resolve(
        self,
        dispute_id: FromPath[uuid.UUID],
        data: JSONBody[DisputeResolution],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> DisputeView:
        async with transaction(platform.pool) as conn:
            return await escrow.resolve_dispute(
                conn,
                dispute_id,
                admin_id=current_user.id,
                refund_minor=data.refund_minor,
                note=data.note,
                settings=platform.settings,
                now=platform.clock.now(),
            )

    @post(
        "/payouts/{payout_id:uuid}/bank-transfer",
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
        return await payouts.record_bank_transfer(
            platform, current_user, payout_id, data.bank_reference, source_ip=_source_ip(request)
        )

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
        async with platform.pool.acquire() as conn:
            return await service.recent_chargebacks(conn, limit)

    @get(
        "/payouts/queue",
        operation_id="listPayoutsAwaitingAdmin",
        summary="Payouts held for review, bank transfers to make, M-Pesa sends stuck in flight",
    )
    async def payout_queue(self, platform: NamedDependency[Platform]) -> list[PayoutView]:
        return await payouts.payouts_awaiting_admin(platform)

    @post(
        "/payouts/{payout_id:uuid}/review",
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
        return await payouts.resolve_payout_review(
            platform,
            current_user,
            payout_id,
            data.outcome,
            data.note,
            source_ip=_source_ip(request),
        )

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
    ) -> CardRefundResult:
        status = await service.refund_card_deposit(
            platform,
            deposit_id,
            amount_minor=data.amount_minor,
            idempotency_key=idempotency_key,
        )
        return CardRefundResult(status=status)

    @post(
        "/charges/{charge_id:uuid}/refund",
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
    ) -> dict[str, Any]:
        return await service.refund_charge(
            platform,
            charge_id,
            amount_minor=data.amount_minor,
            idempotency_key=idempotency_key,
        )

    @get(
        "/tax-exports/{year:int}/{month:int}",
        operation_id="monthlyTaxExport",
        summary="Every invoice of a month as CSV",
        media_type="text/csv",
    )
    async def tax_export(
        self,
        year: Annotated[int, PathParameter(ge=2000, le=9999)],
        month: Annotated[int, PathParameter(ge=1, le=12)],
        platform: NamedDependency[Platform],
    ) -> Response[bytes]:
        async with platform.pool.acquire() as conn:
            body = await invoices.monthly_tax_export(conn, year, month)
        return Response(
            body,
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="vat-{year}-{month:02d}.csv"'},
        )


class PaymentWebhooksController(Controller):
    """No bearer token here: Stripe proves itself by signature, Daraja by the secret path."""

    path = "/api/v1/webhooks"
    tags = ("webhooks",)
    include_in_schema = True

    @post("/stripe", operation_id="stripeWebhook", status_code=HTTP_200_OK)
    async def stripe(
        self, request: Request[Any, Any, Any], platform: NamedDependency[Platform]
    ) -> dict[str, bool]:
        payload = await request.body()
        signature = request.headers.get("stripe-signature", "")
        fresh = await service.handle_stripe_webhook(platform, payload, signature)
        return {"received": True, "duplicate": not fresh}

    @post("/mpesa/{token:str}/stk", operation_id="mpesaStkCallback", status_code=HTTP_200_OK)
    async def stk(
        self,
        token: FromPath[str],
        request: Request[Any, Any, Any],
        platform: NamedDependency[Platform],
    ) -> dict[str, Any]:
        service.check_callback_token(platform.settings, token)
        await service.handle_stk_callback(platform, token, await _json(request))
        return {"ResultCode": 0, "ResultDesc": "Accepted"}

    @post(
        "/mpesa/{token:str}/stk/{deposit_id:uuid}",
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
        service.check_callback_token(platform.settings, token)
        await service.handle_stk_callback(
            platform, token, await _json(request), deposit_id=deposit_id
        )
        return {"ResultCode": 0, "ResultDesc": "Accepted"}

    @post("/mpesa/{token:str}/b2c/result", operation_id="mpesaB2cResult", status_code=HTTP_200_OK)
    async def b2c_result(
        self,
        token: FromPath[str],
        request: Request[Any, Any, Any],
        platform: NamedDependency[Platform],
    ) -> dict[str, Any]:
        service.check_callback_token(platform.settings, token)
        await payouts.handle_b2c_result(platform, token, await _json(request), queue_timeout=False)
        return {"ResultCode": 0, "ResultDesc": "Accepted"}

    @post("/mpesa/{token:str}/b2c/timeout", operation_id="mpesaB2cTimeout", status_code=HTTP_200_OK)
    async def b2c_timeout(
        self,
        token: FromPath[str],
        request: Request[Any, Any, Any],
        platform: NamedDependency[Platform],
    ) -> dict[str, Any]:
        service.check_callback_token(platform.settings, token)
        await payouts.handle_b2c_result(platform, token, await _json(request), queue_timeout=True)
        return {"ResultCode": 0, "ResultDesc": "Accepted"}

    @post(
        "/mpesa/{token:str}/b2c/status/{originator_id:str}",
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
        service.check_callback_token(platform.settings, token)
        await payouts.handle_status_result(
            platform, token, originator_id, await _json(request), queue_timeout=False
        )
        return {"ResultCode": 0, "ResultDesc": "Accepted"}

    @post(
        "/mpesa/{token:str}/b2c/status/{originator_id:str}/timeout",
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
        service.check_callback_token(platform.settings, token)
        await payouts.handle_status_result(
            platform, token, originator_id, await _json(request), queue_timeout=True
        )
        return {"ResultCode": 0, "ResultDesc": "Accepted"}


def _source_ip(request: Request[Any, Any, Any]) -> str | None:
    return request.client.host if request.client else None


async def _json(request: Request[Any, Any, Any]) -> dict[str, Any]:
    body = await request.json()
    if not isinstance(body, dict):
        raise InvalidInput("the body is not a JSON object", field="body")
    return body


WALLET_CONTROLLERS: list[Any] = [
    WalletController,
    PaymentsController,
    PaymentsAdminController,
    PaymentWebhooksController,
]
