"""Promo codes: admins create them (percent or fixed, a validity window, total and
per-member limits, some kinds of purchase only), list them with their uses and what is
left, and deactivate them, each audit-logged; a purchase uses one inside its own
transaction, so the limits hold however many purchases race for the last use, and a
purchase that rolls back takes no use."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import pytest

from dracarys.clock import ManualClock
from dracarys.db import transaction
from dracarys.errors import Conflict, DomainError, InvalidInput
from dracarys.identity import Role
from dracarys.money import bps_of
from dracarys.platform import Platform
from dracarys.wallet import PurchaseKind, check_discount_code, redeem_discount_code
from tests.support import AppClient, TestUser

PROMO = "/api/v1/admin/promo-codes"


async def create_promo(client: AppClient, admin: TestUser, **body: Any) -> Any:
    return await client.post(PROMO, json=body, headers=admin.headers)


async def _use(
    platform: Platform,
    code: str,
    user_id: uuid.UUID,
    *,
    price_minor: int = 10_000,
    currency: str = "KES",
    purchase: PurchaseKind = PurchaseKind.SESSION,
    payment_fails: bool = False,
) -> int:
    """One purchase using the code in its own transaction; `payment_fails` rolls it back
    after the code was taken, as a refused payment does."""
    async with transaction(platform.pool) as conn:
        discount = await redeem_discount_code(
            conn,
            code=code,
            user_id=user_id,
            price_minor=price_minor,
            currency=currency,
            purchase=purchase,
            used_for=f"test:{uuid.uuid4()}",
            now=platform.clock.now(),
        )
        if payment_fails:
            raise RuntimeError("the payment failed")
    return discount.applied_minor


async def _quote(
    platform: Platform,
    code: str,
    user_id: uuid.UUID,
    *,
    price_minor: int = 10_000,
    currency: str = "KES",
    purchase: PurchaseKind = PurchaseKind.SESSION,
) -> int:
    async with platform.pool.acquire() as conn:
        discount = await check_discount_code(
            conn,
            code=code,
            user_id=user_id,
            price_minor=price_minor,
            currency=currency,
            purchase=purchase,
            now=platform.clock.now(),
        )
    return discount.applied_minor


async def _uses(platform: Platform, code: str) -> tuple[int, int]:
    """(the code's counter, its use rows)."""
    counter = await platform.pool.fetchval("SELECT uses FROM discount_codes WHERE code = $1", code)
    rows = await platform.pool.fetchval(
        "SELECT count(*) FROM discount_code_uses WHERE code = $1", code
    )
    return counter, rows


async def test_a_hundred_concurrent_uses_of_a_ten_use_promo_code_succeed_exactly_ten_times(
    client: AppClient, platform: Platform, make_user
) -> None:
    admin = await make_user(role=Role.ADMIN)
    created = await create_promo(
        client, admin, code="launch10", kind="fixed", value_minor=500, currency="KES", max_uses=10
    )
    assert created.status_code == 201, created.text
    buyers = [await make_user(role=Role.MENTEE) for _ in range(100)]

    results = await asyncio.gather(
        *(_use(platform, "LAUNCH10", buyer.id) for buyer in buyers), return_exceptions=True
    )

    won = [r for r in results if r == 500]
    refused = [r for r in results if isinstance(r, Conflict)]
    assert len(won) == 10, results
    assert len(refused) == 90, [r for r in results if not isinstance(r, Conflict | int)]
    assert {r.errors[0].field for r in refused} == {"discount_code"}
    assert all("used up" in r.detail for r in refused)
    assert await _uses(platform, "LAUNCH10") == (10, 10)
    assert (
        await platform.pool.fetchval(
            "SELECT count(DISTINCT user_id) FROM discount_code_uses WHERE code = 'LAUNCH10'"
        )
        == 10
    )
    listed = (await client.get(PROMO, headers=admin.headers)).json()
    assert [(c["code"], c["uses"], c["remaining"], c["status"]) for c in listed] == [
        ("LAUNCH10", 10, 0, "used_up")
    ]


async def test_one_member_racing_twenty_purchases_gets_exactly_their_three_uses(
    client: AppClient, platform: Platform, make_user
) -> None:
    admin = await make_user(role=Role.ADMIN)
    created = await create_promo(
        client,
        admin,
        code="THRICE",
        kind="percent",
        percent_bps=1_000,
        max_uses=100,
        max_uses_per_user=3,
    )
    assert created.status_code == 201, created.text
    buyer = await make_user(role=Role.MENTEE)
    other = await make_user(role=Role.MENTEE)

    results = await asyncio.gather(
        *(_use(platform, "thrice", buyer.id) for _ in range(20)), return_exceptions=True
    )

    assert results.count(1_000) == 3, results
    refused = [r for r in results if isinstance(r, Conflict)]
    assert len(refused) == 17
    assert all("as often as one member may" in r.detail for r in refused)
    assert await _uses(platform, "THRICE") == (3, 3)
    # The limit is the member's: another member still uses it.
    assert await _use(platform, "THRICE", other.id) == 1_000


async def test_purchases_that_roll_back_take_no_use_even_when_they_race(
    client: AppClient, platform: Platform, make_user
) -> None:
    admin = await make_user(role=Role.ADMIN)
    await create_promo(
        client, admin, code="FIVE-LEFT", kind="fixed", value_minor=100, currency="KES", max_uses=5
    )
    buyers = [await make_user(role=Role.MENTEE) for _ in range(40)]

    # Every other purchase fails its payment after taking the code.
    results = await asyncio.gather(
        *(
            _use(platform, "FIVE-LEFT", buyer.id, payment_fails=n % 2 == 0)
            for n, buyer in enumerate(buyers)
        ),
        return_exceptions=True,
    )

    assert results.count(100) == 5, results
    assert await _uses(platform, "FIVE-LEFT") == (5, 5)
    paid = await platform.pool.fetch("SELECT user_id FROM discount_code_uses")
    assert {row["user_id"] for row in paid} <= {b.id for n, b in enumerate(buyers) if n % 2}


async def test_a_percent_code_rounds_half_to_even_and_never_takes_more_than_the_price(
    client: AppClient, platform: Platform, make_user
) -> None:
    admin = await make_user(role=Role.ADMIN)
    buyer = await make_user(role=Role.MENTEE)
    await create_promo(client, admin, code="FIFTEEN", kind="percent", percent_bps=1_500)
    await create_promo(client, admin, code="ALLFREE", kind="percent", percent_bps=10_000)
    await create_promo(
        client, admin, code="BIGONE", kind="fixed", value_minor=900_000, currency="USD"
    )

    # 15% of 1,999 is 299.85 → 300; of 2,010 is 301.5 → 302 (even); of 2,030 is 304.5 → 304.
    assert [
        await _quote(platform, "fifteen", buyer.id, price_minor=p) for p in (1_999, 2_010, 2_030)
    ] == [
        300,
        302,
        304,
    ]
    assert bps_of(2_030, 1_500) == 304
    # In any currency, JPY's whole yen included.
    assert await _quote(platform, "FIFTEEN", buyer.id, price_minor=999, currency="JPY") == 150
    assert await _quote(platform, "ALLFREE", buyer.id, price_minor=12_345) == 12_345
    assert await _quote(platform, "BIGONE", buyer.id, price_minor=5_000, currency="USD") == 5_000
    with pytest.raises(InvalidInput, match="takes nothing off") as tiny:
        await _quote(platform, "FIFTEEN", buyer.id, price_minor=3)
    assert tiny.value.errors[0].field == "discount_code"


async def test_currency_window_and_purchase_kind_refusals_name_the_code_field(
    client: AppClient, platform: Platform, clock: ManualClock, make_user
) -> None:
    admin = await make_user(role=Role.ADMIN)
    buyer = await make_user(role=Role.MENTEE)
    start = clock.now() + timedelta(days=2)
    await create_promo(
        client, admin, code="USD-FIVE", kind="fixed", value_minor=500, currency="USD"
    )
    await create_promo(
        client,
        admin,
        code="COURSES",
        kind="percent",
        percent_bps=2_000,
        purchase_kinds=["cohort", "package"],
    )
    await create_promo(
        client,
        admin,
        code="LATER",
        kind="percent",
        percent_bps=2_000,
        valid_from=start.isoformat(),
        expires_at=(start + timedelta(days=1)).isoformat(),
    )

    refusals: dict[str, DomainError] = {}
    for name, code, kind in (
        ("currency", "USD-FIVE", PurchaseKind.SESSION),
        ("kind", "COURSES", PurchaseKind.SESSION),
        ("early", "LATER", PurchaseKind.SESSION),
        ("unknown", "NO-SUCH-CODE", PurchaseKind.SESSION),
    ):
        with pytest.raises(InvalidInput) as refused:
            await _quote(platform, code, buyer.id, purchase=kind)
        refusals[name] = refused.value
    assert {e.errors[0].field for e in refusals.values()} == {"discount_code"}
    assert (
        refusals["currency"].detail == "promo code USD-FIVE pays USD prices; this price is in KES"
    )
    assert refusals["kind"].detail == "promo code COURSES pays for cohorts and packages only"
    assert "can be used from" in refusals["early"].detail
    assert await _quote(platform, "COURSES", buyer.id, purchase=PurchaseKind.PACKAGE) == 2_000

    clock.advance(timedelta(days=2, hours=1))
    assert await _use(platform, "LATER", buyer.id) == 2_000
    clock.advance(timedelta(days=1))
    with pytest.raises(InvalidInput, match="expired on"):
        await _quote(platform, "LATER", buyer.id)


async def test_admins_create_list_and_deactivate_promo_codes_audited_and_nothing_else_may(
    client: AppClient, platform: Platform, clock: ManualClock, make_user
) -> None:
    admin = await make_user(role=Role.ADMIN)
    buyer = await make_user(role=Role.MENTEE)
    body = {
        "code": "Welcome-20",
        "kind": "percent",
        "percent_bps": 2_000,
        "max_uses": 50,
        "max_uses_per_user": 1,
        "purchase_kinds": ["session", "cohort"],
        "description": "Newcomers' first session",
    }

    first = await create_promo(client, admin, **body)
    clock.advance(timedelta(minutes=5))
    again = await create_promo(client, admin, **body)
    taken = await create_promo(client, admin, **{**body, "percent_bps": 3_000})
    for_mentee = await client.post(PROMO, json={**body, "code": "MINE"}, headers=buyer.headers)
    listed_by_mentee = await client.get(PROMO, headers=buyer.headers)

    assert first.status_code == 201, first.text
    view = first.json()
    assert (view["code"], view["status"], view["uses"], view["remaining"]) == (
        "WELCOME-20",
        "active",
        0,
        50,
    )
    assert again.status_code == 201
    assert again.json() == view
    assert taken.status_code == 409
    assert taken.json()["errors"][0]["field"] == "code"
    assert for_mentee.status_code == listed_by_mentee.status_code == 403

    assert await _use(platform, "welcome-20", buyer.id) == 2_000
    [listed] = (await client.get(PROMO, headers=admin.headers)).json()
    assert (listed["uses"], listed["remaining"], listed["purchase_kinds"]) == (
        1,
        49,
        ["cohort", "session"],
    )

    stopped = await client.post(f"{PROMO}/welcome-20/deactivate", headers=admin.headers)
    stopped_again = await client.post(f"{PROMO}/WELCOME-20/deactivate", headers=admin.headers)
    unknown = await client.post(f"{PROMO}/NOPE/deactivate", headers=admin.headers)
    assert stopped.status_code == 200, stopped.text
    assert stopped.json()["status"] == "deactivated"
    assert stopped_again.json() == stopped.json()
    assert unknown.status_code == 404
    assert unknown.json()["errors"][0]["field"] == "code"
    other = await make_user(role=Role.MENTEE)
    with pytest.raises(InvalidInput, match="was withdrawn on"):
        await _quote(platform, "WELCOME-20", other.id)

    audit = await platform.pool.fetch(
        "SELECT actor_id, action, target FROM audit_log ORDER BY position"
    )
    assert [(r["actor_id"], r["action"], r["target"]) for r in audit] == [
        (admin.id, "promo_code.created", "promo_code:WELCOME-20"),
        (admin.id, "promo_code.deactivated", "promo_code:WELCOME-20"),
    ]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "fixed", "value_minor": 500}, "currency"),
        ({"kind": "fixed", "currency": "KES"}, "value_minor"),
        ({"kind": "fixed", "value_minor": 500, "currency": "EUR"}, "currency"),
        (
            {"kind": "fixed", "value_minor": 500, "currency": "KES", "percent_bps": 10},
            "percent_bps",
        ),
        ({"kind": "percent"}, "percent_bps"),
        ({"kind": "percent", "percent_bps": 10_001}, "percent_bps"),
        ({"kind": "percent", "percent_bps": 500, "currency": "KES"}, "currency"),
        ({"kind": "percent", "percent_bps": 500, "value_minor": 5}, "value_minor"),
        (
            {"kind": "percent", "percent_bps": 500, "max_uses": 2, "max_uses_per_user": 3},
            "max_uses_per_user",
        ),
        (
            {"kind": "percent", "percent_bps": 500, "expires_at": "2020-01-01T00:00:00Z"},
            "expires_at",
        ),
        (
            {"kind": "percent", "percent_bps": 500, "expires_at": "2027-01-01T00:00:00"},
            "expires_at",
        ),
        ({"kind": "percent", "percent_bps": 500, "purchase_kinds": []}, "purchase_kinds"),
        ({"kind": "percent", "percent_bps": 500, "purchase_kinds": ["merch"]}, "purchase_kinds[0]"),
        ({"kind": "percent", "percent_bps": 500, "code": "PTS-LOOKALIKE"}, "code"),
        ({"kind": "percent", "percent_bps": 500, "code": "no spaces"}, "code"),
    ],
)
async def test_a_promo_code_that_does_not_add_up_is_refused_naming_its_field(
    client: AppClient, platform: Platform, make_user, body: dict[str, Any], field: str
) -> None:
    admin = await make_user(role=Role.ADMIN)

    response = await create_promo(client, admin, **{"code": "SPRING", **body})

    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == field
    assert await platform.pool.fetchval("SELECT count(*) FROM discount_codes") == 0
    assert await platform.pool.fetchval("SELECT count(*) FROM audit_log") == 0
