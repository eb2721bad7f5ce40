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
