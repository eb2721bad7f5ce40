"""Deposits: a Stripe Checkout session or an M-Pesa STK push opens a pending transfer from
the provider's clearing account into the wallet; the provider's confirmation (webhook,
callback or status query) posts it once, a failure voids it. Effects depend on the
deposit's state, never on the order answers arrive in."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import msgspec
import structlog

from dracarys.db import Connection, transaction, xact_lock
from dracarys.errors import InvalidInput, NotFound, ServiceUnavailable
from dracarys.identity import CurrentUser
from dracarys.payments import (
    CheckoutSessionObject,
    DarajaError,
    DarajaGateway,
    StkCallback,
    StripeGateway,
    normalise_phone,
    read_stk_callback,
    read_stored_stk_callback,
    stk_callback_as_received,
    whole_shillings,
)

# Re-exported: the callbacks' handlers check the URL's token before reading the body.
from dracarys.payments import check_callback_token as check_callback_token
from dracarys.platform import Platform
from dracarys.wallet.deposits import store
from dracarys.wallet.deposits.models import Deposit, DepositRequest, DepositView
from dracarys.wallet.events import DepositCompleted, emit_event
from dracarys.wallet.ledger import service as ledger
from dracarys.wallet.ledger.models import AccountCode
from dracarys.wallet.models import ID_NAMESPACE
from dracarys.wallet.operations.service import run_once
from dracarys.wallet.payment_details import service as payment_details
from dracarys.wallet.policy import require_wallet_owner

log = structlog.get_logger("dracarys.wallet")
MPESA_STATUS_QUERY_AFTER = timedelta(minutes=2)


def _deposit_view(deposit: Deposit, checkout_url: str | None = None) -> DepositView:
    return DepositView(
        id=deposit.id,
        user_id=deposit.user_id,
        method=deposit.method,
        amount_minor=deposit.amount_minor,
        currency=deposit.currency,
        status=deposit.status,
        checkout_url=checkout_url,
        provider_ref=deposit.provider_ref,
        failure_reason=deposit.failure_reason,
    )


# ---- opening a deposit ----------------------------------------------------------------


async def start_deposit(
    platform: Platform,
    actor: CurrentUser,
    wallet_id: uuid.UUID,
    request: DepositRequest,
    idempotency_key: str,
) -> DepositView:
    """Open a deposit: a Stripe Checkout session or an M-Pesa STK push, and a pending
    transfer from the provider's clearing account into the wallet that the provider's
    confirmation posts (or its failure voids)."""
    require_wallet_owner(actor, wallet_id)
    settings = platform.settings
    if request.method == "mpesa":
        if request.phone is None:
            raise InvalidInput("M-Pesa deposits need the paying phone number", field="phone")
        phone: str | None = normalise_phone(request.phone)
        whole_shillings(request.amount_minor, request.currency)
    else:
        phone = None
    now = platform.clock.now()
    deposit_id = uuid.uuid5(ID_NAMESPACE, f"deposit:{wallet_id}:{idempotency_key}")

    async def work(conn: Connection) -> dict[str, Any]:
        checkout_url: str | None = None
        if request.method == "stripe":
            checkout = await StripeGateway(settings).create_checkout(
                deposit_id=str(deposit_id),
                user_id=str(wallet_id),
                amount_minor=request.amount_minor,
                currency=request.currency,
                success_url=f"{settings.public_url}/wallet?deposit={deposit_id}",
                cancel_url=f"{settings.public_url}/wallet?deposit={deposit_id}&cancelled=1",
                idempotency_key=f"deposit-{deposit_id}",
            )
            provider_ref, checkout_url = checkout.id, checkout.url
            clearing = AccountCode.STRIPE_CLEARING
        else:
            assert phone is not None
            pushed = await DarajaGateway(settings, platform.clock).stk_push(
                phone=phone,
                amount_minor=request.amount_minor,
                currency=request.currency,
                reference=f"DRC{deposit_id.hex[:9]}",
                description="Wallet top-up",
            )
            provider_ref, clearing = pushed.checkout_request_id, AccountCode.MPESA_CLEARING
        hold = await ledger.open_pending(
            conn,
            idempotency_key=f"deposit:{deposit_id}:pending",
            code="deposit",
            debit_account_id=await ledger.platform_account(conn, clearing, request.currency, now),
            credit_account_id=await ledger.wallet_account(conn, wallet_id, request.currency, now),
            amount_minor=request.amount_minor,
            currency=request.currency,
            reference=str(deposit_id),
            now=now,
        )
        await store.insert_deposit(
            conn,
            deposit_id=deposit_id,
            user_id=wallet_id,
            method=request.method,
            amount_minor=request.amount_minor,
            currency=request.currency,
            pending_transfer_id=hold.id,
            phone_sealed=(
                None
                if phone is None
                else payment_details.seal_deposit_phone(settings, deposit_id, phone)
            ),
            now=now,
        )
        await store.set_deposit_provider_ref(conn, deposit_id, provider_ref, now)
        deposit = await store.get_deposit(conn, deposit_id)
        assert deposit is not None
        return msgspec.to_builtins(_deposit_view(deposit, checkout_url))  # type: ignore[no-any-return]

    async with transaction(platform.pool) as conn:
        result = await run_once(
            conn,
            scope=f"user:{wallet_id}",
            key=idempotency_key,
            kind="deposit",
            body=request,
            now=now,
            work=lambda: work(conn),
        )
    view = msgspec.convert(result, DepositView)
    # A callback that raced ahead of our commit was kept; apply it now.
    if view.method == "mpesa" and view.provider_ref:
        async with transaction(platform.pool) as conn:
            early = await payment_details.earliest_callback(
                conn, settings, provider="mpesa", kind="stk", reference=view.provider_ref
            )
            if early is not None:
                await _apply_stk_callback(
                    conn, read_stored_stk_callback(early), platform.clock.now()
                )
    return view


async def get_deposit(platform: Platform, actor: CurrentUser, deposit_id: uuid.UUID) -> DepositView:
    async with platform.pool.acquire() as conn:
        deposit = await store.get_deposit(conn, deposit_id)
    if deposit is None or not actor.may_read_as_owner(deposit.user_id):
        raise NotFound("no such deposit", field="deposit_id")
    return _deposit_view(deposit)


# ---- settling a deposit ---------------------------------------------------------------


async def locked_deposit(conn: Connection, deposit_id: uuid.UUID) -> Deposit | None:
    """The deposit, locked until the caller's transaction ends."""
    return await store.lock_deposit(conn, deposit_id)


async def locked_card_deposit(conn: Connection, payment_intent: str) -> Deposit | None:
    """The card deposit Stripe's payment intent paid, locked."""
    return await store.lock_deposit_by_receipt(conn, "stripe", payment_intent)


async def complete_deposit(
    conn: Connection,
    deposit: Deposit,
    *,
    paid_minor: int,
    receipt: str | None,
    now: datetime,
) -> bool:
    """Credit a pending deposit once; a paid amount other than the one requested credits
    nothing and fails the deposit instead. Returns whether this call credited it."""
    if deposit.status != "pending":
        return False
    if paid_minor != deposit.amount_minor:
        await fail_deposit(
            conn,
            deposit,
            reason=f"amount mismatch: paid {paid_minor}, requested {deposit.amount_minor}",
            now=now,
        )
        return False
    await ledger.post_pending(
        conn,
        deposit.pending_transfer_id,
        idempotency_key=f"deposit:{deposit.id}:post",
        code="deposit",
        now=now,
        reference=str(deposit.id),
    )
    await store.settle_deposit(
        conn, deposit.id, status="completed", receipt=receipt, reason=None, now=now
    )
    # Deposits of one user settle one at a time from here, so exactly one is the first.
    await xact_lock(conn, "first-deposit", deposit.user_id)
    first = not await store.other_completed_deposit_exists(conn, deposit.user_id, deposit.id)
    await emit_event(
        conn,
        DepositCompleted(
            user_id=deposit.user_id,
            deposit_id=deposit.id,
            amount_minor=deposit.amount_minor,
            currency=deposit.currency,
            method=deposit.method,
            first_deposit=first,
        ),
    )
    return True


async def fail_deposit(conn: Connection, deposit: Deposit, *, reason: str, now: datetime) -> bool:
    if deposit.status != "pending":
        return False
    await ledger.void_pending(
        conn,
        deposit.pending_transfer_id,
        idempotency_key=f"deposit:{deposit.id}:void",
        code="deposit_failed",
        now=now,
        reference=str(deposit.id),
    )
    await store.settle_deposit(
        conn, deposit.id, status="failed", receipt=None, reason=reason[:500], now=now
    )
    return True


# ---- Stripe Checkout ------------------------------------------------------------------


def _uuid_or_none(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


async def apply_checkout_session(
    conn: Connection,
    *,
    event_id: str,
    kind: str,
    session: CheckoutSessionObject,
    now: datetime,
) -> None:
    """A `checkout.session.*` event of Stripe's: paid completes the deposit it names,
    expired or failed fails it."""
    deposit_id = _uuid_or_none(session.metadata.get("deposit_id") or session.client_reference_id)
    deposit = await store.lock_deposit(conn, deposit_id) if deposit_id else None
    if deposit is None and session.metadata.get("deposit_id"):
        # Ours but not visible yet: refuse, so the event is not marked processed and
        # Stripe delivers it again.
        raise ServiceUnavailable("the deposit for this event is not recorded yet")
    if deposit is None or deposit.method != "stripe":
        log.warning("stripe_event_without_deposit", event_id=event_id, type=kind)
        return
    succeeded = kind in (
        "checkout.session.completed",
        "checkout.session.async_payment_succeeded",
    )
    if succeeded and session.payment_status == "paid":
        paid = session.amount_total or 0
        if (session.currency or "").upper() != deposit.currency:
            paid = -1  # a different currency is a mismatch, whatever the number
        await complete_deposit(
            conn, deposit, paid_minor=paid, receipt=session.payment_intent, now=now
        )
    elif kind in ("checkout.session.expired", "checkout.session.async_payment_failed"):
        await fail_deposit(conn, deposit, reason=kind.removeprefix("checkout.session."), now=now)


# ---- M-Pesa callbacks and status queries ----------------------------------------------


async def _apply_stk_callback(conn: Connection, callback: StkCallback, now: datetime) -> None:
    deposit = await store.lock_deposit_by_ref(conn, "mpesa", callback.checkout_request_id)
    if deposit is None or deposit.status != "pending":
        return
    if callback.succeeded:
        paid = callback.paid_minor
        await complete_deposit(
            conn,
            deposit,
            paid_minor=-1 if paid is None else paid,
            receipt=callback.receipt,
            now=now,
        )
    else:
        reason = callback.result_desc or str(callback.result_code)
        await fail_deposit(conn, deposit, reason=reason, now=now)


async def handle_stk_callback(platform: Platform, token: str, payload: dict[str, Any]) -> None:
    check_callback_token(platform.settings, token)
    callback = read_stk_callback(payload)
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        await payment_details.record_callback(
            conn,
            platform.settings,
            provider="mpesa",
            kind="stk",
            reference=callback.checkout_request_id,
            payload=stk_callback_as_received(payload),
            now=now,
        )
        await _apply_stk_callback(conn, callback, now)


async def settle_stale_mpesa_deposits(platform: Platform) -> int:
    """Ask Daraja about STK pushes whose callback never came; settle what it knows."""
    now = platform.clock.now()
    async with platform.pool.acquire() as conn:
        stale = await store.pending_mpesa_deposits(conn, now - MPESA_STATUS_QUERY_AFTER)
    if not stale:
        return 0
    gateway = DarajaGateway(platform.settings, platform.clock)
    settled = 0
    for deposit in stale:
        assert deposit.provider_ref is not None
        try:
            status = await gateway.stk_query(deposit.provider_ref)
        except DarajaError as exc:
            log.warning("stk_query_failed", deposit_id=str(deposit.id), error=str(exc))
            continue
        if status.result_code is None:
            continue
        async with transaction(platform.pool) as conn:
            locked = await store.lock_deposit(conn, deposit.id)
            if locked is None:
                continue
            if status.result_code == 0:
                # The query confirms the request as made; its amount is the one we asked.
                done = await complete_deposit(
                    conn, locked, paid_minor=locked.amount_minor, receipt=None, now=now
                )
            else:
                done = await fail_deposit(conn, locked, reason=status.result_desc, now=now)
            settled += int(done)
    return settled
