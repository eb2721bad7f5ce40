"""Deposits: a Stripe Checkout session or an M-Pesa STK push opens a pending transfer from
the provider's clearing account into the wallet; the provider's confirmation (webhook,
callback or status query) posts it once, a failure voids it. Effects depend on the
deposit's state, never on the order answers arrive in."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import msgspec
import structlog

from dracarys.db import Connection, transaction, xact_lock
from dracarys.errors import Conflict, InvalidInput, NotFound, ServiceUnavailable
from dracarys.identity import CurrentUser
from dracarys.outbox import emit_event
from dracarys.payments import (
    CheckoutSessionObject,
    DarajaError,
    DarajaGateway,
    DarajaOutcomeUnknown,
    StkCallback,
    StripeGateway,
    StripeRefused,
    normalise_phone,
    payment_mode,
    read_stk_callback,
    read_stored_stk_callback,
    stk_callback_as_received,
    whole_shillings,
)

# Re-exported: the callbacks' handlers check the URL's token before reading the body.
from dracarys.payments import check_callback_token as check_callback_token
from dracarys.platform import Platform
from dracarys.settings import Settings
from dracarys.wallet.deposits import store
from dracarys.wallet.deposits.models import Deposit, DepositRequest, DepositView, PaymentModeView
from dracarys.wallet.events import DepositCompleted
from dracarys.wallet.ledger import service as ledger
from dracarys.wallet.ledger.models import AccountCode
from dracarys.wallet.models import ID_NAMESPACE
from dracarys.wallet.operations.service import (
    record_result,
    recorded_result,
    taking_turns,
)
from dracarys.wallet.payment_details import service as payment_details
from dracarys.wallet.policy import require_wallet_owner

log = structlog.get_logger("dracarys.wallet")
MPESA_STATUS_QUERY_AFTER = timedelta(minutes=2)
# An M-Pesa deposit whose prompt neither Daraja's answer nor a callback confirmed is given
# up after this: a prompt expires on the phone within minutes and its callback follows.
MPESA_PROMPT_LOST_AFTER = timedelta(minutes=10)
# A card deposit whose checkout session was never recorded (Stripe unreachable, or the
# process stopped before the answer was kept) is failed after this: nobody was sent to a
# page to pay on, and a retry with the key within it still gets the session.
CARD_CHECKOUT_LOST_AFTER = timedelta(minutes=10)


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
    deposit_id = uuid.uuid5(ID_NAMESPACE, f"deposit:{wallet_id}:{idempotency_key}")
    if request.method == "mpesa":
        if request.phone is None:
            raise InvalidInput("M-Pesa deposits need the paying phone number", field="phone")
        phone = normalise_phone(request.phone)
        whole_shillings(request.amount_minor, request.currency)
        return await _start_mpesa_deposit(
            platform, wallet_id, request, idempotency_key, deposit_id, phone
        )
    return await _start_card_deposit(platform, wallet_id, request, idempotency_key, deposit_id)


async def _record_deposit(
    conn: Connection,
    settings: Settings,
    deposit_id: uuid.UUID,
    wallet_id: uuid.UUID,
    request: DepositRequest,
    clearing: AccountCode,
    phone: str | None,
    now: datetime,
) -> None:
    """The deposit row and its pending transfer from the provider's clearing account."""
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


async def _open_deposit(
    platform: Platform,
    wallet_id: uuid.UUID,
    request: DepositRequest,
    idempotency_key: str,
    deposit_id: uuid.UUID,
    phone: str | None,
    ask_provider: Callable[[Connection, Deposit, bool], Awaitable[str | None]],
) -> DepositView:
    """Record the deposit, commit, and only then ask the provider (`ask_provider(conn,
    deposit, fresh)`, answering the page to pay on, if any); then keep the answer for
    retries. Requests with one key take turns through all of it; a killed process's turn
    ends with its connection. No transaction waits on the provider, and whatever the
    provider sends about the payment finds the deposit on record."""
    settings = platform.settings
    scope = f"user:{wallet_id}"
    clearing = AccountCode.MPESA_CLEARING if phone else AccountCode.STRIPE_CLEARING
    async with (
        platform.pool.acquire() as conn,
        taking_turns(conn, scope, idempotency_key),
    ):
        async with conn.transaction():
            found = await recorded_result(
                conn, scope=scope, key=idempotency_key, kind="deposit", body=request
            )
            if found is not None:
                return msgspec.convert(found, DepositView)
            fresh = await store.get_deposit(conn, deposit_id) is None
            if fresh:
                now = platform.clock.now()
                await _record_deposit(
                    conn, settings, deposit_id, wallet_id, request, clearing, phone, now
                )
        deposit = await store.get_deposit(conn, deposit_id)
        assert deposit is not None
        page_url = await ask_provider(conn, deposit, fresh)
        async with conn.transaction():
            deposit = await store.get_deposit(conn, deposit_id)
            assert deposit is not None
            view = _deposit_view(deposit, page_url)
            await record_result(
                conn,
                scope=scope,
                key=idempotency_key,
                kind="deposit",
                body=request,
                result=msgspec.to_builtins(view),
                now=platform.clock.now(),
            )
    return view


async def _start_card_deposit(
    platform: Platform,
    wallet_id: uuid.UUID,
    request: DepositRequest,
    idempotency_key: str,
    deposit_id: uuid.UUID,
) -> DepositView:
    """A card top-up through Stripe's hosted checkout. The session's idempotency key
    derives from the deposit: a retry after a crash or a lost answer gets the same session
    (the same page to pay on). The browser goes to the page only once the session is
    recorded; a deposit whose session never was fails after `CARD_CHECKOUT_LOST_AFTER`,
    and a session made for a deposit failed meanwhile is closed. A refusal fails the
    deposit at once; no answer is a 503 leaving it pending for a retry with the key."""
    settings = platform.settings
    gateway = StripeGateway(settings)  # unconfigured: a 503 before anything is recorded

    async def open_checkout(conn: Connection, deposit: Deposit, _: bool) -> str | None:
        if deposit.status != "pending":
            return None
        try:
            checkout = await gateway.create_checkout(
                deposit_id=str(deposit_id),
                user_id=str(wallet_id),
                amount_minor=request.amount_minor,
                currency=request.currency,
                success_url=f"{settings.public_url}/wallet?topup={deposit_id}",
                cancel_url=f"{settings.public_url}/wallet?topup={deposit_id}&cancelled=1",
                idempotency_key=f"deposit-{deposit_id}",
            )
        except StripeRefused as exc:
            checkout, reason = None, exc.detail
        async with conn.transaction():
            locked = await store.lock_deposit(conn, deposit_id)
            assert locked is not None
            if checkout is None:
                await fail_deposit(conn, locked, reason=reason, now=platform.clock.now())
                return None
            if locked.status == "pending":
                await store.set_deposit_provider_ref(
                    conn, deposit_id, checkout.id, platform.clock.now()
                )
                return checkout.url
        try:  # failed meanwhile (past the deadline): nobody may pay it now
            await gateway.expire_checkout(checkout.id)
        except ServiceUnavailable as exc:
            log.warning("checkout_not_closed", deposit_id=str(deposit_id), error=exc.detail)
        return None

    return await _open_deposit(
        platform, wallet_id, request, idempotency_key, deposit_id, None, open_checkout
    )


async def _start_mpesa_deposit(
    platform: Platform,
    wallet_id: uuid.UUID,
    request: DepositRequest,
    idempotency_key: str,
    deposit_id: uuid.UUID,
    phone: str,
) -> DepositView:
    """An M-Pesa top-up prompts the phone at most once (Daraja has no idempotency key),
    and the prompt answered settles it whatever happened to us in between: the push's
    callback URL names the committed deposit, so a process killed before recording
    Daraja's answer still gets the callback. A retry never pushes again; a deposit no
    callback settles fails after `MPESA_PROMPT_LOST_AFTER`."""

    async def prompt_once(conn: Connection, _: Deposit, fresh: bool) -> None:
        if fresh:
            await _prompt_phone(platform, conn, deposit_id, phone, request)

    view = await _open_deposit(
        platform, wallet_id, request, idempotency_key, deposit_id, phone, prompt_once
    )
    # A callback on the path without the deposit (pushes made before it named one) that
    # raced ahead of the recorded answer was kept; apply it now.
    if view.provider_ref:
        async with transaction(platform.pool) as tx:
            early = await payment_details.earliest_callback(
                tx, platform.settings, provider="mpesa", kind="stk", reference=view.provider_ref
            )
            if early is not None:
                await _apply_stk_callback(tx, read_stored_stk_callback(early), platform.clock.now())
    return view


async def _prompt_phone(
    platform: Platform,
    conn: Connection,
    deposit_id: uuid.UUID,
    phone: str,
    request: DepositRequest,
) -> None:
    """Push the STK prompt for a recorded deposit and record Daraja's CheckoutRequestID."""
    try:
        pushed = await DarajaGateway(platform.settings, platform.clock).stk_push(
            phone=phone,
            amount_minor=request.amount_minor,
            currency=request.currency,
            reference=f"DRC{deposit_id.hex[:9]}",
            description="Wallet top-up",
            callback_path=f"stk/{deposit_id}",
        )
    except DarajaOutcomeUnknown as exc:
        # The prompt may be on the phone; its callback names the deposit.
        log.warning("stk_push_outcome_unknown", deposit_id=str(deposit_id), error=exc.detail)
        return
    except DarajaError as exc:
        # Refused: nothing reached the phone, and nothing will.
        async with conn.transaction():
            locked = await store.lock_deposit(conn, deposit_id)
            assert locked is not None
            reason = f"M-Pesa refused the prompt: {exc.detail}"
            await fail_deposit(conn, locked, reason=reason, now=platform.clock.now())
        return
    async with conn.transaction():
        await store.set_deposit_provider_ref(
            conn, deposit_id, pushed.checkout_request_id, platform.clock.now()
        )


async def get_deposit(platform: Platform, actor: CurrentUser, deposit_id: uuid.UUID) -> DepositView:
    async with platform.pool.acquire() as conn:
        deposit = await store.get_deposit(conn, deposit_id)
    if deposit is None or not actor.may_read_as_owner(deposit.user_id):
        raise NotFound("no such deposit", field="deposit_id")
    return _deposit_view(deposit)


async def cancel_card_deposit(
    platform: Platform, actor: CurrentUser, deposit_id: uuid.UUID
) -> DepositView:
    """The customer left the card checkout without paying: close the session at Stripe,
    so that it can no longer be paid, and fail the deposit (nothing is left pending). A
    session paid meanwhile cannot be closed; its payment then settles the deposit."""
    async with platform.pool.acquire() as conn:
        deposit = await store.get_deposit(conn, deposit_id)
    if deposit is None or not actor.may_read_as_owner(deposit.user_id):
        raise NotFound("no such deposit", field="deposit_id")
    if deposit.method != "stripe":
        raise Conflict(
            "an M-Pesa prompt cannot be withdrawn: decline it on the phone", field="deposit_id"
        )
    if deposit.status != "pending" or deposit.provider_ref is None:
        return _deposit_view(deposit)
    try:
        session = await StripeGateway(platform.settings).expire_checkout(deposit.provider_ref)
    except StripeRefused:
        session = None  # no longer open: paid, or expired, and its event says which
    async with transaction(platform.pool) as conn:
        locked = await store.lock_deposit(conn, deposit_id)
        assert locked is not None
        if session is not None and session.status == "expired":
            reason = "cancelled at the card checkout; nothing was charged"
            await fail_deposit(conn, locked, reason=reason, now=platform.clock.now())
            locked = await store.get_deposit(conn, deposit_id)
            assert locked is not None
    return _deposit_view(locked)


def current_payment_mode(platform: Platform) -> PaymentModeView:
    mode = payment_mode(platform.settings)
    return PaymentModeView(
        mode=mode.mode,
        card_available=mode.card_available,
        mpesa_available=mode.mpesa_available,
        sandbox_phone_url=mode.sandbox_phone_url,
    )


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


async def remember_card(platform: Platform, payment_intent: str) -> None:
    """Keep a digest of the card that paid a completed card deposit, from Stripe's
    fingerprint of it (asked after the deposit is settled, outside its transaction). If
    Stripe does not say, the deposit stays as it is, without a card to compare."""
    async with platform.pool.acquire() as conn:
        if not await store.card_deposit_without_digest(conn, payment_intent):
            return
    try:
        fingerprint = await StripeGateway(platform.settings).card_fingerprint(payment_intent)
    except ServiceUnavailable as exc:
        log.warning("card_fingerprint_unavailable", payment_intent=payment_intent, error=str(exc))
        return
    if fingerprint is None:
        log.warning("card_fingerprint_missing", payment_intent=payment_intent)
        return
    async with transaction(platform.pool) as conn:
        await store.set_card_digest(
            conn, payment_intent, payment_details.card_digest(fingerprint), platform.clock.now()
        )


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


async def handle_stk_callback(
    platform: Platform,
    token: str,
    payload: dict[str, Any],
    *,
    deposit_id: uuid.UUID | None = None,
) -> None:
    """Apply an STK callback once. One on the deposit's own URL (`deposit_id`) settles it
    even when Daraja's answer to the push, with the CheckoutRequestID, never got recorded."""
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
        if deposit_id is not None:
            deposit = await store.lock_deposit(conn, deposit_id)
            if deposit is not None and deposit.method == "mpesa":
                await store.set_deposit_provider_ref(
                    conn, deposit_id, callback.checkout_request_id, now
                )
        await _apply_stk_callback(conn, callback, now)


async def settle_stale_mpesa_deposits(platform: Platform) -> int:
    """Ask Daraja about STK pushes whose callback never came and settle what it knows;
    fail the deposits whose prompt no callback or answer confirmed by the deadline."""
    now = platform.clock.now()
    async with platform.pool.acquire() as conn:
        stale = await store.pending_mpesa_deposits(conn, now - MPESA_STATUS_QUERY_AFTER)
        unprompted = await store.mpesa_deposits_without_prompt(conn, now - MPESA_PROMPT_LOST_AFTER)
    settled = 0
    for deposit in unprompted:
        async with transaction(platform.pool) as conn:
            locked = await store.lock_deposit(conn, deposit.id)
            if locked is None or locked.provider_ref is not None:
                continue  # its callback came meanwhile
            reason = (
                "no M-Pesa prompt was confirmed for this top-up and no payment arrived; "
                "start a new one"
            )
            settled += int(await fail_deposit(conn, locked, reason=reason, now=now))
    if not stale:
        return settled
    gateway = DarajaGateway(platform.settings, platform.clock)
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


async def fail_unopened_card_deposits(platform: Platform) -> int:
    """Fail the card deposits with no checkout session recorded by the deadline: nobody
    was sent to pay them."""
    now = platform.clock.now()
    async with platform.pool.acquire() as conn:
        unopened = await store.card_deposits_without_checkout(conn, now - CARD_CHECKOUT_LOST_AFTER)
    failed = 0
    for deposit in unopened:
        async with transaction(platform.pool) as conn:
            locked = await store.lock_deposit(conn, deposit.id)
            if locked is None or locked.provider_ref is not None:
                continue  # its session was recorded meanwhile
            reason = "no card checkout was opened for this top-up; start a new one"
            failed += int(await fail_deposit(conn, locked, reason=reason, now=now))
    return failed
