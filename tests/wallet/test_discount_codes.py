"""Discount codes bought with points: valid 90 days, listed for their owner as usable,
used or expired, and spent once, by their owner, inside the buyer's transaction (a
rolled-back purchase leaves the code unspent)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from dracarys.clock import ManualClock
from dracarys.errors import Conflict, InvalidInput
from dracarys.identity import Role
from dracarys.platform import Platform
from dracarys.wallet import PurchaseKind, check_discount_code, redeem_discount_code
from tests.checkout.conftest import buy_discount_code
from tests.support import AppClient, events_of

CODES = "/api/v1/wallet/discount-codes"


async def _spend(
    platform: Platform, code: str, user_id: uuid.UUID, price_minor: int = 10_000
) -> int:
    async with platform.pool.acquire() as conn, conn.transaction():
        discount = await redeem_discount_code(
            conn,
            code=code,
            user_id=user_id,
            price_minor=price_minor,
            currency="KES",
            purchase=PurchaseKind.SESSION,
            used_for="test:purchase",
            now=platform.clock.now(),
        )
    return discount.applied_minor


async def test_codes_are_listed_usable_then_used_or_expired(
    client: AppClient, platform: Platform, clock: ManualClock, make_user
) -> None:
    user = await make_user(role=Role.MENTEE)
    bought = clock.now()
    spent = await buy_discount_code(client, platform, user.headers, user, 300)
    clock.advance(timedelta(minutes=1))
    kept = await buy_discount_code(client, platform, user.headers, user, 200)

    await _spend(platform, spent, user.id)
    listed = (await client.get(CODES, headers=user.headers)).json()
    clock.advance(timedelta(days=90, minutes=1))
    later = (
        await client.get(CODES, headers=user.signed_in_again(platform.settings, clock).headers)
    ).json()

    assert [(c["code"], c["status"], c["value_minor"]) for c in listed] == [
        (kept, "usable", 200),
        (spent, "used", 300),
    ]
    assert listed[0]["expires_at"].startswith((bought + timedelta(days=90)).date().isoformat())
    assert [c["status"] for c in later] == ["expired", "used"]


async def test_a_code_worth_more_than_the_price_takes_the_price_and_is_spent_whole(
    client: AppClient, platform: Platform, make_user
) -> None:
    user = await make_user(role=Role.MENTEE)
    code = await buy_discount_code(client, platform, user.headers, user, 5_000)

    applied = await _spend(platform, code, user.id, price_minor=1_200)

    assert applied == 1_200
    with pytest.raises(Conflict, match="already used"):
        await _spend(platform, code, user.id)
    # Analytics sees the use once, as what the code took off, paid for with points.
    assert await events_of(platform.pool, "promo.redeemed") == [
        {
            "user_id": str(user.id),
            "used_for": "test:purchase",
            "kind": "fixed",
            "amount_minor": 1_200,
            "currency": "KES",
            "funded_by": "points",
        }
    ]


async def test_a_rolled_back_purchase_leaves_the_code_unspent(
    client: AppClient, platform: Platform, make_user
) -> None:
    user = await make_user(role=Role.MENTEE)
    code = await buy_discount_code(client, platform, user.headers, user, 400)

    with pytest.raises(RuntimeError):
        async with platform.pool.acquire() as conn, conn.transaction():
            await redeem_discount_code(
                conn,
                code=code,
                user_id=user.id,
                price_minor=10_000,
                currency="KES",
                purchase=PurchaseKind.SESSION,
                used_for="test:failed-purchase",
                now=platform.clock.now(),
            )
            raise RuntimeError("the payment failed")

    assert await _spend(platform, code, user.id) == 400
    # The rolled-back use told analytics nothing.
    redeemed = await events_of(platform.pool, "promo.redeemed")
    assert [(e["used_for"], e["amount_minor"]) for e in redeemed] == [("test:purchase", 400)]


async def test_someone_elses_code_reads_as_no_code(
    client: AppClient, platform: Platform, make_user
) -> None:
    owner = await make_user(role=Role.MENTEE)
    other = await make_user(role=Role.MENTEE)
    code = await buy_discount_code(client, platform, owner.headers, owner, 100)

    async with platform.pool.acquire() as conn:
        with pytest.raises(InvalidInput, match="not one of your discount codes") as foreign:
            await check_discount_code(
                conn,
                code=code,
                user_id=other.id,
                price_minor=1_000,
                currency="KES",
                purchase=PurchaseKind.SESSION,
                now=platform.clock.now(),
            )
        with pytest.raises(InvalidInput, match="not one of your discount codes") as unknown:
            await check_discount_code(
                conn,
                code="PTS-FFFFFFFFFF",
                user_id=other.id,
                price_minor=1_000,
                currency="KES",
                purchase=PurchaseKind.SESSION,
                now=platform.clock.now(),
            )

    assert foreign.value.errors[0].field == unknown.value.errors[0].field == "discount_code"
    assert (await client.get(CODES, headers=other.headers)).json() == []
