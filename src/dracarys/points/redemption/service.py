"""Spending points: the debit and the redemption record commit together or not at all,
once per idempotency key. Cash-like targets need KYC level 2 and a hold; after it the
credit owed is recorded and announced to the wallet, which says when it landed.

A discount redemption issues a code its owner spends at checkout: `check_discount_code`
says what it would take off a price (reserving nothing, for a quote), and
`redeem_discount_code` spends it inside the purchase's own transaction, so the code is
used if and only if the purchase commits."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta

import msgspec

from dracarys.db import Connection, transaction, xact_lock
from dracarys.errors import Conflict, Forbidden, InvalidInput
from dracarys.idempotency import request_hash
from dracarys.identity import account_of
from dracarys.outbox import emit
from dracarys.platform import Platform
from dracarys.points import events
from dracarys.points.ledger import store as ledger_store
from dracarys.points.redemption import store
from dracarys.points.redemption.models import (
    CASH_EQUIVALENT,
    DISCOUNT_CODE_VALID_FOR,
    ConversionPolicy,
    ConvertPointsInput,
    Discount,
    DiscountCodeRecord,
    DiscountCodeView,
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


def _redemption(record: RedemptionRecord, balance_after: int) -> Redemption:
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
        discount_used_at=record.discount_used_at,
    )


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
            return _redemption(earlier, current.balance if current else 0)
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
        discount = body.target is Target.DISCOUNT
        record = await store.insert_redemption(
            conn,
            id=redemption_id,
            user_id=user_id,
            points=body.points,
            target=body.target.value,
            target_ref=body.target_ref,
            value_minor=value_minor(settings, body.points),
            currency=settings.points_currency,
            status="held" if cash_like else "fulfilled",
            discount_code="PTS-" + secrets.token_hex(5).upper() if discount else None,
            discount_expires_at=now + DISCOUNT_CODE_VALID_FOR if discount else None,
            idempotency_key=idempotency_key,
            request_hash=digest,
            created_at=now,
            release_at=now + timedelta(days=settings.points_redemption_hold_days)
            if cash_like
            else None,
        )
        assert record is not None  # the advisory lock above rules out a concurrent twin
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
        await emit(
            conn,
            events.POINTS_REDEEMED,
            msgspec.to_builtins(
                events.PointsRedeemed(
                    user_id=str(user_id),
                    redemption_id=str(redemption_id),
                    target=body.target.value,
                    target_ref=body.target_ref,
                    points=body.points,
                    value_minor=record.value_minor,
                    currency=record.currency,
                )
            ),
        )
        return _redemption(record, debit.balance_after)


def points_conversion_policy(platform: Platform) -> ConversionPolicy:
    """What a point is worth and what each target needs, as configured."""
    return conversion_policy(platform.settings)


async def redemptions_of(
    platform: Platform, user_id: uuid.UUID, limit: int
) -> list[RedemptionItem]:
    """The user's redemptions, newest first."""
    async with platform.pool.acquire() as conn:
        records = await store.redemptions_of_user(conn, user_id, limit)
    return [
        RedemptionItem(
            id=r.id,
            points=r.points,
            target=r.target,
            target_ref=r.target_ref,
            value_minor=r.value_minor,
            currency=r.currency,
            status=r.status,
            discount_code=r.discount_code,
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
                await emit(
                    conn,
                    events.POINTS_REDEEMED_FOR_CREDIT,
                    msgspec.to_builtins(
                        events.PointsRedeemedForCredit(
                            user_id=str(record.user_id),
                            redemption_id=str(record.id),
                            amount_minor=record.value_minor,
                            currency=record.currency,
                            purpose=purpose,
                        )
                    ),
                )
                released += 1
        if len(due) < batch_size:
            return released


async def credit_landed(conn: Connection, platform: Platform, redemption_id: uuid.UUID) -> bool:
    """The wallet credited a released redemption: the credit owed is settled (once)."""
    return await store.mark_credit_landed(conn, redemption_id, platform.clock.now())


# ---- discount codes at checkout --------------------------------------------------------


def _normalised(code: str) -> str:
    return code.strip().upper()


def _discount(
    found: DiscountCodeRecord | None,
    code: str,
    *,
    user_id: uuid.UUID,
    price_minor: int,
    currency: str,
    now: datetime,
) -> Discount:
    """What the code takes off this price, or the refusal naming `discount_code`. Someone
    else's code reads as no code at all: a guess learns nothing about other people's."""
    if found is None or found.user_id != user_id:
        raise InvalidInput(
            f"{code} is not one of your discount codes; check how it is spelled",
            field="discount_code",
        )
    if found.used_at is not None:
        raise Conflict(
            f"discount code {code} was already used on {found.used_at:%d %b %Y}",
            field="discount_code",
        )
    if found.expires_at <= now:
        raise InvalidInput(
            f"discount code {code} expired on {found.expires_at:%d %b %Y}", field="discount_code"
        )
    if found.currency != currency:
        raise InvalidInput(
            f"discount code {code} pays {found.currency} prices; this price is in {currency}",
            field="discount_code",
        )
    if price_minor <= 0:
        raise InvalidInput("this is free: there is nothing to discount", field="discount_code")
    return Discount(
        code=found.code,
        redemption_id=found.redemption_id,
        value_minor=found.value_minor,
        applied_minor=min(found.value_minor, price_minor),
        currency=found.currency,
        expires_at=found.expires_at,
    )


async def check_discount_code(
    conn: Connection,
    *,
    code: str,
    user_id: uuid.UUID,
    price_minor: int,
    currency: str,
    now: datetime,
) -> Discount:
    """What `user_id`'s code would take off a price, for a quote: nothing is reserved, so
    the code is still the owner's to spend (or lose to an earlier purchase)."""
    code = _normalised(code)
    found = await store.discount_code(conn, code)
    return _discount(
        found, code, user_id=user_id, price_minor=price_minor, currency=currency, now=now
    )


async def redeem_discount_code(
    conn: Connection,
    *,
    code: str,
    user_id: uuid.UUID,
    price_minor: int,
    currency: str,
    used_for: str,
    now: datetime,
) -> Discount:
    """Spend `user_id`'s code on the purchase `used_for` (e.g. `booking:<id>`), inside the
    purchase's transaction: the code's row stays locked until it commits, so of two
    purchases with one code one spends it and the other gets a 409 naming
    `discount_code`; a purchase that rolls back leaves the code unspent."""
    code = _normalised(code)
    found = await store.discount_code(conn, code, lock=True)
    discount = _discount(
        found, code, user_id=user_id, price_minor=price_minor, currency=currency, now=now
    )
    spent = await store.mark_discount_used(
        conn,
        discount.redemption_id,
        used_for=used_for,
        applied_minor=discount.applied_minor,
        at=now,
    )
    assert spent  # the row lock and the check above rule out a concurrent spender
    return discount


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


async def my_discount_codes(platform: Platform, user_id: uuid.UUID) -> list[DiscountCodeView]:
    """The caller's discount codes, newest first, each usable, used or expired."""
    now = platform.clock.now()
    async with platform.pool.acquire() as conn:
        codes = await store.discount_codes_of(conn, user_id)
    return [
        DiscountCodeView(
            code=c.code,
            value_minor=c.value_minor,
            currency=c.currency,
            expires_at=c.expires_at,
            used_at=c.used_at,
            status="used" if c.used_at else "expired" if c.expires_at <= now else "usable",
        )
        for c in codes
    ]
