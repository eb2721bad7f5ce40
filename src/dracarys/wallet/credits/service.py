"""Credit the platform gives: converted points landing in a wallet (inside the points
consumer's transaction, answered with `points.credit_landed`), and the fixed monthly bonus
for mentors rated above 4.7 with at least 80% attendance."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from dracarys.db import Connection, transaction
from dracarys.errors import InvalidInput
from dracarys.outbox import emit_event
from dracarys.platform import Platform
from dracarys.wallet.credits import store
from dracarys.wallet.credits.models import MentorMonth
from dracarys.wallet.discounts.service import issue_session_credit
from dracarys.wallet.events import PointsCreditLanded
from dracarys.wallet.ledger import service as ledger
from dracarys.wallet.ledger.models import AccountCode, Transfer, TransferSpec

# The purpose points give a mentor-credit redemption (`points.redeemed_for_credit`).
MENTOR_SESSIONS = "mentor_sessions"
BONUS_MIN_RATING = 4.7
BONUS_MIN_ATTENDANCE_BPS = 8_000
BONUS_CURRENCY = "KES"


# ---- points credit --------------------------------------------------------------------


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
        await emit_event(
            conn,
            PointsCreditLanded(
                user_id=user_id,
                redemption_id=redemption_id,
                amount_minor=amount_minor,
                currency=currency,
                transfer_id=transfer.id,
            ),
        )
    return transfer


async def credit_redeemed_points(
    conn: Connection,
    *,
    user_id: uuid.UUID,
    redemption_id: uuid.UUID,
    amount_minor: int,
    currency: str,
    purpose: str,
    now: datetime,
) -> None:
    """A released redemption lands once (keyed by the redemption), and
    `points.credit_landed` answers: what the wallet does with `points.redeemed_for_credit`.
    Mentor credit (`purpose` "mentor_sessions") becomes a code that pays for mentor
    sessions only; other credit is spendable wallet balance."""
    if purpose != MENTOR_SESSIONS:
        await credit_points_conversion(
            conn,
            user_id,
            amount_minor,
            currency,
            f"redemption:{redemption_id}",
            now=now,
            redemption_id=redemption_id,
        )
        return
    code, issued = await issue_session_credit(
        conn,
        redemption_id=redemption_id,
        user_id=user_id,
        value_minor=amount_minor,
        currency=currency,
        now=now,
    )
    # The first delivery answers; a redelivered event finds the code and says nothing.
    if issued:
        await emit_event(
            conn,
            PointsCreditLanded(
                user_id=user_id,
                redemption_id=redemption_id,
                amount_minor=amount_minor,
                currency=currency,
                session_credit_code=code.code,
            ),
        )


# ---- mentor bonuses -------------------------------------------------------------------


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
                        conn, AccountCode.BONUS_EXPENSE, BONUS_CURRENCY, now
                    ),
                    credit_account_id=await ledger.wallet_account(
                        conn, item.mentor_id, BONUS_CURRENCY, now
                    ),
                    amount_minor=amount,
                    currency=BONUS_CURRENCY,
                    reference=month,
                ),
                now=now,
            )
            if await store.insert_mentor_bonus(
                conn,
                mentor_id=item.mentor_id,
                month=month,
                amount_minor=amount,
                currency=BONUS_CURRENCY,
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


# ---- affiliate commissions ------------------------------------------------------------

# Where the platform's fee on a payment is booked: an escrow's commission leg, a charge's
# sale (net of VAT).
_FEE_CODES = ("platform_commission", "charge_sale")
COMMISSION = "affiliate_commission"
COMMISSION_CLAWBACK = "affiliate_commission_clawback"


async def platform_fee_of(conn: Connection, payment_id: uuid.UUID) -> int:
    """What the platform kept of a payment (a charge or an escrow), net of VAT."""
    return await ledger.amount_moved(conn, str(payment_id), _FEE_CODES)


async def accrue_commission(
    conn: Connection,
    *,
    commission_id: uuid.UUID,
    affiliate_id: uuid.UUID,
    amount_minor: int,
    currency: str,
    now: datetime,
) -> uuid.UUID:
    """A commission as a pending transfer from platform revenue to the affiliate's wallet
    (theirs to see, not to spend, until `settle_commission` posts it); its id. Once per
    commission id."""
    if amount_minor <= 0:
        raise InvalidInput("a commission is a positive amount", field="amount_minor")
    transfer = await ledger.open_pending(
        conn,
        idempotency_key=f"commission:{commission_id}:pending",
        code=COMMISSION,
        debit_account_id=await ledger.platform_account(
            conn, AccountCode.PLATFORM_REVENUE, currency, now
        ),
        credit_account_id=await ledger.wallet_account(conn, affiliate_id, currency, now),
        amount_minor=amount_minor,
        currency=currency,
        reference=str(commission_id),
        now=now,
    )
    return transfer.id


async def settle_commission(
    conn: Connection,
    commission_id: uuid.UUID,
    transfer_id: uuid.UUID,
    *,
    pay: bool,
    now: datetime,
    amount_minor: int | None = None,
) -> None:
    """Post a pending commission (payable: the refund window closed), `amount_minor` of it
    when refunds took part (the rest goes back to platform revenue), or void it (refunds
    or a chargeback took all of it). Either happens once."""
    if pay:
        await ledger.post_pending(
            conn,
            transfer_id,
            idempotency_key=f"commission:{commission_id}:post",
            code=COMMISSION,
            now=now,
            amount_minor=amount_minor,
            reference=str(commission_id),
        )
    else:
        await ledger.void_pending(
            conn,
            transfer_id,
            idempotency_key=f"commission:{commission_id}:void",
            code=COMMISSION,
            now=now,
            reference=str(commission_id),
        )


async def claw_back_commission(
    conn: Connection,
    *,
    commission_id: uuid.UUID,
    reversal_id: str,
    affiliate_id: uuid.UUID,
    amount_minor: int,
    currency: str,
    now: datetime,
) -> int:
    """Take back up to `amount_minor` of a posted commission from the affiliate's wallet
    (a wallet never goes below zero: what it cannot cover is the caller's to record);
    what was taken. Once per `reversal_id`."""
    wallet = await ledger.wallet_account(conn, affiliate_id, currency, now)
    balance = await ledger.balance_of(conn, wallet)
    taken = min(amount_minor, max(balance.available_minor, 0))
    if taken <= 0:
        return 0
    await ledger.create_transfer(
        conn,
        TransferSpec(
            idempotency_key=f"commission:{commission_id}:clawback:{reversal_id}",
            code=COMMISSION_CLAWBACK,
            debit_account_id=wallet,
            credit_account_id=await ledger.platform_account(
                conn, AccountCode.PLATFORM_REVENUE, currency, now
            ),
            amount_minor=taken,
            currency=currency,
            reference=str(commission_id),
        ),
        now=now,
    )
    return taken
