"""Spending points: the debit and the redemption record commit together or not at all,
once per idempotency key. Cash-like targets need KYC level 2 and a hold; after it the
credit owed is recorded and announced to the wallet, which says when it landed.

A discount redemption has the wallet issue a discount code, in the same transaction: the
code is a payment instrument of the wallet's, which checks and spends it at checkout.
`points_for_discount` says what a buyer's points would be worth as one."""

from __future__ import annotations

import uuid
from datetime import timedelta

from dracarys.curriculum import course_unlock_terms, grant_course_unlock
from dracarys.db import Connection, transaction, xact_lock
from dracarys.errors import Conflict, Forbidden, InvalidInput
from dracarys.idempotency import request_hash
from dracarys.identity import account_of
from dracarys.outbox import emit_event
from dracarys.platform import Platform
from dracarys.points import events
from dracarys.points.ledger import store as ledger_store
from dracarys.points.merch import service as merch
from dracarys.points.redemption import store
from dracarys.points.redemption.models import (
    CASH_EQUIVALENT,
    ConversionPolicy,
    ConvertPointsInput,
    PointsForDiscount,
    Redemption,
    RedemptionItem,
    RedemptionRecord,
    Target,
)
from dracarys.points.redemption.policy import (
    CASH_KYC_LEVEL,
    NEEDS_TARGET_REF,
    conversion_policy,
    value_minor,
)
from dracarys.settings import Settings
from dracarys.wallet import discount_code, discount_codes_of_redemptions, issue_discount_code


async def _redemption(conn: Connection, record: RedemptionRecord, balance_after: int) -> Redemption:
    # Whether the code was spent is the wallet's to say.
    code = None if record.discount_code is None else await discount_code(conn, record.discount_code)
    return Redemption(
        id=record.id,
        user_id=record.user_id,
        points=record.points,
        target=record.target,
        target_ref=record.target_ref,
        value_minor=record.value_minor,
        currency=record.currency,
        status=record.status,
        discount_code=record.discount_code,
        created_at=record.created_at,
        release_at=record.release_at,
        balance=balance_after,
        discount_expires_at=record.discount_expires_at,
        discount_used_at=None if code is None else code.used_at,
    )


async def _course_unlock_program(
    conn: Connection, settings: Settings, user_id: uuid.UUID, body: ConvertPointsInput
) -> uuid.UUID:
    """The course a redemption unlocks, once its points pay exactly the course's price
    (at what a point is worth, in the currency points are worth money in)."""
    try:
        program_id = uuid.UUID(str(body.target_ref))
    except ValueError:
        raise InvalidInput(
            "`target_ref` is the id of the course to unlock", field="target_ref"
        ) from None
    terms = await course_unlock_terms(conn, user_id, program_id)
    if terms.currency != settings.points_currency:
        raise Conflict(
            f"“{terms.title}” is priced in {terms.currency}; points unlock courses priced in "
            f"{settings.points_currency}",
            field="target_ref",
        )
    needed = -(-terms.price_minor // settings.points_minor_units_per_point)
    if body.points != needed:
        raise InvalidInput(f"unlocking “{terms.title}” takes {needed:,} points", field="points")
    return program_id


async def convert_points(
    platform: Platform,
    user_id: uuid.UUID,
    body: ConvertPointsInput,
    source_ip: str | None,
    *,
    idempotency_key: str,
) -> Redemption:
    """Spend points on a target. Discounts, course unlocks and merch are immediate; wallet
    and mentor credit need KYC level 2 and wait out a hold before the credit is released.
    The debit and the redemption record commit together or not at all."""
    if body.target in NEEDS_TARGET_REF and body.target_ref is None:
        raise InvalidInput(
            f"`target_ref` (the {'course' if body.target is Target.COURSE_UNLOCK else 'item'} "
            "id) is required for this target",
            field="target_ref",
        )
    settings = platform.settings
    digest = request_hash("points_redeem", body)
    async with transaction(platform.pool) as conn:
        now = platform.clock.now()
        await xact_lock(conn, "points_redeem", user_id, idempotency_key)
        earlier = await store.redemption_by_key(conn, user_id, idempotency_key)
        if earlier is not None:
            if earlier.request_hash != digest:
                raise InvalidInput(
                    "this idempotency key was used with a different request",
                    field="idempotency_key",
                )
            current = await ledger_store.balance(conn, user_id)
            return await _redemption(conn, earlier, current.balance if current else 0)
        unlock = None
        if body.target is Target.COURSE_UNLOCK:
            assert body.target_ref is not None  # checked above
            unlock = await _course_unlock_program(conn, settings, user_id, body)
        cash_like = body.target in CASH_EQUIVALENT
        if cash_like:
            account = await account_of(conn, user_id)
            if account is None or account.kyc_level < CASH_KYC_LEVEL:
                raise Forbidden(
                    "converting points to credit needs identity verification "
                    f"(KYC level {CASH_KYC_LEVEL})",
                    field="target",
                )
        redemption_id = uuid.uuid4()
        value = value_minor(settings, body.points)
        code = (
            await issue_discount_code(
                conn,
                redemption_id=redemption_id,
                user_id=user_id,
                value_minor=value,
                currency=settings.points_currency,
                now=now,
            )
            if body.target is Target.DISCOUNT
            else None
        )
        record = await store.insert_redemption(
            conn,
            id=redemption_id,
            user_id=user_id,
            points=body.points,
            target=body.target.value,
            target_ref=body.target_ref,
            value_minor=value,
            currency=settings.points_currency,
            status="held" if cash_like else "fulfilled",
            discount_code=None if code is None else code.code,
            discount_expires_at=None if code is None else code.expires_at,
            idempotency_key=idempotency_key,
            request_hash=digest,
            created_at=now,
            release_at=now + timedelta(days=settings.points_redemption_hold_days)
            if cash_like
            else None,
        )
        assert record is not None  # the advisory lock above rules out a concurrent twin
        if unlock is not None:
            await grant_course_unlock(
                conn, user_id=user_id, program_id=unlock, redemption_id=redemption_id, now=now
            )
        if body.target is Target.MERCH:
            assert body.target_ref is not None  # checked above
            await merch.place_order(
                conn,
                settings,
                redemption_id=redemption_id,
                user_id=user_id,
                item_code=body.target_ref,
                points=body.points,
                now=now,
            )
        debit = await ledger_store.post_entry(
            conn,
            user_id=user_id,
            delta=-body.points,
            reason_code="redemption",
            category="redemption",
            related_entity=str(redemption_id),
            rule_code=None,
            rule_version=None,
            key=f"redeem:{redemption_id}",
            source_ip=source_ip,
            at=now,
        )
        if debit.status != "posted":
            raise Conflict(
                f"not enough points: the balance is {debit.balance_after or 0}",
                field="points",
            )
        # A posted debit names its entry and the balance it left.
        assert debit.entry_id is not None
        assert debit.balance_after is not None
        await store.set_redemption_entry(conn, redemption_id, debit.entry_id)
        await emit_event(
            conn,
            events.PointsRedeemed(
                user_id=str(user_id),
                redemption_id=str(redemption_id),
                target=body.target.value,
                target_ref=body.target_ref,
                points=body.points,
                value_minor=record.value_minor,
                currency=record.currency,
            ),
        )
        return await _redemption(conn, record, debit.balance_after)


def points_conversion_policy(platform: Platform) -> ConversionPolicy:
    """What a point is worth and what each target needs, as configured."""
    return conversion_policy(platform.settings)


async def redemptions_of(
    platform: Platform, user_id: uuid.UUID, limit: int
) -> list[RedemptionItem]:
    """The user's redemptions, newest first; mentor credit names the code the wallet
    issued for it once the hold has ended (it pays for mentor sessions only)."""
    async with platform.pool.acquire() as conn:
        records = await store.redemptions_of_user(conn, user_id, limit)
        credits = [r.id for r in records if r.target is Target.MENTOR_CREDIT]
        credit_codes = {
            redemption_id: code.code
            for redemption_id, code in (
                await discount_codes_of_redemptions(conn, credits) if credits else {}
            ).items()
        }
    return [
        RedemptionItem(
            id=r.id,
            points=r.points,
            target=r.target,
            target_ref=r.target_ref,
            value_minor=r.value_minor,
            currency=r.currency,
            status=r.status,
            discount_code=r.discount_code or credit_codes.get(r.id),
            created_at=r.created_at,
            release_at=r.release_at,
        )
        for r in records
    ]


async def release_held_redemptions(platform: Platform, *, batch_size: int = 200) -> int:
    """After the hold, record the credit owed and announce `points.redeemed_for_credit`;
    the wallet credits it (keyed by the redemption) and answers `points.credit_landed`."""
    released = 0
    while True:
        async with transaction(platform.pool) as conn:
            now = platform.clock.now()
            due = await store.due_held_redemptions(conn, now, batch_size)
            for record in due:
                purpose = "mentor_sessions" if record.target is Target.MENTOR_CREDIT else "wallet"
                await store.release_redemption(conn, record.id, now)
                await store.insert_wallet_credit(
                    conn,
                    redemption_id=record.id,
                    user_id=record.user_id,
                    amount_minor=record.value_minor,
                    currency=record.currency,
                    purpose=purpose,
                    at=now,
                )
                await emit_event(
                    conn,
                    events.PointsRedeemedForCredit(
                        user_id=str(record.user_id),
                        redemption_id=str(record.id),
                        amount_minor=record.value_minor,
                        currency=record.currency,
                        purpose=purpose,
                    ),
                )
                released += 1
        if len(due) < batch_size:
            return released


async def credit_landed(conn: Connection, platform: Platform, redemption_id: uuid.UUID) -> bool:
    """The wallet credited a released redemption: the credit owed is settled (once)."""
    return await store.mark_credit_landed(conn, redemption_id, platform.clock.now())


# ---- discount codes at checkout --------------------------------------------------------


async def points_for_discount(
    conn: Connection, settings: Settings, user_id: uuid.UUID, currency: str
) -> PointsForDiscount | None:
    """What the user's points are worth as a discount on a price in `currency` (a quote
    offers to convert them); None when points do not pay that currency or there are none."""
    if currency != settings.points_currency:
        return None
    current = await ledger_store.balance(conn, user_id)
    if current is None or current.balance <= 0:
        return None
    rate = settings.points_minor_units_per_point
    return PointsForDiscount(
        balance=current.balance,
        minor_per_point=rate,
        currency=currency,
        worth_minor=current.balance * rate,
    )
