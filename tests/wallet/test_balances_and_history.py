"""What the wallet page reads: balances per currency with what is reserved in escrow and
on its way out, a mentor's held-back share, and the history with a running balance per
currency that stays right across currencies and pages; only the owner (and staff) read
them."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from dracarys.clock import ManualClock
from dracarys.db import transaction
from dracarys.identity import Role
from dracarys.platform import Platform
from dracarys.wallet.escrow import service as escrow
from dracarys.wallet.ledger import service as ledger
from dracarys.wallet.ledger.models import AccountCode, TransferSpec
from tests.conftest import FundWallet
from tests.support import AppClient, TestUser
from tests.wallet.conftest import refreshed

MakeUser = Callable[..., Awaitable[TestUser]]


async def _spend(
    pool: asyncpg.Pool, user: TestUser, currency: str, amount: int, now: datetime
) -> None:
    """Money out of the wallet in one step, as a sale posts it."""
    async with transaction(pool) as conn:
        await ledger.create_transfer(
            conn,
            TransferSpec(
                idempotency_key=f"spend:{uuid.uuid4()}",
                code="charge_sale",
                debit_account_id=await ledger.wallet_account(conn, user.id, currency, now),
                credit_account_id=await ledger.platform_account(
                    conn, AccountCode.PLATFORM_REVENUE, currency, now
                ),
                amount_minor=amount,
                currency=currency,
            ),
            now=now,
        )


async def _reserve(
    pool: asyncpg.Pool, user: TestUser, code: str, amount: int, now: datetime
) -> uuid.UUID:
    """A pending transfer out of the KES wallet (what a withdrawal or an escrow opens)."""
    async with transaction(pool) as conn:
        pending = await ledger.open_pending(
            conn,
            idempotency_key=f"reserve:{uuid.uuid4()}",
            code=code,
            debit_account_id=await ledger.wallet_account(conn, user.id, "KES", now),
            credit_account_id=await ledger.platform_account(
                conn, AccountCode.PAYOUT_CLEARING, "KES", now
            ),
            amount_minor=amount,
            currency="KES",
            reference=None,
            now=now,
        )
    return pending.id


async def _release(pool: asyncpg.Pool, pending_id: uuid.UUID, now: datetime) -> None:
    async with transaction(pool) as conn:
        await ledger.void_pending(
            conn, pending_id, idempotency_key=f"void:{pending_id}", code="payout_failed", now=now
        )


async def _all_pages(
    client: AppClient, user: TestUser, limit: int, currency: str | None = None
) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": limit}
    if currency:
        params["currency"] = currency
    while True:
        response = await client.get(
            f"/api/v1/wallets/{user.id}/history", params=params, headers=user.headers
        )
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= limit
        items.extend(page["items"])
        if page["next_cursor"] is None:
            return items
        params["cursor"] = page["next_cursor"]


async def test_running_balance_is_per_currency_and_right_on_every_page(
    client: AppClient,
    make_user: MakeUser,
    pool: asyncpg.Pool,
    clock: ManualClock,
    fund_wallet: FundWallet,
) -> None:
    user = await make_user()
    now = clock.now()
    await fund_wallet(user.id, "KES", 10_000)
    await fund_wallet(user.id, "USD", 500)
    await _spend(pool, user, "KES", 2_500, now)
    held = await _reserve(pool, user, "withdrawal", 1_000, now)
    await fund_wallet(user.id, "USD", 250)
    await _spend(pool, user, "USD", 100, now)
    await _release(pool, held, now)
    await _spend(pool, user, "KES", 500, now)

    # Pages of two, newest first, across both currencies.
    items = await _all_pages(client, user, limit=2)
    assert [
        (i["currency"], i["direction"], i["amount_minor"], i["available_after_minor"])
        for i in items
    ] == [
        ("KES", "out", 500, 7_000),
        ("KES", "release", 1_000, 7_500),
        ("USD", "out", 100, 650),
        ("USD", "in", 250, 750),
        ("KES", "hold", 1_000, 6_500),
        ("KES", "out", 2_500, 7_500),
        ("USD", "in", 500, 500),
        ("KES", "in", 10_000, 10_000),
    ]
    # The posted balance ignores the reservation; the available one does not.
    assert [i["balance_after_minor"] for i in items if i["currency"] == "KES"] == [
        7_000,
        7_500,
        7_500,
        7_500,
        10_000,
    ]
    assert [i["label"] for i in items[:3]] == [
        "Purchase",
        "Payout failed: money returned",
        "Purchase",
    ]
    # Entry ids strictly fall: no entry twice, none skipped between pages.
    ids = [i["entry_id"] for i in items]
    assert ids == sorted(ids, reverse=True)
    assert len(set(ids)) == 8

    # One currency at a time gives the same running balances, on pages of three.
    kes = await _all_pages(client, user, limit=3, currency="KES")
    assert [i["available_after_minor"] for i in kes] == [7_000, 7_500, 6_500, 7_500, 10_000]
    usd = await _all_pages(client, user, limit=1, currency="USD")
    assert [i["available_after_minor"] for i in usd] == [650, 750, 500]

    # The newest entry's running balance is the balance shown at the top of the page.
    balances = (
        await client.get(f"/api/v1/wallets/{user.id}/balances", headers=user.headers)
    ).json()["balances"]
    assert {b["currency"]: b["available_minor"] for b in balances} == {"KES": 7_000, "USD": 650}


async def test_history_of_another_users_wallet_is_not_found_and_staff_may_read_it(
    client: AppClient, make_user: MakeUser, fund_wallet: FundWallet
) -> None:
    owner = await make_user()
    stranger = await make_user()
    admin = await make_user(role=Role.ADMIN)
    await fund_wallet(owner.id, "KES", 1_000)
    for path in ("history", "balances"):
        url = f"/api/v1/wallets/{owner.id}/{path}"
        refused = await client.get(url, headers=stranger.headers)
        assert refused.status_code == 404
        assert refused.json()["errors"][0]["field"] == "wallet_id"
        assert (await client.get(url, headers=admin.headers)).status_code == 200
    history = await client.get(f"/api/v1/wallets/{owner.id}/history", headers=admin.headers)
    assert [i["amount_minor"] for i in history.json()["items"]] == [1_000]


async def test_an_unsupported_currency_is_a_422_naming_it_and_an_empty_wallet_has_no_history(
    client: AppClient, make_user: MakeUser
) -> None:
    user = await make_user()
    bad = await client.get(
        f"/api/v1/wallets/{user.id}/history", params={"currency": "EUR"}, headers=user.headers
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "currency"
    empty = await client.get(f"/api/v1/wallets/{user.id}/history", headers=user.headers)
    assert empty.json() == {
        "wallet_id": str(user.id),
        "currency": None,
        "items": [],
        "next_cursor": None,
    }


async def test_balances_split_what_is_reserved_and_show_a_mentors_held_back_share(
    client: AppClient,
    make_user: MakeUser,
    platform: Platform,
    pool: asyncpg.Pool,
    clock: ManualClock,
    fund_wallet: FundWallet,
) -> None:
    mentee = await make_user()
    mentor = await make_user(role=Role.MENTOR, kyc_level=2)
    await fund_wallet(mentee.id, "KES", 2_000_000)
    paid = await client.post(
        "/api/v1/payments/charge",
        json={
            "purpose": "session",
            "reference": "booking-7",
            "amount_minor": 1_160_000,
            "currency": "KES",
            "mentor_id": str(mentor.id),
            "idempotency_key": "pay-booking-7",
        },
        headers=mentee.headers,
    )
    assert paid.status_code == 201, paid.text
    await _reserve(pool, mentee, "withdrawal", 300_000, clock.now())

    async def kes(user: TestUser) -> dict[str, int]:
        response = await client.get(f"/api/v1/wallets/{user.id}/balances", headers=user.headers)
        row = next(b for b in response.json()["balances"] if b["currency"] == "KES")
        return {k: v for k, v in row.items() if k != "currency"}

    assert await kes(mentee) == {
        "available_minor": 540_000,
        "posted_minor": 2_000_000,
        "pending_in_minor": 0,
        "pending_out_minor": 1_460_000,
        "in_escrow_minor": 1_160_000,
        "withdrawing_minor": 300_000,
        "held_back_minor": 0,
    }
    clock.advance(timedelta(hours=1))
    async with transaction(pool) as conn:
        await escrow.release_escrow(
            conn, paid.json()["escrow_id"], settings=platform.settings, now=clock.now()
        )
    mentee = refreshed(mentee, platform.settings, clock)
    mentor = refreshed(mentor, platform.settings, clock)
    after = await kes(mentee)
    assert (after["in_escrow_minor"], after["withdrawing_minor"]) == (0, 300_000)
    # Net 10,000 of 11,600: the mentor's 70% is 7,000, of which 10% waits 30 days.
    mentor_kes = await kes(mentor)
    assert (mentor_kes["available_minor"], mentor_kes["held_back_minor"]) == (630_000, 70_000)
    clock.advance(timedelta(days=30))
    assert await escrow.release_due_holdbacks(platform) == 1
    mentor = refreshed(mentor, platform.settings, clock)
    mentor_kes = await kes(mentor)
    assert (mentor_kes["available_minor"], mentor_kes["held_back_minor"]) == (700_000, 0)


async def test_a_top_up_awaiting_payment_is_incoming_and_one_that_never_came_is_cancelled(
    client: AppClient, make_user: MakeUser, pool: asyncpg.Pool, clock: ManualClock
) -> None:
    user = await make_user()
    now = clock.now()
    async with transaction(pool) as conn:
        pending = await ledger.open_pending(
            conn,
            idempotency_key=f"deposit:{uuid.uuid4()}",
            code="deposit",
            debit_account_id=await ledger.platform_account(
                conn, AccountCode.MPESA_CLEARING, "KES", now
            ),
            credit_account_id=await ledger.wallet_account(conn, user.id, "KES", now),
            amount_minor=150_000,
            currency="KES",
            reference=None,
            now=now,
        )
    waiting = await client.get(f"/api/v1/wallets/{user.id}/history", headers=user.headers)
    [incoming] = waiting.json()["items"]
    assert (incoming["direction"], incoming["label"], incoming["available_after_minor"]) == (
        "incoming",
        "Top-up awaiting payment",
        0,
    )
    balances = await client.get(f"/api/v1/wallets/{user.id}/balances", headers=user.headers)
    assert balances.json()["balances"][0]["pending_in_minor"] == 150_000
    async with transaction(pool) as conn:
        await ledger.void_pending(
            conn, pending.id, idempotency_key=f"void:{pending.id}", code="deposit_failed", now=now
        )
    history = await client.get(f"/api/v1/wallets/{user.id}/history", headers=user.headers)
    assert [
        (i["direction"], i["label"], i["available_after_minor"]) for i in history.json()["items"]
    ] == [
        ("cancelled", "Top-up not completed", 0),
        ("incoming", "Top-up awaiting payment", 0),
    ]
