"""Charges: paying for a course, subscription, session or package from the wallet, with a
VAT invoice (sessions and packages go into escrow for the mentor), and refunding a course
or subscription charge back to the wallet. Each is one idempotent operation. Before any
of them, `quote_payment` says what a payment would charge, with nothing reserved."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec

from dracarys.db import Connection, transaction, xact_lock
from dracarys.errors import Conflict, InvalidInput, NotFound
from dracarys.identity import CurrentUser, record_audit
from dracarys.outbox import emit_event
from dracarys.platform import Platform
from dracarys.settings import Settings
from dracarys.wallet.charges import store
from dracarys.wallet.charges.models import (
    ChargeRefunded,
    ChargeRequest,
    ChargeView,
    PaymentQuote,
)
from dracarys.wallet.escrow.service import hold_escrow
from dracarys.wallet.events import PaymentCaptured, RefundIssued
from dracarys.wallet.invoices import service as invoices
from dracarys.wallet.ledger import service as ledger
from dracarys.wallet.ledger.models import AccountCode, TransferSpec
from dracarys.wallet.models import ID_NAMESPACE
from dracarys.wallet.operations.service import run_once
from dracarys.wallet.policy import split_vat, vat_rate_bps

_ESCROWED_PURPOSES = ("session", "package")
_REFUND_CODES = ("charge_refund", "charge_refund_vat")


async def quote_payment(
    conn: Connection,
    *,
    settings: Settings,
    buyer_id: uuid.UUID,
    gross_minor: int,
    currency: str,
) -> PaymentQuote:
    """What paying `gross_minor` (VAT included) from the buyer's wallet would charge:
    the invoice's VAT split, taxed where `issue_invoice` will tax it, and what the wallet
    can spend now. Reads only: nothing is held, so a quote never stands in for a payment."""
    country = await invoices.vat_country(conn, settings, buyer_id)
    rate = vat_rate_bps(settings, country)
    net, vat = split_vat(gross_minor, rate)
    account = await ledger.find_wallet_account(conn, buyer_id, currency)
    available = (await ledger.balance_of(conn, account)).available_minor if account else 0
    return PaymentQuote(
        gross_minor=gross_minor,
        currency=currency,
        vat_country=country,
        vat_rate_bps=rate,
        net_minor=net,
        vat_minor=vat,
        available_minor=available,
        shortfall_minor=max(0, gross_minor - available),
    )


async def charge(
    platform: Platform, actor: CurrentUser, request: ChargeRequest, idempotency_key: str
) -> ChargeView:
    """Pay for a course, subscription, session or package from the wallet, with a VAT
    invoice. Sessions and packages go into escrow for the mentor."""
    settings = platform.settings
    now = platform.clock.now()
    payer = actor.id
    if request.purpose in _ESCROWED_PURPOSES and request.mentor_id is None:
        raise InvalidInput("sessions and packages are paid to a mentor", field="mentor_id")
    charge_id = uuid.uuid5(ID_NAMESPACE, f"charge:{payer}:{idempotency_key}")

    async def work(conn: Connection) -> dict[str, Any]:
        escrow_id: uuid.UUID | None = None
        if request.purpose in _ESCROWED_PURPOSES:
            assert request.mentor_id is not None
            escrow = await hold_escrow(
                conn,
                settings=settings,
                now=now,
                payer_id=payer,
                mentor_id=request.mentor_id,
                amount_minor=request.amount_minor,
                currency=request.currency,
                reference=request.reference,
                idempotency_key=f"charge:{charge_id}",
            )
            escrow_id = escrow.id
            # hold_escrow issued the invoice (every escrow payment gets one, whoever calls).
            invoice = await invoices.invoice_of_charge(conn, escrow_id)
            assert invoice is not None
        else:
            invoice = await invoices.issue_invoice(
                conn,
                settings=settings,
                user_id=payer,
                charge_id=charge_id,
                description=f"{request.purpose.title()} {request.reference}",
                gross_minor=request.amount_minor,
                currency=request.currency,
                now=now,
            )
            wallet = await ledger.wallet_account(conn, payer, request.currency, now)
            legs = [
                (AccountCode.PLATFORM_REVENUE, invoice.net_minor, "sale"),
                (AccountCode.VAT_PAYABLE, invoice.vat_minor, "vat"),
            ]
            await ledger.create_transfers(
                conn,
                [
                    TransferSpec(
                        idempotency_key=f"charge:{charge_id}:{code}",
                        code=f"charge_{code}",
                        debit_account_id=wallet,
                        credit_account_id=await ledger.platform_account(
                            conn, account, request.currency, now
                        ),
                        amount_minor=amount,
                        currency=request.currency,
                        reference=str(charge_id),
                    )
                    for account, amount, code in legs
                    if amount > 0
                ],
                now=now,
            )
        await store.insert_charge(
            conn,
            charge_id=charge_id,
            user_id=payer,
            purpose=request.purpose,
            reference=request.reference,
            amount_minor=request.amount_minor,
            currency=request.currency,
            country=invoice.country,
            escrow_id=escrow_id,
            now=now,
        )
        await emit_event(
            conn,
            PaymentCaptured(
                user_id=payer,
                charge_id=charge_id,
                purpose=request.purpose,
                reference=request.reference,
                amount_minor=request.amount_minor,
                currency=request.currency,
                escrow_id=escrow_id,
            ),
        )
        view = ChargeView(
            id=charge_id,
            user_id=payer,
            purpose=request.purpose,
            reference=request.reference,
            amount_minor=request.amount_minor,
            currency=request.currency,
            invoice_id=invoice.id,
            invoice_number=invoice.number,
            escrow_id=escrow_id,
        )
        return msgspec.to_builtins(view)  # type: ignore[no-any-return]

    async with transaction(platform.pool) as conn:
        result = await run_once(
            conn,
            scope=f"user:{payer}",
            key=idempotency_key,
            kind="charge",
            body=request,
            now=now,
            work=lambda: work(conn),
        )
    return msgspec.convert(result, ChargeView)


async def refund_charge(
    platform: Platform,
    charge_id: uuid.UUID,
    *,
    amount_minor: int,
    idempotency_key: str,
    actor: uuid.UUID,
    source_ip: str | None,
) -> ChargeRefunded:
    """Give (part of) a course or subscription charge back to the wallet: the net part
    out of the refunds (contra-revenue) account, the VAT part out of VAT payable. The
    total refunded never exceeds the charge. Escrowed charges refund through the escrow."""
    now = platform.clock.now()

    async def work(conn: Connection) -> dict[str, Any]:
        charge = await store.get_charge(conn, charge_id)
        if charge is None:
            raise NotFound("no such charge", field="charge_id")
        if charge.escrow_id is not None:
            raise Conflict("this charge is held in escrow; refund it there", field="charge_id")
        await xact_lock(conn, "charge-refunds", charge_id)
        already = await ledger.amount_moved(conn, str(charge_id), _REFUND_CODES)
        if amount_minor <= 0 or already + amount_minor > charge.amount_minor:
            raise InvalidInput(
                f"at most {charge.amount_minor - already} of this charge is left to refund",
                field="amount_minor",
            )
        currency = charge.currency
        net, vat = split_vat(amount_minor, charge.vat_rate_bps)
        wallet = await ledger.wallet_account(conn, charge.user_id, currency, now)
        legs = [
            (AccountCode.REFUNDS, net, "charge_refund"),
            (AccountCode.VAT_PAYABLE, vat, "charge_refund_vat"),
        ]
        await ledger.create_transfers(
            conn,
            [
                TransferSpec(
                    idempotency_key=f"charge-refund:{charge_id}:{idempotency_key}:{code}",
                    code=code,
                    debit_account_id=await ledger.platform_account(conn, account, currency, now),
                    credit_account_id=wallet,
                    amount_minor=amount,
                    currency=currency,
                    reference=str(charge_id),
                )
                for account, amount, code in legs
                if amount > 0
            ],
            now=now,
        )
        await invoices.issue_credit_note(
            conn, charge_id=charge_id, refund_minor=amount_minor, now=now
        )
        await emit_event(
            conn,
            RefundIssued(
                user_id=charge.user_id,
                related_id=charge_id,
                amount_minor=amount_minor,
                currency=currency,
                reference="charge",
            ),
        )
        refunded = ChargeRefunded(charge_id=charge_id, refunded_minor=already + amount_minor)
        await record_audit(
            conn,
            actor,
            "charge.refunded",
            f"charge:{charge_id}",
            source_ip,
            {
                "user_id": str(charge.user_id),
                "amount_minor": amount_minor,
                "currency": currency,
                "refunded_minor": refunded.refunded_minor,
            },
            at=now,
        )
        return msgspec.to_builtins(refunded)  # type: ignore[no-any-return]

    async with transaction(platform.pool) as conn:
        result = await run_once(
            conn,
            scope=f"charge:{charge_id}",
            key=idempotency_key,
            kind="charge_refund",
            body={"amount_minor": amount_minor},
            now=now,
            work=lambda: work(conn),
        )
    return msgspec.convert(result, ChargeRefunded)
