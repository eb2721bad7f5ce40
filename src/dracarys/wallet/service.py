"""Wallet operations: deposits (Stripe Checkout, M-Pesa STK push) settled by provider
webhooks and status queries, charges with invoices, balances and history, points credit
and mentor bonuses (withdrawals and payouts: `payouts`). Every money movement goes through
the ledger inside one transaction with its workflow row and its outbox event."""

from __future__ import annotations

import hmac
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import asyncpg
import msgspec
import structlog

from dracarys.db import Connection, transaction
from dracarys.errors import Conflict, Forbidden, InvalidInput, NotFound, ServiceUnavailable
from dracarys.idempotency import request_hash
from dracarys.identity.access import CurrentUser
from dracarys.models import decode_cursor, encode_cursor
from dracarys.outbox import Event, emit
from dracarys.payments.daraja import (
    DarajaError,
    DarajaGateway,
    DarajaOutcomeUnknown,
    StkCallback,
    normalise_phone,
    read_stk_callback,
    read_stored_stk_callback,
    whole_shillings,
)
from dracarys.payments.stripe_gateway import (
    CheckoutSessionObject,
    DisputeObject,
    RefundObject,
    StripeEvent,
    StripeGateway,
    verify_webhook,
    webhook_secrets,
)
from dracarys.platform import Platform
from dracarys.settings import Settings
from dracarys.wallet import events, invoices, ledger, payment_details, store
from dracarys.wallet.escrow import hold_escrow
from dracarys.wallet.models import (
    SUPPORTED_CURRENCIES,
    AccountCode,
    ChargebackView,
    ChargeRequest,
    ChargeView,
    CurrencyBalance,
    DepositRequest,
    DepositView,
    HistoryItem,
    Transfer,
    TransferKind,
    TransferSpec,
    WalletBalances,
    WalletHistory,
)
from dracarys.wallet.operations import recorded_result, run_once
from dracarys.wallet.policy import (
    split_vat,
)

log = structlog.get_logger("dracarys.wallet")
# Ids of deposits, charges, refunds and payouts derive from the request's idempotency key.
ID_NAMESPACE = uuid.UUID("0b6f7d1e-2a53-4c6b-8f55-5d7d9e0c3a11")
MPESA_STATUS_QUERY_AFTER = timedelta(minutes=2)
# An M-Pesa deposit whose prompt neither Daraja's answer nor a callback confirmed is given
# up after this: a prompt expires on the phone within minutes and its callback follows.
MPESA_PROMPT_LOST_AFTER = timedelta(minutes=10)


def own_wallet(actor: CurrentUser, wallet_id: uuid.UUID) -> None:
    if actor.id != wallet_id:
        raise Forbidden("only the wallet's owner may move its money")


# ---- balances and history -----------------------------------------------------------


async def wallet_balances(conn: Connection, user_id: uuid.UUID) -> WalletBalances:
    accounts = await store.account_ids_of_owner(conn, AccountCode.USER_WALLET.value, user_id)
    found = await store.read_balances(conn, list(accounts.values()))
    rows = []
    for currency in SUPPORTED_CURRENCIES:
        account = accounts.get(currency)
        balance = found.get(account) if account is not None else None
        rows.append(
            CurrencyBalance(
                currency=currency,
                available_minor=balance.available_minor if balance else 0,
                posted_minor=balance.posted_minor if balance else 0,
                pending_in_minor=balance.credits_pending if balance else 0,
                pending_out_minor=balance.debits_pending if balance else 0,
            )
        )
    return WalletBalances(wallet_id=user_id, balances=rows)


def _history_item(row: dict[str, Any]) -> HistoryItem:
    posted = row["credits_posted"] - row["debits_posted"]
    pending = row["credits_pending"] - row["debits_pending"]
    direction: Literal["in", "out", "hold", "release"]
    if posted:
        direction = "in" if posted > 0 else "out"
        amount = abs(posted)
    else:
        direction = "hold" if row["debits_pending"] > 0 or row["credits_pending"] > 0 else "release"
        amount = abs(pending)
    return HistoryItem(
        transfer_id=row["transfer_id"],
        code=row["code"],
        kind=row["kind"],
        currency=row["currency"],
        amount_minor=amount,
        direction=direction,
        balance_after_minor=row["balance_after"],
        reference=row["reference"],
        created_at=row["created_at"],
    )


async def wallet_history(
    conn: Connection, user_id: uuid.UUID, currency: str, *, cursor: str | None, limit: int
) -> WalletHistory:
    """Newest first, each entry with the wallet's posted balance right after it."""
    if currency not in SUPPORTED_CURRENCIES:
        raise InvalidInput("unsupported currency", field="currency")
    before = decode_cursor(cursor) if cursor is not None else None
    account = await store.find_account(conn, AccountCode.USER_WALLET.value, user_id, currency)
    if account is None:
        return WalletHistory(wallet_id=user_id, currency=currency, items=[])
    rows = await store.wallet_entries(conn, account, before_id=before, limit=limit)
    next_cursor = encode_cursor(rows[-1]["id"]) if len(rows) == limit else None
    return WalletHistory(
        wallet_id=user_id,
        currency=currency,
        items=[_history_item(r) for r in rows],
        next_cursor=next_cursor,
    )


# ---- deposits -----------------------------------------------------------------------


def _deposit_view(row: asyncpg.Record, checkout_url: str | None = None) -> DepositView:
    return DepositView(
        id=row["id"],
        user_id=row["user_id"],
        method=row["method"],
        amount_minor=row["amount_minor"],
        currency=row["currency"],
        status=row["status"],
        checkout_url=checkout_url,
        provider_ref=row["provider_ref"],
        failure_reason=row["failure_reason"],
    )


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
    own_wallet(actor, wallet_id)
    settings = platform.settings
    deposit_id = uuid.uuid5(ID_NAMESPACE, f"deposit:{wallet_id}:{idempotency_key}")
    if request.method == "mpesa":
        if request.phone is None:
            raise InvalidInput("M-Pesa deposits need the paying phone number", field="phone")
        phone = normalise_phone(request.phone)
        whole_shillings(request.amount_minor, request.currency)
        return await _start_mpesa_deposit(
            platform, wallet_id, request, idempotency_key, deposit_id, phone
        )
    now = platform.clock.now()

    async def work(conn: Connection) -> dict[str, Any]:
        # Stripe replays a Checkout session created under the same key of ours, so the
        # session may be created inside the operation's transaction: a retry after a crash
        # gets the same one.
        checkout = await StripeGateway(settings).create_checkout(
            deposit_id=str(deposit_id),
            user_id=str(wallet_id),
            amount_minor=request.amount_minor,
            currency=request.currency,
            success_url=f"{settings.public_url}/wallet?deposit={deposit_id}",
            cancel_url=f"{settings.public_url}/wallet?deposit={deposit_id}&cancelled=1",
            idempotency_key=f"deposit-{deposit_id}",
        )
        await _record_deposit(
            conn, settings, deposit_id, wallet_id, request, AccountCode.STRIPE_CLEARING, None, now
        )
        await store.set_deposit_provider_ref(conn, deposit_id, checkout.id, now)
        row = await store.get_deposit(conn, deposit_id)
        assert row is not None
        return msgspec.to_builtins(_deposit_view(row, checkout.url))  # type: ignore[no-any-return]

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
    return msgspec.convert(result, DepositView)


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
    hold = await ledger.create_transfer(
        conn,
        TransferSpec(
            idempotency_key=f"deposit:{deposit_id}:pending",
            code="deposit",
            kind=TransferKind.PENDING,
            debit_account_id=await ledger.platform_account(conn, clearing, request.currency, now),
            credit_account_id=await ledger.wallet_account(conn, wallet_id, request.currency, now),
            amount_minor=request.amount_minor,
            currency=request.currency,
            reference=str(deposit_id),
        ),
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


async def _start_mpesa_deposit(
    platform: Platform,
    wallet_id: uuid.UUID,
    request: DepositRequest,
    idempotency_key: str,
    deposit_id: uuid.UUID,
    phone: str,
) -> DepositView:
    """An M-Pesa top-up prompts the customer's phone at most once, and the prompt the
    customer answers settles it whatever happened to us in between. Daraja has no
    idempotency key for STK pushes, so the deposit is committed before the push leaves and
    the push's callback URL names it: a process killed before recording Daraja's answer,
    or an answer lost on the way, leaves the deposit pending without a CheckoutRequestID,
    and the prompt's callback still finds it. A retry never pushes again (the first prompt
    may be on the phone); a deposit no callback settles fails after
    `MPESA_PROMPT_LOST_AFTER`."""
    settings = platform.settings
    scope = f"user:{wallet_id}"
    # Requests with this key take turns through the push; a killed process's turn ends
    # with its connection.
    async with (
        platform.pool.acquire() as conn,
        store.operation_key_session_lock(conn, scope, idempotency_key),
    ):
        async with conn.transaction():
            found = await recorded_result(
                conn, scope=scope, key=idempotency_key, kind="deposit", body=request
            )
            if found is not None:
                return msgspec.convert(found, DepositView)
            fresh = await store.get_deposit(conn, deposit_id) is None
            if fresh:
                await _record_deposit(
                    conn,
                    settings,
                    deposit_id,
                    wallet_id,
                    request,
                    AccountCode.MPESA_CLEARING,
                    phone,
                    platform.clock.now(),
                )
        if fresh:
            await _prompt_phone(platform, conn, deposit_id, phone, request)
        async with conn.transaction():
            row = await store.get_deposit(conn, deposit_id)
            assert row is not None
            view = _deposit_view(row)
            await store.insert_operation(
                conn,
                scope,
                idempotency_key,
                "deposit",
                request_hash("deposit", request),
                msgspec.to_builtins(view),
                platform.clock.now(),
            )
    # A callback on the path without the deposit (pushes made before it named one) that
    # raced ahead of the recorded answer was kept; apply it now.
    if view.provider_ref:
        async with transaction(platform.pool) as tx:
            early = await payment_details.earliest_callback(
                tx, settings, provider="mpesa", kind="stk", reference=view.provider_ref
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


async def complete_deposit(
    conn: Connection,
    deposit: asyncpg.Record,
    *,
    paid_minor: int,
    receipt: str | None,
    now: datetime,
) -> bool:
    """Credit a pending deposit once; a paid amount other than the one requested credits
    nothing and fails the deposit instead. Returns whether this call credited it."""
    if deposit["status"] != "pending":
        return False
    if paid_minor != deposit["amount_minor"]:
        await fail_deposit(
            conn,
            deposit,
            reason=f"amount mismatch: paid {paid_minor}, requested {deposit['amount_minor']}",
            now=now,
        )
        return False
    await ledger.post_pending(
        conn,
        deposit["pending_transfer_id"],
        idempotency_key=f"deposit:{deposit['id']}:post",
        code="deposit",
        now=now,
        reference=str(deposit["id"]),
    )
    await store.settle_deposit(
        conn, deposit["id"], status="completed", receipt=receipt, reason=None, now=now
    )
    # Deposits of one user settle one at a time from here, so exactly one is the first.
    await store.lock_operation_key(conn, "first-deposit", str(deposit["user_id"]))
    first = not await store.other_completed_deposit_exists(conn, deposit["user_id"], deposit["id"])
    await emit(
        conn,
        events.DEPOSIT_COMPLETED,
        {
            "user_id": str(deposit["user_id"]),
            "deposit_id": str(deposit["id"]),
            "amount_minor": deposit["amount_minor"],
            "currency": deposit["currency"],
            "method": deposit["method"],
            "first_deposit": first,
        },
    )
    return True


async def fail_deposit(
    conn: Connection, deposit: asyncpg.Record, *, reason: str, now: datetime
) -> bool:
    if deposit["status"] != "pending":
        return False
    await ledger.void_pending(
        conn,
        deposit["pending_transfer_id"],
        idempotency_key=f"deposit:{deposit['id']}:void",
        code="deposit_failed",
        now=now,
        reference=str(deposit["id"]),
    )
    await store.settle_deposit(
        conn, deposit["id"], status="failed", receipt=None, reason=reason[:500], now=now
    )
    return True


async def get_deposit(platform: Platform, actor: CurrentUser, deposit_id: uuid.UUID) -> DepositView:
    async with platform.pool.acquire() as conn:
        row = await store.get_deposit(conn, deposit_id)
    if row is None or not actor.may_read_as_owner(row["user_id"]):
        raise NotFound("no such deposit", field="deposit_id")
    return _deposit_view(row)


# ---- Stripe webhooks and refunds ------------------------------------------------------


async def handle_stripe_webhook(platform: Platform, payload: bytes, signature: str) -> bool:
    """Verify, de-duplicate by event id, and apply; returns whether the event was new.
    Effects depend on each object's state, never on arrival order."""
    now = platform.clock.now()
    event = verify_webhook(payload, signature, webhook_secrets(platform.settings), now=now)
    async with transaction(platform.pool) as conn:
        if not await store.record_stripe_event(conn, event.id, event.kind, now):
            return False
        await _apply_stripe_event(conn, event, now)
    return True


def _uuid_or_none(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


async def _apply_stripe_event(conn: Connection, event: StripeEvent, now: datetime) -> None:
    kind = event.kind
    if kind.startswith("checkout.session."):
        await _apply_checkout_session(conn, event, event.object_as(CheckoutSessionObject), now)
    elif kind.startswith("charge.dispute."):
        await _apply_card_dispute(conn, kind, event.object_as(DisputeObject), now)
    elif kind in ("refund.created", "refund.updated", "refund.failed", "charge.refund.updated"):
        refund = event.object_as(RefundObject)
        refund_id = _uuid_or_none(refund.metadata.get("refund_id"))
        if refund_id is not None:
            await _settle_card_refund(conn, refund_id, str(refund.status), refund.id, now)


async def _apply_checkout_session(
    conn: Connection, event: StripeEvent, session: CheckoutSessionObject, now: datetime
) -> None:
    deposit_id = _uuid_or_none(session.metadata.get("deposit_id") or session.client_reference_id)
    deposit = await store.lock_deposit(conn, deposit_id) if deposit_id else None
    if deposit is None and session.metadata.get("deposit_id"):
        # Ours but not visible yet: refuse, so the event is not marked processed and
        # Stripe delivers it again.
        raise ServiceUnavailable("the deposit for this event is not recorded yet")
    if deposit is None or deposit["method"] != "stripe":
        log.warning("stripe_event_without_deposit", event_id=event.id, type=event.kind)
        return
    succeeded = event.kind in (
        "checkout.session.completed",
        "checkout.session.async_payment_succeeded",
    )
    if succeeded and session.payment_status == "paid":
        paid = session.amount_total or 0
        if (session.currency or "").upper() != deposit["currency"]:
            paid = -1  # a different currency is a mismatch, whatever the number
        await complete_deposit(
            conn, deposit, paid_minor=paid, receipt=session.payment_intent, now=now
        )
    elif event.kind in ("checkout.session.expired", "checkout.session.async_payment_failed"):
        await fail_deposit(
            conn, deposit, reason=event.kind.removeprefix("checkout.session."), now=now
        )


async def _apply_card_dispute(
    conn: Connection, kind: str, dispute: DisputeObject, now: datetime
) -> None:
    """A chargeback on a card deposit. Whichever event about it arrives first opens it:
    up to the disputed amount is held in the wallet (what the wallet has; the money may
    be spent already). `charge.dispute.closed` then releases the hold (won) or takes it
    (lost), recording what the wallet could not cover. Effects depend on the dispute's
    state, so a closed event before the created one ends in the same place."""
    intent = dispute.payment_intent
    deposit = await store.lock_deposit_by_receipt(conn, "stripe", intent) if intent else None
    if deposit is None:
        log.warning("stripe_dispute_without_deposit", dispute=dispute.id, type=kind)
        return
    dispute_id = dispute.id
    row = await store.lock_chargeback(conn, dispute_id)
    if row is None:
        row = await _open_chargeback(conn, deposit, dispute, now)
    closed = kind == "charge.dispute.closed"
    outcome = dispute.status
    if not closed or row["status"] != "open" or outcome not in ("won", "lost", "warning_closed"):
        return
    won = outcome != "lost"  # an inquiry closed without a chargeback costs nothing
    reference = f"chargeback:{dispute_id}"
    if row["hold_transfer_id"] is not None:
        settle = ledger.void_pending if won else ledger.post_pending
        await settle(
            conn,
            row["hold_transfer_id"],
            idempotency_key=f"{reference}:{'release' if won else 'take'}",
            code="chargeback_released" if won else "chargeback",
            now=now,
            reference=str(deposit["id"]),
        )
    unrecovered = 0 if won else row["amount_minor"] - row["held_minor"]
    status = "won" if won else "lost"
    await store.close_chargeback(
        conn, dispute_id, status=status, unrecovered_minor=unrecovered, now=now
    )
    await emit(
        conn,
        events.CHARGEBACK_CLOSED,
        {
            **_chargeback_payload(row),
            "status": status,
            "unrecovered_minor": unrecovered,
        },
    )
    if not won:
        # The money went back to the card, as with a refund: whatever was awarded for
        # the deposit (points for a first deposit) is voided by its consumers.
        await emit(
            conn,
            events.REFUND_ISSUED,
            {
                "user_id": str(row["user_id"]),
                "related_id": str(deposit["id"]),
                "amount_minor": row["amount_minor"],
                "currency": row["currency"],
            },
        )
    log.warning("chargeback_closed", chargeback=dispute_id, status=status, unrecovered=unrecovered)


async def _open_chargeback(
    conn: Connection, deposit: asyncpg.Record, dispute: DisputeObject, now: datetime
) -> asyncpg.Record:
    currency = deposit["currency"]
    if (dispute.currency or "").upper() != currency:
        log.warning("stripe_dispute_currency_differs", dispute=dispute.id)
    amount = dispute.amount or deposit["amount_minor"]
    wallet = await ledger.wallet_account(conn, deposit["user_id"], currency, now)
    available = (await ledger.balance_of(conn, wallet)).available_minor
    held = max(0, min(amount, available))
    hold_id: uuid.UUID | None = None
    if held:
        hold = await ledger.create_transfer(
            conn,
            TransferSpec(
                idempotency_key=f"chargeback:{dispute.id}:hold",
                code="chargeback_hold",
                kind=TransferKind.PENDING,
                debit_account_id=wallet,
                credit_account_id=await ledger.platform_account(
                    conn, AccountCode.STRIPE_CLEARING, currency, now
                ),
                amount_minor=held,
                currency=currency,
                reference=str(deposit["id"]),
            ),
            now=now,
        )
        hold_id = hold.id
    row = await store.insert_chargeback(
        conn,
        chargeback_id=dispute.id,
        deposit_id=deposit["id"],
        user_id=deposit["user_id"],
        amount_minor=amount,
        currency=currency,
        reason=dispute.reason or "",
        held_minor=held,
        hold_transfer_id=hold_id,
        now=now,
    )
    await emit(conn, events.CHARGEBACK_OPENED, _chargeback_payload(row))
    log.warning("chargeback_opened", chargeback=row["id"], amount=amount, held=held)
    return row


def _chargeback_payload(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "user_id": str(row["user_id"]),
        "chargeback_id": row["id"],
        "deposit_id": str(row["deposit_id"]),
        "amount_minor": row["amount_minor"],
        "currency": row["currency"],
        "held_minor": row["held_minor"],
    }


def chargeback_view(row: asyncpg.Record) -> ChargebackView:
    return msgspec.convert(dict(row), ChargebackView, from_attributes=False, strict=False)


async def recent_chargebacks(conn: Connection, limit: int) -> list[ChargebackView]:
    return [chargeback_view(r) for r in await store.recent_chargebacks(conn, limit)]


async def _settle_card_refund(
    conn: Connection, refund_id: uuid.UUID, status: str, stripe_id: str | None, now: datetime
) -> None:
    refund = await store.lock_stripe_refund(conn, refund_id)
    if refund is None or refund["status"] != "pending":
        return
    if status == "succeeded":
        await ledger.post_pending(
            conn,
            refund["pending_transfer_id"],
            idempotency_key=f"card-refund:{refund_id}:post",
            code="card_refund",
            now=now,
            reference=str(refund["deposit_id"]),
        )
        await store.set_stripe_refund(
            conn, refund_id, status="succeeded", stripe_refund_id=stripe_id, now=now
        )
        await emit(
            conn,
            events.REFUND_ISSUED,
            {
                "user_id": str(refund["user_id"]),
                "related_id": str(refund["deposit_id"]),
                "amount_minor": refund["amount_minor"],
                "currency": refund["currency"],
            },
        )
    elif status in ("failed", "canceled"):
        await ledger.void_pending(
            conn,
            refund["pending_transfer_id"],
            idempotency_key=f"card-refund:{refund_id}:void",
            code="card_refund_failed",
            now=now,
            reference=str(refund["deposit_id"]),
        )
        await store.set_stripe_refund(
            conn, refund_id, status="failed", stripe_refund_id=stripe_id, now=now
        )


async def refund_card_deposit(
    platform: Platform, deposit_id: uuid.UUID, *, amount_minor: int, idempotency_key: str
) -> str:
    """Send (part of) a card deposit back to the card: the amount is reserved in the
    wallet at once, taken when Stripe confirms the refund, returned if it fails."""
    now = platform.clock.now()
    refund_id = uuid.uuid5(ID_NAMESPACE, f"card-refund:{deposit_id}:{idempotency_key}")
    async with transaction(platform.pool) as conn:
        deposit = await store.lock_deposit(conn, deposit_id)
        if deposit is None or deposit["method"] != "stripe" or deposit["status"] != "completed":
            raise NotFound("no completed card deposit with that id", field="deposit_id")
        existing = await store.lock_stripe_refund(conn, refund_id)
        if existing is None:
            already = await store.refunded_of_deposit(conn, deposit_id)
            if amount_minor <= 0 or already + amount_minor > deposit["amount_minor"]:
                raise InvalidInput(
                    "a refund cannot exceed what is left of the deposit", field="amount_minor"
                )
            currency = deposit["currency"]
            reserve = await ledger.create_transfer(
                conn,
                TransferSpec(
                    idempotency_key=f"card-refund:{refund_id}:pending",
                    code="card_refund",
                    kind=TransferKind.PENDING,
                    debit_account_id=await ledger.wallet_account(
                        conn, deposit["user_id"], currency, now
                    ),
                    credit_account_id=await ledger.platform_account(
                        conn, AccountCode.STRIPE_CLEARING, currency, now
                    ),
                    amount_minor=amount_minor,
                    currency=currency,
                    reference=str(deposit_id),
                ),
                now=now,
            )
            await store.insert_stripe_refund(
                conn,
                refund_id=refund_id,
                deposit_id=deposit_id,
                amount_minor=amount_minor,
                currency=currency,
                pending_transfer_id=reserve.id,
                now=now,
            )
        elif existing["amount_minor"] != amount_minor:
            raise InvalidInput(
                "this idempotency key was used for a different refund", field="idempotency_key"
            )
        elif existing["status"] != "pending":
            return str(existing["status"])
    try:
        sent = await StripeGateway(platform.settings).refund(
            payment_intent=str(deposit["provider_receipt"]),
            amount_minor=amount_minor,
            refund_id=str(refund_id),
            idempotency_key=f"refund-{refund_id}",
        )
    except Exception:
        async with transaction(platform.pool) as conn:
            await _settle_card_refund(conn, refund_id, "failed", None, platform.clock.now())
        raise
    async with transaction(platform.pool) as conn:
        await _settle_card_refund(conn, refund_id, sent.status, sent.id, platform.clock.now())
    return sent.status


# ---- M-Pesa callbacks and status queries ----------------------------------------------


def check_callback_token(settings: Settings, token: str) -> None:
    expected = settings.daraja_callback_token
    if not expected or not hmac.compare_digest(expected.encode(), token.encode()):
        raise NotFound("no such callback")


async def _apply_stk_callback(conn: Connection, callback: StkCallback, now: datetime) -> None:
    deposit = await store.lock_deposit_by_ref(conn, "mpesa", callback.checkout_request_id)
    if deposit is None or deposit["status"] != "pending":
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
            payload=payload["Body"]["stkCallback"],
            now=now,
        )
        if deposit_id is not None:
            deposit = await store.lock_deposit(conn, deposit_id)
            if deposit is not None and deposit["method"] == "mpesa":
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
    for deposit_id in unprompted:
        async with transaction(platform.pool) as conn:
            locked = await store.lock_deposit(conn, deposit_id)
            if locked is None or locked["provider_ref"] is not None:
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
        try:
            status = await gateway.stk_query(str(deposit["provider_ref"]))
        except DarajaError as exc:
            log.warning("stk_query_failed", deposit_id=str(deposit["id"]), error=str(exc))
            continue
        if status.result_code is None:
            continue
        async with transaction(platform.pool) as conn:
            locked = await store.lock_deposit(conn, deposit["id"])
            if locked is None:
                continue
            if status.result_code == 0:
                # The query confirms the request as made; its amount is the one we asked.
                done = await complete_deposit(
                    conn, locked, paid_minor=locked["amount_minor"], receipt=None, now=now
                )
            else:
                done = await fail_deposit(conn, locked, reason=status.result_desc, now=now)
            settled += int(done)
    return settled


# ---- charges --------------------------------------------------------------------------

_ESCROWED_PURPOSES = ("session", "package")


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
            found = await store.invoice_of_charge(conn, escrow_id)
            assert found is not None
            invoice: dict[str, Any] = dict(found)
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
                (AccountCode.PLATFORM_REVENUE, invoice["net_minor"], "sale"),
                (AccountCode.VAT_PAYABLE, invoice["vat_minor"], "vat"),
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
            country=invoice["country"],
            escrow_id=escrow_id,
            now=now,
        )
        await emit(
            conn,
            events.PAYMENT_CAPTURED,
            {
                "user_id": str(payer),
                "charge_id": str(charge_id),
                "purpose": request.purpose,
                "reference": request.reference,
                "amount_minor": request.amount_minor,
                "currency": request.currency,
                "escrow_id": None if escrow_id is None else str(escrow_id),
            },
        )
        view = ChargeView(
            id=charge_id,
            user_id=payer,
            purpose=request.purpose,
            reference=request.reference,
            amount_minor=request.amount_minor,
            currency=request.currency,
            invoice_id=invoice["id"],
            invoice_number=invoice["number"],
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
    platform: Platform, charge_id: uuid.UUID, *, amount_minor: int, idempotency_key: str
) -> dict[str, Any]:
    """Give (part of) a course or subscription charge back to the wallet: the net part
    out of the refunds (contra-revenue) account, the VAT part out of VAT payable. The
    total refunded never exceeds the charge. Escrowed charges refund through the escrow."""
    now = platform.clock.now()

    async def work(conn: Connection) -> dict[str, Any]:
        charge = await store.get_charge(conn, charge_id)
        if charge is None:
            raise NotFound("no such charge", field="charge_id")
        if charge["escrow_id"] is not None:
            raise Conflict("this charge is held in escrow; refund it there", field="charge_id")
        await store.lock_operation_key(conn, "charge-refunds", str(charge_id))
        already = await store.refunded_of_charge(conn, charge_id)
        if amount_minor <= 0 or already + amount_minor > charge["amount_minor"]:
            raise InvalidInput(
                f"at most {charge['amount_minor'] - already} of this charge is left to refund",
                field="amount_minor",
            )
        currency = charge["currency"]
        net, vat = split_vat(amount_minor, charge["vat_rate_bps"])
        wallet = await ledger.wallet_account(conn, charge["user_id"], currency, now)
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
        await emit(
            conn,
            events.REFUND_ISSUED,
            {
                "user_id": str(charge["user_id"]),
                "related_id": str(charge_id),
                "amount_minor": amount_minor,
                "currency": currency,
            },
        )
        return {"charge_id": str(charge_id), "refunded_minor": already + amount_minor}

    async with transaction(platform.pool) as conn:
        return await run_once(
            conn,
            scope=f"charge:{charge_id}",
            key=idempotency_key,
            kind="charge_refund",
            body={"amount_minor": amount_minor},
            now=now,
            work=lambda: work(conn),
        )


# ---- points credit and mentor bonuses -------------------------------------------------


async def credit_points_conversion(
    conn: Connection,
    user_id: uuid.UUID,
    amount_minor: int,
    currency: str,
    idempotency_key: str,
    *,
    now: datetime,
    redemption_id: uuid.UUID | None = None,
) -> Transfer:
    """Land converted points as wallet credit, inside the caller's transaction. A retry
    with the same key is a no-op; a different amount is a 422. With a `redemption_id`
    the points domain hears back through `points.credit_landed`."""
    if amount_minor <= 0:
        raise InvalidInput("a credit is a positive amount", field="amount_minor")
    created: list[Transfer] = []
    [transfer] = await ledger.create_transfers(
        conn,
        [
            TransferSpec(
                idempotency_key=f"points-credit:{idempotency_key}",
                code="points_credit",
                debit_account_id=await ledger.platform_account(
                    conn, AccountCode.POINTS_FUNDING, currency, now
                ),
                credit_account_id=await ledger.wallet_account(conn, user_id, currency, now),
                amount_minor=amount_minor,
                currency=currency,
                reference=idempotency_key,
            )
        ],
        now=now,
        created=created,
    )
    if created and redemption_id is not None:
        await emit(
            conn,
            events.POINTS_CREDIT_LANDED,
            {
                "user_id": str(user_id),
                "redemption_id": str(redemption_id),
                "amount_minor": amount_minor,
                "currency": currency,
                "transfer_id": str(transfer.id),
            },
        )
    return transfer


class PointsRedeemedForCredit(msgspec.Struct, kw_only=True):
    user_id: uuid.UUID
    redemption_id: uuid.UUID
    amount_minor: int
    currency: str


async def on_points_redeemed_for_credit(conn: Connection, event: Event, now: datetime) -> None:
    """Consumer of `points.redeemed_for_credit`: the released redemption lands in the
    wallet once (keyed by the redemption), and `points.credit_landed` answers."""
    redeemed = msgspec.convert(event.payload, PointsRedeemedForCredit)
    await credit_points_conversion(
        conn,
        redeemed.user_id,
        redeemed.amount_minor,
        redeemed.currency,
        f"redemption:{redeemed.redemption_id}",
        now=now,
        redemption_id=redeemed.redemption_id,
    )


@dataclass(frozen=True, slots=True)
class MentorMonth:
    """What the mentorship domain knows about a mentor's month."""

    mentor_id: uuid.UUID
    avg_rating: float
    attendance_bps: int  # sessions attended / sessions booked, in basis points


BONUS_MIN_RATING = 4.7
BONUS_MIN_ATTENDANCE_BPS = 8_000


def bonus_eligible(stats: MentorMonth) -> bool:
    return stats.avg_rating > BONUS_MIN_RATING and stats.attendance_bps >= BONUS_MIN_ATTENDANCE_BPS


async def pay_mentor_bonuses(
    platform: Platform, month: str, stats: Sequence[MentorMonth]
) -> list[uuid.UUID]:
    """Credit the fixed monthly bonus (KES) to every mentor above 4.7 average rating with
    at least 80% attendance; once per mentor and month."""
    now = platform.clock.now()
    amount = platform.settings.wallet_mentor_bonus_kes_minor
    paid: list[uuid.UUID] = []
    if amount <= 0:
        return paid
    async with transaction(platform.pool) as conn:
        for item in stats:
            if not bonus_eligible(item):
                continue
            transfer = await ledger.create_transfer(
                conn,
                TransferSpec(
                    idempotency_key=f"mentor-bonus:{item.mentor_id}:{month}",
                    code="mentor_bonus",
                    debit_account_id=await ledger.platform_account(
                        conn, AccountCode.BONUS_EXPENSE, "KES", now
                    ),
                    credit_account_id=await ledger.wallet_account(conn, item.mentor_id, "KES", now),
                    amount_minor=amount,
                    currency="KES",
                    reference=month,
                ),
                now=now,
            )
            if await store.insert_mentor_bonus(
                conn,
                mentor_id=item.mentor_id,
                month=month,
                amount_minor=amount,
                currency="KES",
                avg_rating=item.avg_rating,
                attendance_bps=item.attendance_bps,
                transfer_id=transfer.id,
                now=now,
            ):
                paid.append(item.mentor_id)
    return paid


def previous_month(now: datetime) -> str:
    first = now.astimezone(UTC).replace(day=1)
    last_month = first - timedelta(days=1)
    return f"{last_month.year}-{last_month.month:02d}"


async def expire_timed_out_transfers(platform: Platform) -> int:
    """Void pending ledger transfers whose timeout has passed."""
    async with transaction(platform.pool) as conn:
        return await ledger.expire_pending_transfers(conn, now=platform.clock.now())
