"""Discount codes, one model for two issuers: promo codes admins create (a percent or a
fixed amount off, in a validity window, with total and per-member limits, for some kinds
of purchase) and the codes points buy (a fixed amount its owner may use once; mentor
credit pays for sessions only).

A code is checked for a quote (`check_discount_code`, reserving nothing) and used inside
the purchase's own transaction (`redeem_discount_code`): the code's row is locked
(`SELECT … FOR UPDATE`), the limits are counted from committed uses, and the use is a row
written with a conditional bump of the code's counter, so N concurrent purchases of a
code with k uses left make exactly k uses. A purchase that rolls back (a failed payment,
a refused seat) leaves no use behind; a refund afterwards does not give the use back (the
purchase happened, and a refunded buyer could otherwise replay a one-use code)."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from dracarys.db import Connection, transaction
from dracarys.errors import Conflict, InvalidInput, NotFound
from dracarys.idempotency import request_hash
from dracarys.identity import CurrentUser, record_audit
from dracarys.money import bps_of, format_money
from dracarys.outbox import emit_event
from dracarys.platform import Platform
from dracarys.wallet.discounts import store
from dracarys.wallet.discounts.models import (
    DISCOUNT_CODE_VALID_FOR,
    POINTS_PREFIXES,
    SESSION_CREDIT_VALID_FOR,
    CodeKind,
    Discount,
    DiscountCode,
    DiscountCodeView,
    Issuer,
    PromoCodeInput,
    PromoCodeView,
    PurchaseKind,
)
from dracarys.wallet.events import PromoRedeemed


@dataclass(frozen=True, slots=True)
class _PointsCode:
    """What a kind of code points buy is called (its prefix), pays for, and lasts."""

    prefix: str
    purchase_kinds: list[PurchaseKind] | None
    valid_for: timedelta


_POINTS_CODE = _PointsCode("PTS-", None, DISCOUNT_CODE_VALID_FOR)
# Mentor credit pays for time with a mentor: one session, or a package of them.
_MENTOR_SESSIONS = [PurchaseKind.SESSION, PurchaseKind.PACKAGE]
_SESSION_CREDIT = _PointsCode("SES-", _MENTOR_SESSIONS, SESSION_CREDIT_VALID_FOR)
_KIND_NAMES = {
    PurchaseKind.SESSION: "sessions",
    PurchaseKind.COHORT: "cohorts",
    PurchaseKind.SIGNAL_FEED: "signal feeds",
    PurchaseKind.PACKAGE: "packages",
    PurchaseKind.COMMUNITY_SPACE: "premium community groups",
}


def _normalised(code: str) -> str:
    return code.strip().upper()


def _day(at: datetime) -> str:
    return f"{at:%d %b %Y}"


async def _issue_for_points(
    conn: Connection,
    issued_as: _PointsCode,
    *,
    redemption_id: uuid.UUID,
    user_id: uuid.UUID,
    value_minor: int,
    currency: str,
    now: datetime,
) -> DiscountCode:
    return await store.insert_points_code(
        conn,
        code=issued_as.prefix + secrets.token_hex(5).upper(),
        redemption_id=redemption_id,
        owner_id=user_id,
        value_minor=value_minor,
        currency=currency,
        created_at=now,
        expires_at=now + issued_as.valid_for,
        purchase_kinds=issued_as.purchase_kinds,
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
    return await _issue_for_points(
        conn,
        _POINTS_CODE,
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
    issued = await _issue_for_points(
        conn,
        _SESSION_CREDIT,
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


# ---- applying a code to a price ------------------------------------------------------


def _name(found: DiscountCode) -> str:
    what = "promo code" if found.issuer is Issuer.ADMIN else "discount code"
    return f"{what} {found.code}"


def _kinds_phrase(kinds: list[PurchaseKind]) -> str:
    names = [_KIND_NAMES[kind] for kind in kinds]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _applied_minor(found: DiscountCode, price_minor: int) -> int:
    """What the code takes off the price: never more than the price."""
    if found.kind is CodeKind.PERCENT:
        assert found.percent_bps is not None  # the table's check
        return min(bps_of(price_minor, found.percent_bps), price_minor)
    assert found.value_minor is not None  # the table's check
    return min(found.value_minor, price_minor)


def _discount(
    found: DiscountCode | None,
    code: str,
    *,
    user_id: uuid.UUID,
    uses_by_buyer: int,
    price_minor: int,
    currency: str,
    purchase: PurchaseKind,
    now: datetime,
) -> Discount:
    """What the code takes off this price, or the refusal naming `discount_code`. Someone
    else's code reads as no code at all: a guess learns nothing about other people's."""
    field = "discount_code"
    if found is None or (found.owner_id is not None and found.owner_id != user_id):
        raise InvalidInput(
            f"{code} is not one of your discount codes or a promo code we offer; check how "
            "it is spelled",
            field=field,
        )
    name = _name(found)
    if found.deactivated_at is not None:
        raise InvalidInput(f"{name} was withdrawn on {_day(found.deactivated_at)}", field=field)
    if found.used_up:
        if found.max_uses == 1 and found.last_used_at is not None:
            raise Conflict(f"{name} was already used on {_day(found.last_used_at)}", field=field)
        raise Conflict(
            f"{name} has been used up: all {found.max_uses} of its uses are taken", field=field
        )
    if found.max_uses_per_user is not None and uses_by_buyer >= found.max_uses_per_user:
        times = "once" if found.max_uses_per_user == 1 else f"{found.max_uses_per_user} times"
        raise Conflict(f"you have used {name} {times}, as often as one member may", field=field)
    if found.valid_from > now:
        raise InvalidInput(f"{name} can be used from {_day(found.valid_from)}", field=field)
    if found.expires_at is not None and found.expires_at <= now:
        raise InvalidInput(f"{name} expired on {_day(found.expires_at)}", field=field)
    if found.currency is not None and found.currency != currency:
        raise InvalidInput(
            f"{name} pays {found.currency} prices; this price is in {currency}", field=field
        )
    if found.purchase_kinds is not None and purchase not in found.purchase_kinds:
        if found.issuer is Issuer.POINTS and found.purchase_kinds == _MENTOR_SESSIONS:
            message = f"{found.code} is mentor credit: it pays for sessions with a mentor only"
        else:
            message = f"{name} pays for {_kinds_phrase(found.purchase_kinds)} only"
        raise InvalidInput(message, field=field)
    if price_minor <= 0:
        raise InvalidInput("this is free: there is nothing to discount", field=field)
    applied = _applied_minor(found, price_minor)
    if applied <= 0:
        raise InvalidInput(
            f"{name} takes nothing off a price of {format_money(price_minor, currency)}",
            field=field,
        )
    return Discount(
        code=found.code,
        kind=found.kind,
        value_minor=found.value_minor,
        percent_bps=found.percent_bps,
        applied_minor=applied,
        currency=currency,
        expires_at=found.expires_at,
        redemption_id=found.redemption_id,
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
    """What `user_id`'s code (theirs, or a promo code) would take off a price, for a
    quote: nothing is reserved, so the use is taken only by the purchase (which may find
    the last one gone)."""
    code = _normalised(code)
    found = await store.discount_code(conn, code)
    return _discount(
        found,
        code,
        user_id=user_id,
        uses_by_buyer=await store.uses_by(conn, code, user_id) if found else 0,
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
    """Use the code on the purchase `used_for` (e.g. `booking:<id>`), inside the purchase's
    transaction (read committed). The code's row stays locked until the purchase commits,
    and the limits are counted after the lock is taken, so purchases racing for the last
    use take turns: one gets it, the others a 409 naming `discount_code`. A purchase that
    rolls back leaves the use untaken."""
    code = _normalised(code)
    found = await store.discount_code(conn, code, lock=True)
    discount = _discount(
        found,
        code,
        user_id=user_id,
        uses_by_buyer=await store.uses_by(conn, code, user_id) if found else 0,
        price_minor=price_minor,
        currency=currency,
        purchase=purchase,
        now=now,
    )
    recorded = await store.record_use(
        conn,
        discount.code,
        user_id=user_id,
        used_for=used_for,
        applied_minor=discount.applied_minor,
        currency=currency,
        at=now,
    )
    assert recorded  # the row lock and the checks above rule out a concurrent user
    await emit_event(
        conn,
        PromoRedeemed(
            user_id=user_id,
            used_for=used_for,
            kind=discount.kind.value,
            amount_minor=discount.applied_minor,
            currency=currency,
            funded_by="promo" if discount.redemption_id is None else "points",
        ),
    )
    return discount


async def my_discount_codes(platform: Platform, user_id: uuid.UUID) -> list[DiscountCodeView]:
    """The caller's own discount codes (bought with points), newest first, each usable,
    used or expired."""
    now = platform.clock.now()
    async with platform.pool.acquire() as conn:
        codes = await store.discount_codes_of(conn, user_id)
    return [
        DiscountCodeView(
            code=c.code,
            value_minor=c.value_minor or 0,
            currency=c.currency or "",
            expires_at=c.expires_at,
            used_at=c.used_at,
            status="used"
            if c.used_up
            else "expired"
            if c.expires_at is not None and c.expires_at <= now
            else "usable",
            pays_for=c.pays_for,
        )
        for c in codes
    ]


# ---- promo codes, for admins ---------------------------------------------------------


def _status(found: DiscountCode, now: datetime) -> str:
    if found.deactivated_at is not None:
        return "deactivated"
    if found.expires_at is not None and found.expires_at <= now:
        return "expired"
    if found.used_up:
        return "used_up"
    if found.valid_from > now:
        return "scheduled"
    return "active"


def _promo_view(found: DiscountCode, now: datetime) -> PromoCodeView:
    return PromoCodeView(
        code=found.code,
        kind=found.kind,
        value_minor=found.value_minor,
        currency=found.currency,
        percent_bps=found.percent_bps,
        valid_from=found.valid_from,
        expires_at=found.expires_at,
        max_uses=found.max_uses,
        max_uses_per_user=found.max_uses_per_user,
        uses=found.uses,
        remaining=None if found.max_uses is None else found.max_uses - found.uses,
        purchase_kinds=found.purchase_kinds,
        description=found.description,
        status=_status(found, now),
        created_at=found.created_at,
        created_by=found.created_by,
        deactivated_at=found.deactivated_at,
    )


def _checked_promo(data: PromoCodeInput, now: datetime) -> tuple[str, datetime]:
    """The code's stored name and start, or the refusal naming the field at fault."""
    code = _normalised(data.code)
    if code.startswith(POINTS_PREFIXES):
        raise InvalidInput(
            f"codes starting {' or '.join(POINTS_PREFIXES)} are the ones points buy; choose "
            "another name",
            field="code",
        )
    if data.kind is CodeKind.FIXED:
        if data.value_minor is None:
            raise InvalidInput("say how much a fixed code takes off", field="value_minor")
        if data.currency is None:
            raise InvalidInput("say which currency a fixed code pays", field="currency")
        if data.percent_bps is not None:
            raise InvalidInput(
                "a fixed code takes an amount off, not a percent", field="percent_bps"
            )
    else:
        if data.percent_bps is None:
            raise InvalidInput("say what percent a percent code takes off", field="percent_bps")
        if data.value_minor is not None:
            raise InvalidInput(
                "a percent code takes a percent off, not an amount", field="value_minor"
            )
        if data.currency is not None:
            raise InvalidInput(
                "a percent code applies to a price in any currency; leave the currency out",
                field="currency",
            )
    valid_from = data.valid_from or now
    if data.expires_at is not None:
        if data.expires_at <= valid_from:
            raise InvalidInput("the code must end after it starts", field="expires_at")
        if data.expires_at <= now:
            raise InvalidInput("the end of the code's validity has passed", field="expires_at")
    if (
        data.max_uses is not None
        and data.max_uses_per_user is not None
        and data.max_uses_per_user > data.max_uses
    ):
        raise InvalidInput(
            "a member cannot use the code more often than it may be used in all",
            field="max_uses_per_user",
        )
    return code, valid_from


async def create_promo_code(
    platform: Platform, admin: CurrentUser, data: PromoCodeInput, *, source_ip: str | None
) -> PromoCodeView:
    """A new promo code (audit-logged). The code's name is the operation's key: the same
    body again returns the code as first created; another body under a taken name is a
    409 naming `code`."""
    now = platform.clock.now()
    code, valid_from = _checked_promo(data, now)
    kinds = None if data.purchase_kinds is None else sorted(set(data.purchase_kinds))
    asked = request_hash("promo_code.create", data)
    async with transaction(platform.pool) as conn:
        created = await store.insert_promo_code(
            conn,
            code=code,
            kind=data.kind,
            value_minor=data.value_minor,
            currency=data.currency,
            percent_bps=data.percent_bps,
            valid_from=valid_from,
            expires_at=data.expires_at,
            max_uses=data.max_uses,
            max_uses_per_user=data.max_uses_per_user,
            purchase_kinds=kinds,
            description=data.description,
            created_by=admin.id,
            created_at=now,
            request_hash=asked,
        )
        stored = await store.discount_code(conn, code)
        assert stored is not None  # inserted now, or there before
        if not created:
            if stored.issuer is not Issuer.ADMIN or stored.request_hash != asked:
                raise Conflict(f"there is a code {code} already; choose another name", field="code")
            return _promo_view(stored, now)
        await record_audit(
            conn,
            admin.id,
            "promo_code.created",
            f"promo_code:{code}",
            source_ip,
            {
                "kind": data.kind.value,
                "value_minor": data.value_minor,
                "currency": data.currency,
                "percent_bps": data.percent_bps,
                "max_uses": data.max_uses,
                "max_uses_per_user": data.max_uses_per_user,
                "purchase_kinds": None if kinds is None else [k.value for k in kinds],
            },
            at=now,
        )
        return _promo_view(stored, now)


async def promo_codes(platform: Platform) -> list[PromoCodeView]:
    """Every promo code admins issued, newest first, with its uses and what is left."""
    now = platform.clock.now()
    async with platform.pool.acquire() as conn:
        return [_promo_view(found, now) for found in await store.promo_codes(conn)]


async def deactivate_promo_code(
    platform: Platform, admin: CurrentUser, code: str, *, source_ip: str | None
) -> PromoCodeView:
    """Stop a promo code now (audit-logged): checkouts refuse it from here on, and uses
    already made stand. Stopping it again changes nothing."""
    now = platform.clock.now()
    code = _normalised(code)
    async with transaction(platform.pool) as conn:
        found = await store.discount_code(conn, code, lock=True)
        if found is None or found.issuer is not Issuer.ADMIN:
            raise NotFound(f"there is no promo code {code}", field="code")
        if await store.deactivate(conn, code, by=admin.id, at=now):
            await record_audit(
                conn,
                admin.id,
                "promo_code.deactivated",
                f"promo_code:{code}",
                source_ip,
                {"uses": found.uses},
                at=now,
            )
        stopped = await store.discount_code(conn, code)
        assert stopped is not None
        return _promo_view(stopped, now)
