"""The M-Pesa side of payouts, and settling a payout. An M-Pesa payout moves queued →
sending → sent → completed | failed | needs_review, and every step is committed on its
own, so a process killed between any two leaves a state the system finishes from:

- `sending`: the attempt (with its own OriginatorConversationID) is on record and its
  request may or may not have reached Daraja. It is never sent again unasked: past
  `wallet_payout_reconcile_after_s` the reconciliation job asks Daraja's
  transaction-status query about exactly that attempt.
- `sent`: Daraja took the request in (its ConversationID is stored); the B2C result, or
  the reconciliation job's query, settles it.
- A new attempt goes out only after Daraja refused the last one, reported it timed out in
  its queue, failed, or (for one it never acknowledged) had no record of it. Still unknown
  after `wallet_payout_status_queries` queries, the payout is held for an admin, the money
  still reserved.

The reserved money is a pending ledger transfer: posted when M-Pesa (or an admin)
confirms the payment (`complete_payout`), voided when the payout fails (`fail_payout`)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import structlog

from dracarys.db import Connection, transaction
from dracarys.errors import InvalidInput
from dracarys.money import format_money
from dracarys.outbox import emit_event
from dracarys.payments import (
    DarajaError,
    DarajaGateway,
    DarajaOutcomeUnknown,
    b2c_paid_minor,
    read_result,
    result_as_received,
    transaction_status_answer,
)

# Re-exported: the callbacks' handlers check the URL's token before reading the body.
from dracarys.payments import check_callback_token as check_callback_token
from dracarys.platform import Platform
from dracarys.settings import Settings
from dracarys.wallet.events import PayoutCompleted, PayoutFailed, PayoutNeedsReview
from dracarys.wallet.ledger import service as ledger
from dracarys.wallet.models import ID_NAMESPACE
from dracarys.wallet.payment_details import service as payment_details
from dracarys.wallet.payouts import store
from dracarys.wallet.payouts.models import Payout, PayoutAttempt

log = structlog.get_logger("dracarys.wallet.payouts")
IN_FLIGHT = ("sending", "sent")
OPEN_ATTEMPT = ("sending", "accepted")
# Stands for the payout's destination in a failure reason that names it: the number is
# sealed, so the stored reason keeps this and the payout's view puts the number in.
DESTINATION = "{destination}"
# How many in-flight payouts one reconciliation run asks about.
_RECONCILE_BATCH = 200


def attempt_originator_id(payout_id: uuid.UUID, attempt: int) -> str:
    """The OriginatorConversationID of one send: stable, so a retried dispatch of the same
    attempt cannot mint a second one, and different for every attempt, so a status query
    names exactly one request."""
    return str(uuid.uuid5(ID_NAMESPACE, f"payout-attempt:{payout_id}:{attempt}"))


def reconcile_after(settings: Settings) -> timedelta:
    return timedelta(seconds=settings.wallet_payout_reconcile_after_s)


# ---- settling -------------------------------------------------------------------------


async def fail_payout(conn: Connection, payout: Payout, reason: str, now: datetime) -> None:
    """Return the reserved money to the wallet and mark the payout failed."""
    await ledger.void_pending(
        conn,
        payout.pending_transfer_id,
        idempotency_key=f"payout:{payout.id}:void",
        code="payout_failed",
        now=now,
        reference=str(payout.id),
    )
    await store.update_payout(
        conn, payout.id, status="failed", now=now, failure_reason=reason[:500]
    )
    await emit_event(
        conn,
        PayoutFailed(
            user_id=payout.user_id,
            payout_id=payout.id,
            amount_minor=payout.amount_minor,
            currency=payout.currency,
            reason=reason[:500],
        ),
    )


async def complete_payout(
    conn: Connection, payout: Payout, receipt: str | None, now: datetime
) -> None:
    """The money left: take the reserved amount out of the wallet for good."""
    await ledger.post_pending(
        conn,
        payout.pending_transfer_id,
        idempotency_key=f"payout:{payout.id}:post",
        code="payout",
        now=now,
        reference=str(payout.id),
    )
    await store.update_payout(
        conn, payout.id, status="completed", now=now, provider_receipt=receipt
    )
    await emit_event(
        conn,
        PayoutCompleted(
            user_id=payout.user_id,
            payout_id=payout.id,
            amount_minor=payout.amount_minor,
            currency=payout.currency,
            method=payout.method,
        ),
    )


async def _retry_or_fail(
    conn: Connection, payout: Payout, reason: str, settings: Settings, now: datetime
) -> None:
    """The last attempt surely paid nothing: send again after a backoff, or, when it was
    the last one allowed, give the money back."""
    attempts = payout.attempts
    if attempts >= settings.wallet_payout_max_attempts:
        await fail_payout(conn, payout, f"gave up after {attempts} attempts: {reason}", now)
        return
    await store.update_payout(
        conn,
        payout.id,
        status="queued",
        now=now,
        next_attempt_at=now + timedelta(minutes=2**attempts),
        failure_reason=reason[:500],
    )


async def _hold_payout_for_review(
    conn: Connection, payout: Payout, receipt: str | None, reason: str, now: datetime
) -> None:
    """Neither finish nor refund on our own: the reserved money stays reserved until an
    admin decides (`resolve_payout_review`)."""
    await store.update_payout(
        conn, payout.id, status="needs_review", now=now, provider_receipt=receipt or None
    )
    await store.set_payout_review_reason(conn, payout.id, reason[:500])
    log.warning("payout held for review", payout_id=str(payout.id), reason=reason)
    await emit_event(
        conn,
        PayoutNeedsReview(
            user_id=payout.user_id,
            payout_id=payout.id,
            amount_minor=payout.amount_minor,
            currency=payout.currency,
            reason=reason,
        ),
    )


def _is_current(payout: Payout, originator_id: str) -> bool:
    """The payout is in flight on this very attempt."""
    return payout.status in IN_FLIGHT and payout.originator_conversation_id == originator_id


def _awaits_answer(payout: Payout, attempt: PayoutAttempt) -> bool:
    """M-Pesa's answer about `attempt` decides the payout: it is in flight on it, or held
    for an admin only because no answer came."""
    originator_id = attempt.originator_conversation_id
    return _is_current(payout, originator_id) or (
        payout.status == "needs_review"
        and payout.originator_conversation_id == originator_id
        and attempt.status in OPEN_ATTEMPT
    )


async def _apply_paid_attempt(
    conn: Connection,
    payout: Payout,
    attempt: PayoutAttempt,
    *,
    paid_minor: int | None,
    receipt: str | None,
    now: datetime,
) -> None:
    """M-Pesa paid this attempt. Finish the payout once; an attempt given up on that paid
    after all finishes it too (a queued payout then never goes out again)."""
    decides = payout.status == "queued" or _awaits_answer(payout, attempt)
    await store.settle_payout_attempt(
        conn, attempt.originator_conversation_id, "paid", now, receipt=receipt
    )
    if not decides:
        if attempt.status != "paid" and payout.status in ("completed", "failed"):
            # Only Daraja contradicting itself (or an admin's decision) gets here.
            log.error(
                "M-Pesa paid an attempt of a payout already settled",
                payout_id=str(payout.id),
                status=payout.status,
                attempt=attempt.attempt,
                receipt=receipt,
            )
        return
    if paid_minor == payout.amount_minor:
        await complete_payout(conn, payout, receipt, now)
        return
    currency = payout.currency
    reported = "no amount" if paid_minor is None else format_money(paid_minor, currency)
    expected = format_money(payout.amount_minor, currency)
    await _hold_payout_for_review(
        conn, payout, receipt, f"M-Pesa reports {reported} paid for a payout of {expected}", now
    )


# ---- sending ----------------------------------------------------------------------------


async def _status_of(conn: Connection, payout_id: uuid.UUID) -> str:
    payout = await store.lock_payout(conn, payout_id)
    assert payout is not None
    return payout.status


async def dispatch_payout(platform: Platform, payout_id: uuid.UUID) -> str:
    """Send a queued M-Pesa payout as a new attempt; → the payout's status after. A
    refusal is retried with backoff (after the last attempt the money goes back); an
    answer that never came leaves the payout `sending` for reconciliation."""
    settings = platform.settings
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        payout = await store.lock_payout(conn, payout_id)
        if payout is None or payout.status != "queued" or payout.method != "mpesa":
            return "skipped" if payout is None else payout.status
        attempt = payout.attempts + 1
        originator_id = attempt_originator_id(payout_id, attempt)
        # Committed before the request leaves: a crash from here on leaves `sending`,
        # which only a status query about this originator id moves on from.
        await store.start_payout_attempt(
            conn,
            payout_id,
            attempt=attempt,
            originator_id=originator_id,
            now=now,
            first_query_at=now + reconcile_after(settings),
        )
    assert payout.destination_sealed is not None
    try:
        accepted = await DarajaGateway(settings, platform.clock).b2c(
            originator_id=originator_id,
            phone=payment_details.open_destination(settings, payout.id, payout.destination_sealed),
            amount_minor=payout.amount_minor,
            currency=payout.currency,
            remarks=f"Dracarys {payout.kind}",
            occasion=str(payout_id),
        )
    except DarajaOutcomeUnknown as exc:
        log.warning("b2c_outcome_unknown", payout_id=str(payout_id), error=exc.detail)
        async with transaction(platform.pool) as conn:
            await store.note_payout_attempt(conn, originator_id, exc.detail, platform.clock.now())
        return "sending"
    except (DarajaError, InvalidInput) as exc:
        # Nothing left: Daraja refused the request, or it was never made because the
        # destination is no M-Pesa number (which no retry mends).
        async with transaction(platform.pool) as conn:
            locked = await store.lock_payout(conn, payout_id)
            assert locked is not None
            await store.settle_payout_attempt(
                conn, originator_id, "refused", platform.clock.now(), detail=exc.detail
            )
            if isinstance(exc, InvalidInput) and _is_current(locked, originator_id):
                reason = f"cannot pay {DESTINATION} through M-Pesa: {exc.detail}"
                await fail_payout(conn, locked, reason, platform.clock.now())
            elif _is_current(locked, originator_id):
                await _retry_or_fail(conn, locked, exc.detail, settings, platform.clock.now())
            return await _status_of(conn, payout_id)
    async with transaction(platform.pool) as conn:
        locked = await store.lock_payout(conn, payout_id)
        assert locked is not None
        await store.accept_payout_attempt(
            conn, originator_id, accepted.conversation_id, platform.clock.now()
        )
        if locked.status == "sending" and _is_current(locked, originator_id):
            await store.update_payout(
                conn,
                payout_id,
                status="sent",
                now=platform.clock.now(),
                conversation_id=accepted.conversation_id,
            )
            return "sent"
        return locked.status


async def retry_due_payouts(platform: Platform) -> int:
    """The scheduled job: send again the payouts whose backoff is over."""
    async with platform.pool.acquire() as conn:
        due = await store.due_payout_ids(conn, platform.clock.now())
    for payout_id in due:
        await dispatch_payout(platform, payout_id)
    return len(due)


# ---- M-Pesa's answers -----------------------------------------------------------------


async def _lock_attempt(
    conn: Connection, originator_id: str
) -> tuple[Payout, PayoutAttempt] | None:
    """The payout (locked) and the attempt an M-Pesa answer names."""
    attempt = await store.get_payout_attempt(conn, originator_id)
    if attempt is None:
        return None
    payout = await store.lock_payout(conn, attempt.payout_id)
    assert payout is not None
    # Re-read under the payout's lock, which every writer of attempts holds.
    attempt = await store.get_payout_attempt(conn, originator_id)
    assert attempt is not None
    return payout, attempt


async def handle_b2c_result(
    platform: Platform, token: str, payload: dict[str, Any], *, queue_timeout: bool
) -> None:
    """Apply a B2C result (ResultURL) or queue time-out (QueueTimeOutURL) once: it names
    its attempt by OriginatorConversationID."""
    check_callback_token(platform.settings, token)
    result = read_result(payload)
    if not result.originator_conversation_id:
        raise InvalidInput(
            "a B2C result names its request", field="Result.OriginatorConversationID"
        )
    now = platform.clock.now()
    originator_id = result.originator_conversation_id
    async with transaction(platform.pool) as conn:
        await payment_details.record_callback(
            conn,
            platform.settings,
            provider="mpesa",
            kind="b2c_timeout" if queue_timeout else "b2c_result",
            reference=originator_id,
            payload=result_as_received(payload),
            now=now,
        )
        found = await _lock_attempt(conn, originator_id)
        if found is None:
            return
        payout, attempt = found
        if queue_timeout or not result.succeeded:
            outcome = "timed_out" if queue_timeout else "failed"
            reason = "queue timeout" if queue_timeout else (result.result_desc or "failed")
            if attempt.status in OPEN_ATTEMPT:
                await store.settle_payout_attempt(
                    conn, originator_id, outcome, now, detail=reason[:500]
                )
            if not _awaits_answer(payout, attempt):
                return  # a stale or repeated answer about an attempt already settled
            if queue_timeout:
                # Expired in Daraja's queue unprocessed: safe to send again.
                await _retry_or_fail(conn, payout, reason, platform.settings, now)
            else:
                await fail_payout(conn, payout, reason, now)
            return
        receipt = result.transaction_id or None
        await _apply_paid_attempt(
            conn, payout, attempt, paid_minor=b2c_paid_minor(result), receipt=receipt, now=now
        )


# ---- reconciliation -------------------------------------------------------------------


async def reconcile_payouts_in_flight(platform: Platform) -> int:
    """Ask Daraja's transaction-status query about every payout whose current attempt has
    been in flight past the deadline with no outcome (again after each further interval);
    hold for an admin those still unknown after the allowed number of queries. The
    answers arrive on `handle_status_result`. → the number of queries sent."""
    settings = platform.settings
    now = platform.clock.now()
    async with platform.pool.acquire() as conn:
        due = await store.payouts_due_for_status_query(conn, now, _RECONCILE_BATCH)
    gateway = DarajaGateway(settings, platform.clock) if due else None
    asked = 0
    for payout_id in due:
        async with transaction(platform.pool) as conn:
            payout = await store.lock_payout(conn, payout_id)
            if payout is None or payout.status not in IN_FLIGHT:
                continue
            originator_id = str(payout.originator_conversation_id)
            attempt = await store.get_payout_attempt(conn, originator_id)
            if attempt is None or attempt.next_query_at > now:
                continue  # another reconciler took this one
            if attempt.status_queries >= settings.wallet_payout_status_queries:
                await _hold_payout_for_review(
                    conn,
                    payout,
                    None,
                    f"M-Pesa has not said what became of attempt {attempt.attempt} "
                    f"(sent {attempt.started_at.isoformat(timespec='seconds')}) after "
                    f"{attempt.status_queries} status queries; check it in the M-Pesa "
                    "portal and settle it here",
                    now,
                )
                continue
            await store.count_status_query(
                conn, originator_id, now, now + reconcile_after(settings)
            )
        assert gateway is not None
        try:
            await gateway.transaction_status(originator_id)
        except DarajaError as exc:
            log.warning("status_query_failed", payout_id=str(payout_id), error=exc.detail)
            async with transaction(platform.pool) as conn:
                await store.note_payout_attempt(
                    conn, originator_id, f"status query: {exc.detail}", platform.clock.now()
                )
            continue
        asked += 1
    return asked


async def handle_status_result(
    platform: Platform,
    token: str,
    originator_id: str,
    payload: dict[str, Any],
    *,
    queue_timeout: bool,
) -> None:
    """Apply a transaction-status result about the attempt `originator_id` (named in the
    ResultURL's path) once. Paid finishes the payout; failed, or no record of an attempt
    Daraja never acknowledged, lets it be sent again under the retry policy; anything
    else leaves it for the next query."""
    check_callback_token(platform.settings, token)
    result = read_result(payload)
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        await payment_details.record_callback(
            conn,
            platform.settings,
            provider="mpesa",
            kind="b2c_status_timeout" if queue_timeout else "b2c_status",
            reference=originator_id,
            payload=result_as_received(payload),
            now=now,
        )
        if queue_timeout:
            return  # the query itself expired unanswered: the next run asks again
        found = await _lock_attempt(conn, originator_id)
        if found is None:
            return
        payout, attempt = found
        answer = transaction_status_answer(result)
        if answer.outcome == "paid":
            await _apply_paid_attempt(
                conn,
                payout,
                attempt,
                paid_minor=answer.paid_minor,
                receipt=answer.receipt,
                now=now,
            )
            return
        # Daraja acknowledged the request, so it exists in M-Pesa: "no record" of it then
        # says nothing safe, and sending again could pay twice.
        settled = answer.outcome == "unpaid" or (
            answer.outcome == "not_found" and attempt.status == "sending"
        )
        if not settled:
            await store.note_payout_attempt(
                conn, originator_id, f"status query: {answer.description}"[:500], now
            )
            return
        decides = _awaits_answer(payout, attempt)
        if attempt.status in OPEN_ATTEMPT:
            await store.settle_payout_attempt(
                conn,
                originator_id,
                "failed" if answer.outcome == "unpaid" else "not_found",
                now,
                detail=answer.description[:500],
            )
        if decides:
            await _retry_or_fail(
                conn, payout, f"M-Pesa: {answer.description}", platform.settings, now
            )
