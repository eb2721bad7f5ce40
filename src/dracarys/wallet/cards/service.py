"""Card events after a deposit. Stripe's webhooks are verified, de-duplicated by event id
and applied by what each object's state says (never by arrival order): checkout sessions
settle deposits (then the card that paid is remembered by a digest of its fingerprint),
disputes open and close chargebacks, refunds settle the refunds an admin sent back to the
card."""

from __future__ import annotations

import uuid
from datetime import datetime

import structlog

from dracarys.db import Connection, transaction
from dracarys.errors import InvalidInput, NotFound
from dracarys.identity import record_audit
from dracarys.outbox import emit_event
from dracarys.payments import (
    CheckoutSessionObject,
    DisputeObject,
    RefundObject,
    StripeEvent,
    StripeGateway,
    verify_webhook,
    webhook_secrets,
)
from dracarys.platform import Platform
from dracarys.wallet.cards import store
from dracarys.wallet.cards.models import Chargeback, ChargebackView
from dracarys.wallet.deposits import service as deposits
from dracarys.wallet.deposits.models import Deposit
from dracarys.wallet.events import ChargebackClosed, ChargebackOpened, RefundIssued
from dracarys.wallet.ledger import service as ledger
from dracarys.wallet.ledger.models import AccountCode
from dracarys.wallet.models import ID_NAMESPACE

log = structlog.get_logger("dracarys.wallet")


async def handle_stripe_webhook(platform: Platform, payload: bytes, signature: str) -> bool:
    """Verify, de-duplicate by event id, and apply; returns whether the event was new."""
    now = platform.clock.now()
    event = verify_webhook(payload, signature, webhook_secrets(platform.settings), now=now)
    async with transaction(platform.pool) as conn:
        if not await store.record_stripe_event(conn, event.id, event.kind, now):
            return False
        await _apply_stripe_event(conn, event, now)
    if event.kind in _CHECKOUT_PAID:
        session = event.object_as(CheckoutSessionObject)
        if session.payment_status == "paid" and session.payment_intent:
            # After the deposit is settled, so that Stripe being slow or failing to
            # answer never holds or undoes it.
            await deposits.remember_card(platform, session.payment_intent)
    return True


_CHECKOUT_PAID = ("checkout.session.completed", "checkout.session.async_payment_succeeded")


def _uuid_or_none(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


async def _apply_stripe_event(conn: Connection, event: StripeEvent, now: datetime) -> None:
    kind = event.kind
    if kind.startswith("checkout.session."):
        await deposits.apply_checkout_session(
            conn,
            event_id=event.id,
            kind=kind,
            session=event.object_as(CheckoutSessionObject),
            now=now,
        )
    elif kind.startswith("charge.dispute."):
        await _apply_card_dispute(conn, kind, event.object_as(DisputeObject), now)
    elif kind in ("refund.created", "refund.updated", "refund.failed", "charge.refund.updated"):
        refund = event.object_as(RefundObject)
        refund_id = _uuid_or_none(refund.metadata.get("refund_id"))
        if refund_id is not None:
            await _settle_card_refund(conn, refund_id, str(refund.status), refund.id, now)


# ---- chargebacks ----------------------------------------------------------------------


async def _apply_card_dispute(
    conn: Connection, kind: str, dispute: DisputeObject, now: datetime
) -> None:
    """A chargeback on a card deposit. Whichever event about it arrives first opens it:
    up to the disputed amount is held in the wallet (what the wallet has; the money may
    be spent already). `charge.dispute.closed` then releases the hold (won) or takes it
    (lost), recording what the wallet could not cover. Effects depend on the dispute's
    state, so a closed event before the created one ends in the same place."""
    intent = dispute.payment_intent
    deposit = await deposits.locked_card_deposit(conn, intent) if intent else None
    if deposit is None:
        log.warning("stripe_dispute_without_deposit", dispute=dispute.id, type=kind)
        return
    chargeback = await store.lock_chargeback(conn, dispute.id)
    if chargeback is None:
        chargeback = await _open_chargeback(conn, deposit, dispute, now)
    closed = kind == "charge.dispute.closed"
    outcome = dispute.status
    if (
        not closed
        or chargeback.status != "open"
        or outcome not in ("won", "lost", "warning_closed")
    ):
        return
    won = outcome != "lost"  # an inquiry closed without a chargeback costs nothing
    reference = f"chargeback:{dispute.id}"
    if chargeback.hold_transfer_id is not None:
        settle = ledger.void_pending if won else ledger.post_pending
        await settle(
            conn,
            chargeback.hold_transfer_id,
            idempotency_key=f"{reference}:{'release' if won else 'take'}",
            code="chargeback_released" if won else "chargeback",
            now=now,
            reference=str(deposit.id),
        )
    unrecovered = 0 if won else chargeback.amount_minor - chargeback.held_minor
    status = "won" if won else "lost"
    await store.close_chargeback(
        conn, dispute.id, status=status, unrecovered_minor=unrecovered, now=now
    )
    await emit_event(
        conn,
        ChargebackClosed(
            user_id=chargeback.user_id,
            chargeback_id=chargeback.id,
            deposit_id=chargeback.deposit_id,
            amount_minor=chargeback.amount_minor,
            currency=chargeback.currency,
            held_minor=chargeback.held_minor,
            status=status,
            unrecovered_minor=unrecovered,
        ),
    )
    if not won:
        # The money went back to the card, as with a refund: whatever was awarded for
        # the deposit (points for a first deposit) is voided by its consumers.
        await emit_event(
            conn,
            RefundIssued(
                user_id=chargeback.user_id,
                related_id=deposit.id,
                amount_minor=chargeback.amount_minor,
                currency=chargeback.currency,
                reference=reference,
            ),
        )
    log.warning("chargeback_closed", chargeback=dispute.id, status=status, unrecovered=unrecovered)


async def _open_chargeback(
    conn: Connection, deposit: Deposit, dispute: DisputeObject, now: datetime
) -> Chargeback:
    currency = deposit.currency
    if (dispute.currency or "").upper() != currency:
        log.warning("stripe_dispute_currency_differs", dispute=dispute.id)
    amount = dispute.amount or deposit.amount_minor
    wallet = await ledger.wallet_account(conn, deposit.user_id, currency, now)
    available = (await ledger.balance_of(conn, wallet)).available_minor
    held = max(0, min(amount, available))
    hold_id: uuid.UUID | None = None
    if held:
        hold = await ledger.open_pending(
            conn,
            idempotency_key=f"chargeback:{dispute.id}:hold",
            code="chargeback_hold",
            debit_account_id=wallet,
            credit_account_id=await ledger.platform_account(
                conn, AccountCode.STRIPE_CLEARING, currency, now
            ),
            amount_minor=held,
            currency=currency,
            reference=str(deposit.id),
            now=now,
        )
        hold_id = hold.id
    chargeback = await store.insert_chargeback(
        conn,
        chargeback_id=dispute.id,
        deposit_id=deposit.id,
        user_id=deposit.user_id,
        amount_minor=amount,
        currency=currency,
        reason=dispute.reason or "",
        held_minor=held,
        hold_transfer_id=hold_id,
        now=now,
    )
    await emit_event(
        conn,
        ChargebackOpened(
            user_id=chargeback.user_id,
            chargeback_id=chargeback.id,
            deposit_id=chargeback.deposit_id,
            amount_minor=chargeback.amount_minor,
            currency=chargeback.currency,
            held_minor=chargeback.held_minor,
        ),
    )
    log.warning("chargeback_opened", chargeback=chargeback.id, amount=amount, held=held)
    return chargeback


def _chargeback_view(chargeback: Chargeback) -> ChargebackView:
    return ChargebackView(
        id=chargeback.id,
        deposit_id=chargeback.deposit_id,
        user_id=chargeback.user_id,
        amount_minor=chargeback.amount_minor,
        currency=chargeback.currency,
        reason=chargeback.reason,
        status=chargeback.status,
        held_minor=chargeback.held_minor,
        unrecovered_minor=chargeback.unrecovered_minor,
        created_at=chargeback.created_at,
        updated_at=chargeback.updated_at,
    )


async def recent_chargebacks(platform: Platform, limit: int) -> list[ChargebackView]:
    """The admins' list: open chargebacks first, then the latest decided."""
    async with platform.pool.acquire() as conn:
        return [_chargeback_view(c) for c in await store.recent_chargebacks(conn, limit)]


# ---- refunds to the card --------------------------------------------------------------


async def _settle_card_refund(
    conn: Connection, refund_id: uuid.UUID, status: str, stripe_id: str | None, now: datetime
) -> None:
    refund = await store.lock_card_refund(conn, refund_id)
    if refund is None or refund.status != "pending":
        return
    if status == "succeeded":
        await ledger.post_pending(
            conn,
            refund.pending_transfer_id,
            idempotency_key=f"card-refund:{refund_id}:post",
            code="card_refund",
            now=now,
            reference=str(refund.deposit_id),
        )
        await store.set_card_refund(
            conn, refund_id, status="succeeded", stripe_refund_id=stripe_id, now=now
        )
        await emit_event(
            conn,
            RefundIssued(
                user_id=refund.user_id,
                related_id=refund.deposit_id,
                amount_minor=refund.amount_minor,
                currency=refund.currency,
                reference="card_refund",
            ),
        )
    elif status in ("failed", "canceled"):
        await ledger.void_pending(
            conn,
            refund.pending_transfer_id,
            idempotency_key=f"card-refund:{refund_id}:void",
            code="card_refund_failed",
            now=now,
            reference=str(refund.deposit_id),
        )
        await store.set_card_refund(
            conn, refund_id, status="failed", stripe_refund_id=stripe_id, now=now
        )


async def refund_card_deposit(
    platform: Platform,
    deposit_id: uuid.UUID,
    *,
    amount_minor: int,
    idempotency_key: str,
    actor: uuid.UUID,
    source_ip: str | None,
) -> str:
    """Send (part of) a card deposit back to the card: the amount is reserved in the
    wallet at once, taken when Stripe confirms the refund, returned if it fails."""
    now = platform.clock.now()
    refund_id = uuid.uuid5(ID_NAMESPACE, f"card-refund:{deposit_id}:{idempotency_key}")
    async with transaction(platform.pool) as conn:
        deposit = await deposits.locked_deposit(conn, deposit_id)
        if deposit is None or deposit.method != "stripe" or deposit.status != "completed":
            raise NotFound("no completed card deposit with that id", field="deposit_id")
        existing = await store.lock_card_refund(conn, refund_id)
        if existing is None:
            already = await store.refunded_of_deposit(conn, deposit_id)
            if amount_minor <= 0 or already + amount_minor > deposit.amount_minor:
                raise InvalidInput(
                    "a refund cannot exceed what is left of the deposit", field="amount_minor"
                )
            currency = deposit.currency
            reserve = await ledger.open_pending(
                conn,
                idempotency_key=f"card-refund:{refund_id}:pending",
                code="card_refund",
                debit_account_id=await ledger.wallet_account(conn, deposit.user_id, currency, now),
                credit_account_id=await ledger.platform_account(
                    conn, AccountCode.STRIPE_CLEARING, currency, now
                ),
                amount_minor=amount_minor,
                currency=currency,
                reference=str(deposit_id),
                now=now,
            )
            await store.insert_card_refund(
                conn,
                refund_id=refund_id,
                deposit_id=deposit_id,
                amount_minor=amount_minor,
                currency=currency,
                pending_transfer_id=reserve.id,
                now=now,
            )
            await record_audit(
                conn,
                actor,
                "card_deposit.refunded",
                f"deposit:{deposit_id}",
                source_ip,
                {
                    "user_id": str(deposit.user_id),
                    "amount_minor": amount_minor,
                    "currency": currency,
                    "refund_id": str(refund_id),
                },
                at=now,
            )
        elif existing.amount_minor != amount_minor:
            raise InvalidInput(
                "this idempotency key was used for a different refund", field="idempotency_key"
            )
        elif existing.status != "pending":
            return existing.status
    try:
        sent = await StripeGateway(platform.settings).refund(
            payment_intent=str(deposit.provider_receipt),
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
