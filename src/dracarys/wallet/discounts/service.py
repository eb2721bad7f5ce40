"""Discount codes: issued for what bought them (points converted to a discount, inside
the conversion's transaction), checked for a quote (`check_discount_code`, reserving
nothing) and spent inside the purchase's own transaction (`redeem_discount_code`), so a
code is used if and only if the purchase commits. Mentor credit bought with points is a
code too (`issue_session_credit`), one that pays for mentor sessions only."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime

from dracarys.db import Connection
from dracarys.errors import Conflict, InvalidInput
from dracarys.platform import Platform
from dracarys.wallet.discounts import store
from dracarys.wallet.discounts.models import (
    DISCOUNT_CODE_VALID_FOR,
    SESSION_CREDIT_VALID_FOR,
    Discount,
    DiscountCode,
    DiscountCodeView,
    PaysFor,
    PurchaseKind,
)

# What each kind of code is called (its prefix) and how long it lasts.
# Mentor credit pays for time with a mentor: one session, or a package of them.
_MENTOR_SESSIONS = frozenset({PurchaseKind.SESSION, PurchaseKind.PACKAGE})
_ISSUED_AS = {
    PaysFor.ANYTHING: ("PTS-", DISCOUNT_CODE_VALID_FOR),
    PaysFor.SESSIONS: ("SES-", SESSION_CREDIT_VALID_FOR),
}


def _normalised(code: str) -> str:
    return code.strip().upper()


async def _issue(
    conn: Connection,
    *,
    pays_for: PaysFor,
    redemption_id: uuid.UUID,
    user_id: uuid.UUID,
    value_minor: int,
    currency: str,
    now: datetime,
) -> DiscountCode:
    prefix, valid_for = _ISSUED_AS[pays_for]
    return await store.insert_discount_code(
        conn,
        code=prefix + secrets.token_hex(5).upper(),
        redemption_id=redemption_id,
        user_id=user_id,
        value_minor=value_minor,
        currency=currency,
        created_at=now,
        expires_at=now + valid_for,
        pays_for=pays_for,
    )


async def issue_discount_code(
    conn: Connection,
    *,
    redemption_id: uuid.UUID,
    user_id: uuid.UUID,
    value_minor: int,
    currency: str,
    now: datetime,
) -> DiscountCode:
    """A new code worth `value_minor` for `user_id`, bought by the points redemption
    `redemption_id`, inside the caller's transaction: it exists if and only if the
    conversion commits."""
    return await _issue(
        conn,
        pays_for=PaysFor.ANYTHING,
        redemption_id=redemption_id,
        user_id=user_id,
        value_minor=value_minor,
        currency=currency,
        now=now,
    )


async def issue_session_credit(
    conn: Connection,
    *,
    redemption_id: uuid.UUID,
    user_id: uuid.UUID,
    value_minor: int,
    currency: str,
    now: datetime,
) -> tuple[DiscountCode, bool]:
    """Mentor credit bought with points, as a code that pays for mentor sessions only,
    once per redemption (a redelivered event finds the code it issued); returns the code
    and whether this call issued it."""
    issued_before = await store.discount_codes_of_redemptions(conn, [redemption_id])
    if redemption_id in issued_before:
        return issued_before[redemption_id], False
    issued = await _issue(
        conn,
        pays_for=PaysFor.SESSIONS,
        redemption_id=redemption_id,
        user_id=user_id,
        value_minor=value_minor,
        currency=currency,
        now=now,
    )
    return issued, True


async def discount_codes_of_redemptions(
    conn: Connection, redemption_ids: list[uuid.UUID]
) -> dict[uuid.UUID, DiscountCode]:
    """The codes these points redemptions bought (discounts, and mentor credit once
    issued), by redemption; one query for a page of redemptions."""
    return await store.discount_codes_of_redemptions(conn, redemption_ids)


async def discount_code(conn: Connection, code: str) -> DiscountCode | None:
    """The code as stored (whoever owns it), e.g. to say whether it was spent."""
    return await store.discount_code(conn, _normalised(code))


def _discount(
    found: DiscountCode | None,
    code: str,
    *,
    user_id: uuid.UUID,
    price_minor: int,
    currency: str,
    purchase: PurchaseKind,
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
    if found.pays_for is PaysFor.SESSIONS and purchase not in _MENTOR_SESSIONS:
        raise InvalidInput(
            f"{code} is mentor credit: it pays for sessions with a mentor only",
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
    purchase: PurchaseKind,
    now: datetime,
) -> Discount:
    """What `user_id`'s code would take off a price, for a quote: nothing is reserved, so
    the code is still the owner's to spend (or lose to an earlier purchase)."""
    code = _normalised(code)
    found = await store.discount_code(conn, code)
    return _discount(
        found,
        code,
        user_id=user_id,
        price_minor=price_minor,
        currency=currency,
        purchase=purchase,
        now=now,
    )


async def redeem_discount_code(
    conn: Connection,
    *,
    code: str,
    user_id: uuid.UUID,
    price_minor: int,
    currency: str,
    purchase: PurchaseKind,
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
        found,
        code,
        user_id=user_id,
        price_minor=price_minor,
        currency=currency,
        purchase=purchase,
        now=now,
    )
    spent = await store.mark_discount_used(
        conn, discount.code, used_for=used_for, applied_minor=discount.applied_minor, at=now
    )
    assert spent  # the row lock and the check above rule out a concurrent spender
    return discount


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
            pays_for=c.pays_for,
        )
        for c in codes
    ]
