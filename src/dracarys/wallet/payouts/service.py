"""Withdrawals and weekly payouts: M-Pesa B2C or a bank transfer an admin records. Opening
a payout reserves its amount in the wallet (a pending ledger transfer); `mpesa` sends it
and settles it from M-Pesa's answers; admins settle bank transfers, and payouts M-Pesa
left in doubt, here."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal

import msgspec

from dracarys.db import Connection, transaction, xact_lock
from dracarys.errors import Conflict, Forbidden, InvalidInput, NotFound
from dracarys.identity import (
    KYC_LEVEL_FOR_MENTOR_PAYOUTS,
    CurrentUser,
    Role,
    account_of,
    active_accounts_with_role,
    contacts_of,
    record_audit,
    require_step_up,
)
from dracarys.money import format_money, minor_per_major
from dracarys.outbox import emit_event
from dracarys.payments import normalise_phone, whole_shillings
from dracarys.platform import Platform
from dracarys.settings import Settings
from dracarys.wallet.events import WithdrawalRequested
from dracarys.wallet.holds.service import WithdrawalsHeld, refuse_if_held
from dracarys.wallet.ledger import service as ledger
from dracarys.wallet.ledger.models import AccountCode
from dracarys.wallet.ledger.service import InsufficientFunds
from dracarys.wallet.models import ID_NAMESPACE, SUPPORTED_CURRENCIES
from dracarys.wallet.operations.service import run_once
from dracarys.wallet.payment_details import service as payment_details
from dracarys.wallet.payouts import mpesa, store
from dracarys.wallet.payouts.models import (
    PayoutView,
    PayoutWithAttempt,
    WithdrawalLimits,
    WithdrawalPolicy,
    WithdrawRequest,
)
from dracarys.wallet.policy import (
    WITHDRAWAL_KYC_LEVEL,
    daily_withdraw_limit_minor,
    payout_minimum_minor,
    require_wallet_owner,
    step_up_threshold_minor,
    withdrawal_methods,
)

# ---- views ----------------------------------------------------------------------------


def payout_view(
    settings: Settings, payout: PayoutWithAttempt, *, stuck_reason: str | None = None
) -> PayoutView:
    """A failure reason naming the destination gets it opened here, for the payout's
    owner or an admin: the database keeps the placeholder."""
    open_attempt = payout.attempt_status in mpesa.OPEN_ATTEMPT
    failure_reason = payout.failure_reason
    if failure_reason is not None and mpesa.DESTINATION in failure_reason:
        assert payout.destination_sealed is not None
        destination = payment_details.open_destination(
            settings, payout.id, payout.destination_sealed
        )
        failure_reason = failure_reason.replace(mpesa.DESTINATION, destination)
    return PayoutView(
        id=payout.id,
        user_id=payout.user_id,
        kind=payout.kind,
        method=payout.method,
        amount_minor=payout.amount_minor,
        currency=payout.currency,
        status=payout.status,
        attempts=payout.attempts,
        failure_reason=failure_reason,
        review_reason=payout.review_reason,
        in_flight_since=payout.attempt_started_at if open_attempt else None,
        stuck_reason=stuck_reason,
        created_at=payout.created_at,
    )


async def _view_of(conn: Connection, settings: Settings, payout_id: uuid.UUID) -> PayoutView:
    payout = await store.get_payout(conn, payout_id)
    assert payout is not None
    return payout_view(settings, payout)


async def get_payout(platform: Platform, actor: CurrentUser, payout_id: uuid.UUID) -> PayoutView:
    async with platform.pool.acquire() as conn:
        payout = await store.get_payout(conn, payout_id)
    if payout is None or not actor.may_read_as_owner(payout.user_id):
        raise NotFound("no such payout", field="payout_id")
    return payout_view(platform.settings, payout)


def _stuck_reason(payout: PayoutWithAttempt, settings: Settings) -> str | None:
    if payout.status not in mpesa.IN_FLIGHT:
        return None
    asked = f"{payout.status_queries} of {settings.wallet_payout_status_queries} status queries"
    if payout.status == "sending":
        reason = (
            f"attempt {payout.attempt_number}: M-Pesa never confirmed taking the request "
            f"(it may not have arrived); {asked} asked"
        )
    else:
        reason = (
            f"attempt {payout.attempt_number}: M-Pesa took the request but sent no result; "
            f"{asked} asked"
        )
    detail = payout.attempt_detail
    return f"{reason}; last: {detail}" if detail else reason


async def payouts_awaiting_admin(platform: Platform) -> list[PayoutView]:
    """Payouts only an admin can move on, oldest first: held for review, bank transfers to
    make, and M-Pesa sends in flight past the reconciliation deadline (with since when
    and why), which the reconciliation job is still asking about."""
    settings = platform.settings
    stuck_since = platform.clock.now() - mpesa.reconcile_after(settings)
    async with platform.pool.acquire() as conn:
        waiting = await store.payouts_awaiting_admin(conn, stuck_since)
    return [payout_view(settings, p, stuck_reason=_stuck_reason(p, settings)) for p in waiting]


async def wallet_payouts(
    platform: Platform, actor: CurrentUser, wallet_id: uuid.UUID, limit: int
) -> list[PayoutView]:
    """A wallet's payouts, newest first, for its owner (or staff)."""
    if not actor.may_read_as_owner(wallet_id):
        raise NotFound("no such wallet", field="wallet_id")
    async with platform.pool.acquire() as conn:
        payouts = await store.payouts_of_user(conn, wallet_id, limit)
    return [payout_view(platform.settings, p) for p in payouts]


def _day_start(now: datetime) -> datetime:
    """Daily limits count from midnight UTC."""
    return now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


async def withdrawal_policy(
    platform: Platform, actor: CurrentUser, wallet_id: uuid.UUID
) -> WithdrawalPolicy:
    """The rules a withdrawal from this wallet meets, as configured, with what its owner
    has withdrawn today, so a page can say them before the owner asks."""
    if not actor.may_read_as_owner(wallet_id):
        raise NotFound("no such wallet", field="wallet_id")
    settings = platform.settings
    day_start = _day_start(platform.clock.now())
    async with platform.pool.acquire() as conn:
        account = await account_of(conn, wallet_id)
        if account is None:
            raise NotFound("no such wallet", field="wallet_id")
        used = {
            c: await store.withdrawn_since(conn, wallet_id, c, day_start)
            for c in SUPPORTED_CURRENCIES
        }
    limits = []
    for currency in SUPPORTED_CURRENCIES:
        daily = daily_withdraw_limit_minor(settings, currency)
        limits.append(
            WithdrawalLimits(
                currency=currency,
                methods=withdrawal_methods(currency),
                step_up_threshold_minor=step_up_threshold_minor(settings, currency),
                daily_limit_minor=daily,
                withdrawn_today_minor=used[currency],
                remaining_today_minor=max(daily - used[currency], 0),
            )
        )
    return WithdrawalPolicy(
        wallet_id=wallet_id,
        required_kyc_level=WITHDRAWAL_KYC_LEVEL,
        kyc_level=account.kyc_level,
        limits=limits,
    )


# ---- withdrawals and opening payouts --------------------------------------------------


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
) -> PayoutWithAttempt:
    # A held user's money stays in the wallet (withdrawals and scheduled payouts alike).
    await refuse_if_held(conn, user_id)
    reserve = await ledger.open_pending(
        conn,
        idempotency_key=f"payout:{payout_id}:pending",
        code=kind,
        debit_account_id=await ledger.wallet_account(conn, user_id, currency, now),
        credit_account_id=await ledger.platform_account(
            conn, AccountCode.PAYOUT_CLEARING, currency, now
        ),
        amount_minor=amount_minor,
        currency=currency,
        reference=str(payout_id),
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
    payout = await store.get_payout(conn, payout_id)
    assert payout is not None
    return payout


class _Withdrawal(msgspec.Struct, frozen=True, kw_only=True):
    """What makes two withdrawal requests the same one: the step-up proof is left out,
    so a retry may carry a fresh one (or none) and still get the first answer."""

    amount_minor: int
    currency: str
    method: str
    destination: str


async def request_withdrawal(
    platform: Platform,
    actor: CurrentUser,
    wallet_id: uuid.UUID,
    request: WithdrawRequest,
    idempotency_key: str,
) -> PayoutView:
    """Reserve the amount in the wallet and send it out: M-Pesa B2C at once, or a bank
    transfer an admin records. Needs KYC level 2, a step-up above the threshold (a fresh
    authenticator code or the token `POST /me/step-up` gave for one), and stays within
    the daily limit. A retry with the same key answers with the payout's state now (never
    `sent` before M-Pesa took the request in), without asking for the step-up again."""
    require_wallet_owner(actor, wallet_id)
    settings = platform.settings
    now = platform.clock.now()
    if request.method == "mpesa":
        try:
            destination = normalise_phone(request.destination)
        except InvalidInput as exc:  # the adapter names its own field; here it is this one
            raise InvalidInput(exc.detail, field="destination") from exc
        whole_shillings(request.amount_minor, request.currency)
    else:
        destination = request.destination

    async def work(conn: Connection) -> dict[str, Any]:
        account = await account_of(conn, wallet_id)
        if account is None:
            raise NotFound("no such wallet", field="wallet_id")
        if account.kyc_level < WITHDRAWAL_KYC_LEVEL:
            raise Forbidden(
                f"withdrawals need identity verification (KYC level {WITHDRAWAL_KYC_LEVEL})",
                field="kyc_level",
            )
        if request.amount_minor >= step_up_threshold_minor(settings, request.currency):
            # Checked (a code spent) in this transaction: only if the withdrawal commits.
            await require_step_up(
                platform,
                actor,
                totp_code=request.totp_code,
                step_up_token=request.step_up_token,
                conn=conn,
            )
        # One withdrawal per user at a time past this point keeps the daily sum exact.
        await xact_lock(conn, "withdraw-limit", wallet_id)
        used = await store.withdrawn_since(conn, wallet_id, request.currency, _day_start(now))
        limit = daily_withdraw_limit_minor(settings, request.currency)
        if used + request.amount_minor > limit:
            left = format_money(max(limit - used, 0), request.currency)
            raise Conflict(
                f"this would pass the daily withdrawal limit ({left} left today)",
                field="amount_minor",
            )
        payout = await _open_payout(
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
        await emit_event(
            conn,
            WithdrawalRequested(
                user_id=wallet_id,
                payout_id=payout.id,
                amount_minor=payout.amount_minor,
                currency=payout.currency,
                method=payout.method,
            ),
        )
        return msgspec.to_builtins(payout_view(settings, payout))  # type: ignore[no-any-return]

    async with transaction(platform.pool) as conn:
        result = await run_once(
            conn,
            scope=f"user:{wallet_id}",
            key=idempotency_key,
            kind="withdraw",
            body=_Withdrawal(
                amount_minor=request.amount_minor,
                currency=request.currency,
                method=request.method,
                destination=request.destination,
            ),
            now=now,
            work=lambda: work(conn),
        )
    view = msgspec.convert(result, PayoutView)
    if view.status == "queued":
        await mpesa.dispatch_payout(platform, view.id)
    async with platform.pool.acquire() as conn:
        return await _view_of(conn, platform.settings, view.id)


def payout_period(now: datetime) -> str:
    year, week, _ = now.astimezone(UTC).isocalendar()
    return f"{year}-W{week:02d}"


async def run_weekly_payouts(platform: Platform) -> list[uuid.UUID]:
    """Pay every eligible mentor's (active, KYC level 2) available balance above the
    minimum, once per ISO week and currency: the batch and each mentor's line in it are
    unique, so running the job again (or on two schedulers) creates nothing twice."""
    now = platform.clock.now()
    period = payout_period(now)
    created: list[uuid.UUID] = []
    async with platform.pool.acquire() as conn:
        mentors = await active_accounts_with_role(
            conn, Role.MENTOR, min_kyc_level=KYC_LEVEL_FOR_MENTOR_PAYOUTS
        )
    mentor_ids = [m.id for m in mentors]
    for currency in SUPPORTED_CURRENCIES:
        minimum = payout_minimum_minor(platform.settings, currency)
        async with transaction(platform.pool) as conn:
            batch_id = await store.ensure_batch(conn, period, currency, now)
            candidates = await ledger.funded_wallets(conn, currency, minimum, mentor_ids)
            contacts = await contacts_of(conn, platform.settings, list(candidates))
        for user_id, available in candidates.items():
            amount = available
            phone = contacts[user_id].phone
            use_mpesa = currency == "KES" and phone is not None
            if use_mpesa:
                amount -= amount % minor_per_major(currency)  # M-Pesa pays whole shillings
            if amount < minimum:
                continue
            try:
                async with transaction(platform.pool) as conn:
                    if await store.batch_payout_exists(conn, batch_id, user_id):
                        continue
                    payout = await _open_payout(
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
            except (InsufficientFunds, WithdrawalsHeld):
                # Spent since we looked, or held: next week's batch picks up the rest.
                continue
            created.append(payout.id)
    for payout_id in created:
        await mpesa.dispatch_payout(platform, payout_id)
    return created


async def pay_commissions(
    platform: Platform, owed: Mapping[tuple[uuid.UUID, str], int]
) -> dict[tuple[uuid.UUID, str], uuid.UUID]:
    """This week's payouts of what other domains owe people through their wallets (the
    affiliates' posted commissions: `owed` per user and currency), in the same weekly
    batch as the mentors': at most the wallet's available balance, to an active account at
    the KYC level withdrawals need, above the payout minimum. A user who already has a
    line in the batch (a mentor's sweep took their whole balance) is answered with it. The
    payout per (user, currency) paid; running it again creates nothing twice."""
    now = platform.clock.now()
    period = payout_period(now)
    paid: dict[tuple[uuid.UUID, str], uuid.UUID] = {}
    created: list[uuid.UUID] = []
    for (user_id, currency), amount_owed in owed.items():
        minimum = payout_minimum_minor(platform.settings, currency)
        try:
            async with transaction(platform.pool) as conn:
                account = await account_of(conn, user_id)
                if (
                    account is None
                    or not account.is_active
                    or account.kyc_level < WITHDRAWAL_KYC_LEVEL
                ):
                    continue
                batch_id = await store.ensure_batch(conn, period, currency, now)
                payout_id = uuid.uuid5(ID_NAMESPACE, f"payout:{batch_id}:{user_id}")
                if await store.batch_payout_exists(conn, batch_id, user_id):
                    paid[user_id, currency] = payout_id
                    continue
                available = (await ledger.funded_wallets(conn, currency, 1, [user_id])).get(
                    user_id, 0
                )
                phone = (await contacts_of(conn, platform.settings, [user_id]))[user_id].phone
                use_mpesa = currency == "KES" and phone is not None
                amount = min(amount_owed, available)
                if use_mpesa:
                    amount -= amount % minor_per_major(currency)  # M-Pesa pays whole shillings
                if amount < max(minimum, 1):
                    continue
                await _open_payout(
                    conn,
                    platform.settings,
                    payout_id=payout_id,
                    user_id=user_id,
                    batch_id=batch_id,
                    kind="scheduled",
                    method="mpesa" if use_mpesa else "bank",
                    destination=str(phone) if use_mpesa else "bank account on file",
                    amount_minor=amount,
                    currency=currency,
                    now=now,
                )
        except (InsufficientFunds, WithdrawalsHeld):
            # Spent since we looked, or held: next week's batch picks up the rest.
            continue
        paid[user_id, currency] = payout_id
        created.append(payout_id)
    for payout_id in created:
        await mpesa.dispatch_payout(platform, payout_id)
    return paid


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
            await store.get_payout_attempt(conn, payout.originator_conversation_id)
            if payout.originator_conversation_id
            else None
        )
        stuck = (
            payout.status in mpesa.IN_FLIGHT
            and attempt is not None
            and attempt.started_at <= now - mpesa.reconcile_after(platform.settings)
        )
        if payout.status == "needs_review" or stuck:
            held_for = payout.review_reason or f"stuck while {payout.status}"
            await store.set_payout_review_reason(
                conn, payout_id, f"{held_for}; resolved {outcome}: {note}"[:2000]
            )
            if attempt is not None and attempt.status in mpesa.OPEN_ATTEMPT:
                await store.settle_payout_attempt(
                    conn,
                    attempt.originator_conversation_id,
                    "paid" if outcome == "completed" else "failed",
                    now,
                    detail=f"decided by an admin: {note}"[:500],
                )
            if outcome == "completed":
                await mpesa.complete_payout(conn, payout, None, now)
            else:
                await mpesa.fail_payout(conn, payout, f"after review: {note}", now)
            await record_audit(
                conn,
                admin.id,
                "payout.review_resolved",
                f"payout:{payout_id}",
                source_ip,
                {
                    "outcome": outcome,
                    "note": note,
                    "previous_status": payout.status,
                    "user_id": str(payout.user_id),
                    "amount_minor": payout.amount_minor,
                    "currency": payout.currency,
                },
                at=now,
            )
        elif payout.status != outcome or payout.review_reason is None:
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
        if payout.status == "awaiting_bank_transfer":
            await mpesa.complete_payout(conn, payout, bank_reference, now)
            await record_audit(
                conn,
                admin.id,
                "payout.bank_transfer_recorded",
                f"payout:{payout_id}",
                source_ip,
                {
                    "bank_reference": bank_reference,
                    "user_id": str(payout.user_id),
                    "amount_minor": payout.amount_minor,
                    "currency": payout.currency,
                },
                at=now,
            )
        elif payout.status != "completed" or payout.method != "bank":
            raise Conflict("this payout is not waiting for a bank transfer", field="payout_id")
        return await _view_of(conn, platform.settings, payout_id)
