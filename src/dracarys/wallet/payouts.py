"""Withdrawals and weekly payouts: M-Pesa B2C or a bank transfer an admin records. An
M-Pesa payout moves queued → sending → sent → completed | failed | needs_review, and every
step is committed on its own, so a process killed between any two leaves a state the
system finishes from:

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
confirms the payment, voided when the payout fails."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import asyncpg
import msgspec
import structlog

from dracarys.db import Connection, transaction
from dracarys.errors import Conflict, Forbidden, InvalidInput, NotFound
from dracarys.identity import CurrentUser, contacts_of, record_audit, verify_step_up
from dracarys.outbox import emit
from dracarys.payments.daraja import (
    DarajaError,
    DarajaGateway,
    DarajaOutcomeUnknown,
    b2c_paid_minor,
    normalise_phone,
    read_result,
    transaction_status_answer,
    whole_shillings,
)
from dracarys.platform import Platform
from dracarys.settings import Settings
from dracarys.wallet import events, invoices, ledger, payment_details, store
from dracarys.wallet.ledger import InsufficientFunds
from dracarys.wallet.models import (
    SUPPORTED_CURRENCIES,
    AccountCode,
    PayoutView,
    TransferKind,
    TransferSpec,
    WithdrawRequest,
)
from dracarys.wallet.operations import run_once
from dracarys.wallet.policy import (
    daily_withdraw_limit_minor,
    payout_minimum_minor,
    step_up_threshold_minor,
)
from dracarys.wallet.service import ID_NAMESPACE, check_callback_token, own_wallet

log = structlog.get_logger("dracarys.wallet.payouts")
_IN_FLIGHT = ("sending", "sent")
# Stands for the payout's destination in a failure reason that names it: the number is
# sealed, so the stored reason keeps this and `payout_view` puts the number in.
_DESTINATION = "{destination}"
_OPEN_ATTEMPT = ("sending", "accepted")
# How many in-flight payouts one reconciliation run asks about.
_RECONCILE_BATCH = 200


def attempt_originator_id(payout_id: uuid.UUID, attempt: int) -> str:
    """The OriginatorConversationID of one send: stable, so a retried dispatch of the same
    attempt cannot mint a second one, and different for every attempt, so a status query
    names exactly one request."""
    return str(uuid.uuid5(ID_NAMESPACE, f"payout-attempt:{payout_id}:{attempt}"))


def _reconcile_after(settings: Settings) -> timedelta:
    return timedelta(seconds=settings.wallet_payout_reconcile_after_s)


# ---- views ----------------------------------------------------------------------------


def payout_view(
    settings: Settings, row: asyncpg.Record, *, stuck_reason: str | None = None
) -> PayoutView:
    """`row` from `store.get_payout` or `store.payouts_awaiting_admin` (with the current
    attempt). A failure reason naming the destination gets it opened here, for the
    payout's owner or an admin: the database keeps the placeholder."""
    open_attempt = row["attempt_status"] in _OPEN_ATTEMPT
    failure_reason = row["failure_reason"]
    if failure_reason is not None and _DESTINATION in failure_reason:
        destination = payment_details.open_destination(settings, row)
        failure_reason = failure_reason.replace(_DESTINATION, destination)
    return PayoutView(
        id=row["id"],
        user_id=row["user_id"],
        kind=row["kind"],
        method=row["method"],
        amount_minor=row["amount_minor"],
        currency=row["currency"],
        status=row["status"],
        attempts=row["attempts"],
        failure_reason=failure_reason,
        review_reason=row["review_reason"],
        in_flight_since=row["attempt_started_at"] if open_attempt else None,
        stuck_reason=stuck_reason,
    )


async def _view_of(conn: Connection, settings: Settings, payout_id: uuid.UUID) -> PayoutView:
    row = await store.get_payout(conn, payout_id)
    assert row is not None
    return payout_view(settings, row)


async def get_payout(platform: Platform, actor: CurrentUser, payout_id: uuid.UUID) -> PayoutView:
    async with platform.pool.acquire() as conn:
        row = await store.get_payout(conn, payout_id)
    if row is None or not actor.may_read_as_owner(row["user_id"]):
        raise NotFound("no such payout", field="payout_id")
    return payout_view(platform.settings, row)


def _stuck_reason(row: asyncpg.Record, settings: Settings) -> str | None:
    if row["status"] not in _IN_FLIGHT:
        return None
    asked = f"{row['status_queries']} of {settings.wallet_payout_status_queries} status queries"
    if row["status"] == "sending":
        reason = (
            f"attempt {row['attempt_number']}: M-Pesa never confirmed taking the request "
            f"(it may not have arrived); {asked} asked"
        )
    else:
        reason = (
            f"attempt {row['attempt_number']}: M-Pesa took the request but sent no result; "
            f"{asked} asked"
        )
    detail = row["attempt_detail"]
    return f"{reason}; last: {detail}" if detail else reason


async def payouts_awaiting_admin(platform: Platform) -> list[PayoutView]:
    """Payouts only an admin can move on, oldest first: held for review, bank transfers to
    make, and M-Pesa sends in flight past the reconciliation deadline (with since when
    and why), which the reconciliation job is still asking about."""
    settings = platform.settings
    stuck_since = platform.clock.now() - _reconcile_after(settings)
    async with platform.pool.acquire() as conn:
        rows = await store.payouts_awaiting_admin(conn, stuck_since)
    return [payout_view(settings, row, stuck_reason=_stuck_reason(row, settings)) for row in rows]


# ---- withdrawals and opening payouts --------------------------------------------------


async def require_step_up(
    conn: Connection, platform: Platform, user_id: uuid.UUID, code: str | None
) -> None:
    """Large withdrawals need a fresh TOTP code, checked (and burnt) by identity's
    `verify_step_up` inside this transaction."""
    if code is None:
        raise Forbidden(
            "withdrawals of this size need a fresh authenticator code in `totp_code`",
            field="totp_code",
        )
    ok = await verify_step_up(conn, platform, user_id=user_id, code=code)
    if not ok:
        raise Forbidden(
            "the authenticator code is wrong or already used, or two-factor sign-in is off",
            field="totp_code",
        )


async def _open_payout(
    conn: Connection,
    settings: Settings,
    *,
    payout_id: uuid.UUID,
    user_id: uuid.UUID,
    batch_id: uuid.UUID | None,
    kind: str,
    method: str,
    destination: str,
    amount_minor: int,
    currency: str,
    now: datetime,
) -> asyncpg.Record:
    reserve = await ledger.create_transfer(
        conn,
        TransferSpec(
            idempotency_key=f"payout:{payout_id}:pending",
            code=kind,
            kind=TransferKind.PENDING,
            debit_account_id=await ledger.wallet_account(conn, user_id, currency, now),
            credit_account_id=await ledger.platform_account(
                conn, AccountCode.PAYOUT_CLEARING, currency, now
            ),
            amount_minor=amount_minor,
            currency=currency,
            reference=str(payout_id),
        ),
        now=now,
    )
    await store.insert_payout(
        conn,
        payout_id=payout_id,
        user_id=user_id,
        batch_id=batch_id,
        kind=kind,
        method=method,
        destination_sealed=payment_details.seal_destination(settings, payout_id, destination),
        amount_minor=amount_minor,
        currency=currency,
        status="queued" if method == "mpesa" else "awaiting_bank_transfer",
        pending_transfer_id=reserve.id,
        now=now,
    )
    row = await store.get_payout(conn, payout_id)
    assert row is not None
    return row


async def request_withdrawal(
    platform: Platform,
    actor: CurrentUser,
    wallet_id: uuid.UUID,
    request: WithdrawRequest,
    idempotency_key: str,
) -> PayoutView:
    """Reserve the amount in the wallet and send it out: M-Pesa B2C at once, or a bank
    transfer an admin records. Needs KYC level 2, a TOTP step-up above the threshold, and
    stays within the daily limit. A retry with the same key answers with the payout's
    state now (never `sent` before M-Pesa took the request in)."""
    own_wallet(actor, wallet_id)
    settings = platform.settings
    now = platform.clock.now()
    if request.method == "mpesa":
        destination = normalise_phone(request.destination)
        whole_shillings(request.amount_minor, request.currency)
    else:
        destination = request.destination

    async def work(conn: Connection) -> dict[str, Any]:
        profile = await store.user_profile(conn, wallet_id)
        if profile is None:
            raise NotFound("no such wallet", field="wallet_id")
        if profile["kyc_level"] < 2:
            raise Forbidden(
                "withdrawals need identity verification (KYC level 2)", field="kyc_level"
            )
        if request.amount_minor >= step_up_threshold_minor(settings, request.currency):
            await require_step_up(conn, platform, wallet_id, request.totp_code)
        # One withdrawal per user at a time past this point keeps the daily sum exact.
        await store.lock_operation_key(conn, "withdraw-limit", str(wallet_id))
        day_start = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        used = await store.withdrawn_since(conn, wallet_id, request.currency, day_start)
        limit = daily_withdraw_limit_minor(settings, request.currency)
        if used + request.amount_minor > limit:
            raise Conflict(
                f"this would pass the daily withdrawal limit ({limit - used} left today)",
                field="amount_minor",
            )
        row = await _open_payout(
            conn,
            settings,
            payout_id=uuid.uuid5(ID_NAMESPACE, f"withdraw:{wallet_id}:{idempotency_key}"),
            user_id=wallet_id,
            batch_id=None,
            kind="withdrawal",
            method=request.method,
            destination=destination,
            amount_minor=request.amount_minor,
            currency=request.currency,
            now=now,
        )
        return msgspec.to_builtins(payout_view(settings, row))  # type: ignore[no-any-return]

    async with transaction(platform.pool) as conn:
        result = await run_once(
            conn,
            scope=f"user:{wallet_id}",
            key=idempotency_key,
            kind="withdraw",
            body=request,
            now=now,
            work=lambda: work(conn),
        )
    view = msgspec.convert(result, PayoutView)
    if view.status == "queued":
        await dispatch_payout(platform, view.id)
    async with platform.pool.acquire() as conn:
        return await _view_of(conn, platform.settings, view.id)


def payout_period(now: datetime) -> str:
    year, week, _ = now.astimezone(UTC).isocalendar()
    return f"{year}-W{week:02d}"


async def run_weekly_payouts(platform: Platform) -> list[uuid.UUID]:
    """Pay every eligible mentor's available balance above the minimum, once per ISO
    week and currency: the batch and each mentor's line in it are unique, so running the
    job again (or on two schedulers) creates nothing twice."""
    now = platform.clock.now()
    period = payout_period(now)
    created: list[uuid.UUID] = []
    for currency in SUPPORTED_CURRENCIES:
        minimum = payout_minimum_minor(platform.settings, currency)
        async with transaction(platform.pool) as conn:
            batch_id = await store.ensure_batch(conn, period, currency, now)
            candidates = await store.payout_candidates(conn, currency, minimum)
            contacts = await contacts_of(
                conn, platform.settings, [c["user_id"] for c in candidates]
            )
        for candidate in candidates:
            user_id = candidate["user_id"]
            amount = int(candidate["available"])
            phone = contacts[user_id].phone
            use_mpesa = currency == "KES" and phone is not None
            if use_mpesa:
                amount -= amount % 100  # M-Pesa pays whole shillings
            if amount < minimum:
                continue
            try:
                async with transaction(platform.pool) as conn:
                    if await store.batch_payout_exists(conn, batch_id, user_id):
                        continue
                    row = await _open_payout(
                        conn,
                        platform.settings,
                        payout_id=uuid.uuid5(ID_NAMESPACE, f"payout:{batch_id}:{user_id}"),
                        user_id=user_id,
                        batch_id=batch_id,
                        kind="scheduled",
                        method="mpesa" if use_mpesa else "bank",
                        destination=str(phone) if use_mpesa else "bank account on file",
                        amount_minor=amount,
                        currency=currency,
                        now=now,
                    )
            except InsufficientFunds:
                continue  # spent since we looked; next week's batch picks up the rest
            created.append(row["id"])
    for payout_id in created:
        await dispatch_payout(platform, payout_id)
    return created


# ---- settling -------------------------------------------------------------------------


async def _fail_payout(
    conn: Connection, payout: asyncpg.Record, reason: str, now: datetime
) -> None:
    """Return the reserved money to the wallet and mark the payout failed."""
    await ledger.void_pending(
        conn,
        payout["pending_transfer_id"],
        idempotency_key=f"payout:{payout['id']}:void",
        code="payout_failed",
        now=now,
        reference=str(payout["id"]),
    )
    await store.update_payout(
        conn, payout["id"], status="failed", now=now, failure_reason=reason[:500]
    )


async def _complete_payout(
    conn: Connection, payout: asyncpg.Record, receipt: str | None, now: datetime
) -> None:
    await ledger.post_pending(
        conn,
        payout["pending_transfer_id"],
        idempotency_key=f"payout:{payout['id']}:post",
        code="payout",
        now=now,
        reference=str(payout["id"]),
    )
    await store.update_payout(
        conn, payout["id"], status="completed", now=now, provider_receipt=receipt
    )
    await emit(
        conn,
        events.PAYOUT_COMPLETED,
        {
            "user_id": str(payout["user_id"]),
            "payout_id": str(payout["id"]),
            "amount_minor": payout["amount_minor"],
            "currency": payout["currency"],
            "method": payout["method"],
        },
    )


async def _retry_or_fail(
    conn: Connection, payout: asyncpg.Record, reason: str, settings: Settings, now: datetime
) -> None:
    """The last attempt surely paid nothing: send again after a backoff, or, when it was
    the last one allowed, give the money back."""
    attempts = payout["attempts"]
    if attempts >= settings.wallet_payout_max_attempts:
        await _fail_payout(conn, payout, f"gave up after {attempts} attempts: {reason}", now)
        return
    await store.update_payout(
        conn,
        payout["id"],
        status="queued",
        now=now,
        next_attempt_at=now + timedelta(minutes=2**attempts),
        failure_reason=reason[:500],
    )


async def _hold_payout_for_review(
    conn: Connection, payout: asyncpg.Record, receipt: str | None, reason: str, now: datetime
) -> None:
    """Neither finish nor refund on our own: the reserved money stays reserved until an
    admin decides (`resolve_payout_review`)."""
    await store.update_payout(
        conn, payout["id"], status="needs_review", now=now, provider_receipt=receipt or None
    )
    await store.set_payout_review_reason(conn, payout["id"], reason[:500])
    log.warning("payout held for review", payout_id=str(payout["id"]), reason=reason)
    await emit(
        conn,
        events.PAYOUT_NEEDS_REVIEW,
        {
            "user_id": str(payout["user_id"]),
            "payout_id": str(payout["id"]),
            "amount_minor": payout["amount_minor"],
            "currency": payout["currency"],
            "reason": reason,
        },
    )


def _is_current(payout: asyncpg.Record, originator_id: str) -> bool:
    """The payout is in flight on this very attempt."""
    return payout["status"] in _IN_FLIGHT and payout["originator_conversation_id"] == originator_id


def _awaits_answer(payout: asyncpg.Record, attempt: asyncpg.Record) -> bool:
    """M-Pesa's answer about `attempt` decides the payout: it is in flight on it, or held
    for an admin only because no answer came."""
    originator_id = attempt["originator_conversation_id"]
    return _is_current(payout, originator_id) or (
        payout["status"] == "needs_review"
        and payout["originator_conversation_id"] == originator_id
        and attempt["status"] in _OPEN_ATTEMPT
    )


async def _apply_paid_attempt(
    conn: Connection,
    payout: asyncpg.Record,
    attempt: asyncpg.Record,
    *,
    paid_minor: int | None,
    receipt: str | None,
    now: datetime,
) -> None:
    """M-Pesa paid this attempt. Finish the payout once; an attempt given up on that paid
    after all finishes it too (a queued payout then never goes out again)."""
    decides = payout["status"] == "queued" or _awaits_answer(payout, attempt)
    await store.settle_payout_attempt(
        conn, attempt["originator_conversation_id"], "paid", now, receipt=receipt
    )
    if not decides:
        if attempt["status"] != "paid" and payout["status"] in ("completed", "failed"):
            # Only Daraja contradicting itself (or an admin's decision) gets here.
            log.error(
                "M-Pesa paid an attempt of a payout already settled",
                payout_id=str(payout["id"]),
                status=payout["status"],
                attempt=attempt["attempt"],
                receipt=receipt,
            )
        return
    if paid_minor == payout["amount_minor"]:
        await _complete_payout(conn, payout, receipt, now)
        return
    reported = "no amount" if paid_minor is None else invoices.money(paid_minor, "KES")
    expected = invoices.money(payout["amount_minor"], "KES")
    await _hold_payout_for_review(
        conn, payout, receipt, f"M-Pesa reports {reported} paid for a payout of {expected}", now
    )


# ---- sending ----------------------------------------------------------------------------


async def dispatch_payout(platform: Platform, payout_id: uuid.UUID) -> str:
    """Send a queued M-Pesa payout as a new attempt; → the payout's status after. A
    refusal is retried with backoff (after the last attempt the money goes back); an
    answer that never came leaves the payout `sending` for reconciliation."""
    settings = platform.settings
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        payout = await store.lock_payout(conn, payout_id)
        if payout is None or payout["status"] != "queued" or payout["method"] != "mpesa":
            return "skipped" if payout is None else str(payout["status"])
        attempt = payout["attempts"] + 1
        originator_id = attempt_originator_id(payout_id, attempt)
        # Committed before the request leaves: a crash from here on leaves `sending`,
        # which only a status query about this originator id moves on from.
        await store.start_payout_attempt(
            conn,
            payout_id,
            attempt=attempt,
            originator_id=originator_id,
            now=now,
            first_query_at=now + _reconcile_after(settings),
        )
    try:
        accepted = await DarajaGateway(settings, platform.clock).b2c(
            originator_id=originator_id,
            phone=payment_details.open_destination(settings, payout),
            amount_minor=payout["amount_minor"],
            currency=payout["currency"],
            remarks=f"Dracarys {payout['kind']}",
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
                reason = f"cannot pay {_DESTINATION} through M-Pesa: {exc.detail}"
                await _fail_payout(conn, locked, reason, platform.clock.now())
            elif _is_current(locked, originator_id):
                await _retry_or_fail(conn, locked, exc.detail, settings, platform.clock.now())
            return (await _view_of(conn, platform.settings, payout_id)).status
    async with transaction(platform.pool) as conn:
        locked = await store.lock_payout(conn, payout_id)
        assert locked is not None
        await store.accept_payout_attempt(
            conn, originator_id, accepted.conversation_id, platform.clock.now()
        )
        if locked["status"] == "sending" and _is_current(locked, originator_id):
            await store.update_payout(
                conn,
                payout_id,
                status="sent",
                now=platform.clock.now(),
                conversation_id=accepted.conversation_id,
            )
            return "sent"
        return str(locked["status"])


async def retry_due_payouts(platform: Platform) -> int:
    async with platform.pool.acquire() as conn:
        due = await store.due_payout_ids(conn, platform.clock.now())
    for payout_id in due:
        await dispatch_payout(platform, payout_id)
    return len(due)


async def _lock_attempt(
    conn: Connection, originator_id: str
) -> tuple[asyncpg.Record, asyncpg.Record] | None:
    """The payout (locked) and the attempt an M-Pesa answer names."""
    attempt = await store.get_payout_attempt(conn, originator_id)
    if attempt is None:
        return None
    payout = await store.lock_payout(conn, attempt["payout_id"])
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
            payload=payload["Result"],
            now=now,
        )
        found = await _lock_attempt(conn, originator_id)
        if found is None:
            return
        payout, attempt = found
        if queue_timeout or not result.succeeded:
            outcome = "timed_out" if queue_timeout else "failed"
            reason = "queue timeout" if queue_timeout else (result.result_desc or "failed")
            if attempt["status"] in _OPEN_ATTEMPT:
                await store.settle_payout_attempt(
                    conn, originator_id, outcome, now, detail=reason[:500]
                )
            if not _awaits_answer(payout, attempt):
                return  # a stale or repeated answer about an attempt already settled
            if queue_timeout:
                # Expired in Daraja's queue unprocessed: safe to send again.
                await _retry_or_fail(conn, payout, reason, platform.settings, now)
            else:
                await _fail_payout(conn, payout, reason, now)
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
            if payout is None or payout["status"] not in _IN_FLIGHT:
                continue
            originator_id = str(payout["originator_conversation_id"])
            attempt = await store.get_payout_attempt(conn, originator_id)
            if attempt is None or attempt["next_query_at"] > now:
                continue  # another reconciler took this one
            if attempt["status_queries"] >= settings.wallet_payout_status_queries:
                await _hold_payout_for_review(
                    conn,
                    payout,
                    None,
                    f"M-Pesa has not said what became of attempt {attempt['attempt']} "
                    f"(sent {attempt['started_at'].isoformat(timespec='seconds')}) after "
                    f"{attempt['status_queries']} status queries; check it in the M-Pesa "
                    "portal and settle it here",
                    now,
                )
                continue
            await store.count_status_query(
                conn, originator_id, now, now + _reconcile_after(settings)
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
            payload=payload["Result"],
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
            answer.outcome == "not_found" and attempt["status"] == "sending"
        )
        if not settled:
            await store.note_payout_attempt(
                conn, originator_id, f"status query: {answer.description}"[:500], now
            )
            return
        decides = _awaits_answer(payout, attempt)
        if attempt["status"] in _OPEN_ATTEMPT:
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


# ---- admin decisions ------------------------------------------------------------------


async def resolve_payout_review(
    platform: Platform,
    admin: CurrentUser,
    payout_id: uuid.UUID,
    outcome: Literal["completed", "failed"],
    note: str,
    *,
    source_ip: str | None,
) -> PayoutView:
    """An admin, having checked with M-Pesa, settles a payout held for review or stuck in
    flight past the reconciliation deadline: completed (the money leaves the wallet) or
    failed (it goes back). Deciding the same way again changes nothing; deciding the
    other way afterwards is refused. Each decision is in the audit log."""
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        payout = await store.lock_payout(conn, payout_id)
        if payout is None:
            raise NotFound("no such payout", field="payout_id")
        attempt = (
            await store.get_payout_attempt(conn, payout["originator_conversation_id"])
            if payout["originator_conversation_id"]
            else None
        )
        stuck = (
            payout["status"] in _IN_FLIGHT
            and attempt is not None
            and attempt["started_at"] <= now - _reconcile_after(platform.settings)
        )
        if payout["status"] == "needs_review" or stuck:
            held_for = payout["review_reason"] or f"stuck while {payout['status']}"
            await store.set_payout_review_reason(
                conn, payout_id, f"{held_for}; resolved {outcome}: {note}"[:2000]
            )
            if attempt is not None and attempt["status"] in _OPEN_ATTEMPT:
                await store.settle_payout_attempt(
                    conn,
                    attempt["originator_conversation_id"],
                    "paid" if outcome == "completed" else "failed",
                    now,
                    detail=f"decided by an admin: {note}"[:500],
                )
            if outcome == "completed":
                await _complete_payout(conn, payout, None, now)
            else:
                await _fail_payout(conn, payout, f"after review: {note}", now)
            await record_audit(
                conn,
                admin.id,
                "payout.review_resolved",
                f"payout:{payout_id}",
                source_ip,
                {
                    "outcome": outcome,
                    "note": note,
                    "previous_status": payout["status"],
                    "user_id": str(payout["user_id"]),
                    "amount_minor": payout["amount_minor"],
                    "currency": payout["currency"],
                },
                at=now,
            )
        elif payout["status"] != outcome or payout["review_reason"] is None:
            raise Conflict("this payout is not waiting for a review", field="payout_id")
        return await _view_of(conn, platform.settings, payout_id)


async def record_bank_transfer(
    platform: Platform,
    admin: CurrentUser,
    payout_id: uuid.UUID,
    bank_reference: str,
    *,
    source_ip: str | None,
) -> PayoutView:
    """An admin confirms a bank payout was sent (audit-logged); recording it twice
    changes nothing."""
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        payout = await store.lock_payout(conn, payout_id)
        if payout is None:
            raise NotFound("no such payout", field="payout_id")
        if payout["status"] == "awaiting_bank_transfer":
            await _complete_payout(conn, payout, bank_reference, now)
            await record_audit(
                conn,
                admin.id,
                "payout.bank_transfer_recorded",
                f"payout:{payout_id}",
                source_ip,
                {
                    "bank_reference": bank_reference,
                    "user_id": str(payout["user_id"]),
                    "amount_minor": payout["amount_minor"],
                    "currency": payout["currency"],
                },
                at=now,
            )
        elif payout["status"] != "completed" or payout["method"] != "bank":
            raise Conflict("this payout is not waiting for a bank transfer", field="payout_id")
        return await _view_of(conn, platform.settings, payout_id)
