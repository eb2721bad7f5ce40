"""Escrow end to end with a controllable clock: book and pay, hold, release after the
session, holdback released after 30 days, weekly payout; refunds by the cancellation
policy, split by a mentor's contract share."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

import asyncpg
import pytest

from dracarys.clock import ManualClock
from dracarys.db import transaction
from dracarys.errors import Conflict
from dracarys.identity import Role
from dracarys.mentorship.policy import cancellation_refund_bps
from dracarys.payments.sandbox import DarajaSimulator
from dracarys.platform import Platform
from dracarys.wallet.balances.service import balances_of
from dracarys.wallet.escrow import service as escrow
from dracarys.wallet.ledger import service as ledger
from dracarys.wallet.ledger.models import AccountCode
from dracarys.wallet.payouts import service as payouts
from tests.conftest import FundWallet
from tests.support import AppClient, TestUser, audit_trail
from tests.wallet.conftest import current_originator, outbox_events, refreshed

Client = AppClient
MakeUser = Callable[..., Awaitable[TestUser]]


async def _available(pool: asyncpg.Pool, user: TestUser, currency: str = "KES") -> tuple[int, int]:
    async with pool.acquire() as conn:
        balances = await balances_of(conn, user.id)
    row = next(b for b in balances.balances if b.currency == currency)
    return row.available_minor, row.pending_out_minor


async def _platform_balance(pool: asyncpg.Pool, code: AccountCode, now: object) -> int:
    async with transaction(pool) as conn:
        account = await ledger.platform_account(conn, code, "KES", now)  # type: ignore[arg-type]
        return (await ledger.balance_of(conn, account)).posted_minor


async def test_escrow_lifecycle_book_pay_hold_release_holdback_and_weekly_payout(
    client: Client,
    make_user: MakeUser,
    platform: Platform,
    clock: ManualClock,
    pool: asyncpg.Pool,
    daraja_sim: DarajaSimulator,
    fund_wallet: FundWallet,
) -> None:
    mentee = await make_user(role=Role.MENTEE)
    mentor = await make_user(role=Role.MENTOR, kyc_level=2, phone="+254722000111")
    await fund_wallet(mentee.id, "KES", 1_160_000)

    # Book and pay: KES 11,600 including 16% VAT goes into escrow, with an invoice.
    paid = await client.post(
        "/api/v1/payments/charge",
        json={
            "purpose": "session",
            "reference": "booking-42",
            "amount_minor": 1_160_000,
            "currency": "KES",
            "mentor_id": str(mentor.id),
            "idempotency_key": "pay-booking-42",
        },
        headers=mentee.headers,
    )
    assert paid.status_code == 201, paid.text
    charge = paid.json()
    assert charge["invoice_number"] == f"DRC-{clock.now().year}-000001"
    assert await _available(pool, mentee) == (0, 1_160_000)
    view = (
        await client.get(f"/api/v1/escrows/{charge['escrow_id']}", headers=mentor.headers)
    ).json()
    assert view["status"] == "held"
    pdf = await client.get(f"/api/v1/invoices/{charge['invoice_id']}/pdf", headers=mentee.headers)
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF")

    # The session happens; mentorship releases the escrow.
    clock.advance(timedelta(hours=2))
    async with transaction(pool) as conn:
        released = await escrow.release_escrow(
            conn, charge["escrow_id"], settings=platform.settings, now=clock.now()
        )
    assert released.status == "released"
    # Net 10,000: mentor 70% = 7,000 of which 10% (700) held back; platform 3,000; VAT 1,600.
    assert await _available(pool, mentee) == (0, 0)
    assert await _available(pool, mentor) == (630_000, 0)
    assert await _platform_balance(pool, AccountCode.PLATFORM_REVENUE, clock.now()) == 300_000
    assert await _platform_balance(pool, AccountCode.VAT_PAYABLE, clock.now()) == 160_000
    assert await _platform_balance(pool, AccountCode.MENTOR_HOLDBACK, clock.now()) == 70_000
    assert [e["escrow_id"] for e in await outbox_events(pool, "escrow.released")] == [
        charge["escrow_id"]
    ]

    # The holdback waits 30 days.
    clock.advance(timedelta(days=29))
    assert await escrow.release_due_holdbacks(platform) == 0
    clock.advance(timedelta(days=1))
    mentor = refreshed(mentor, platform.settings, clock)
    assert await escrow.release_due_holdbacks(platform) == 1
    assert await escrow.release_due_holdbacks(platform) == 0
    assert await _available(pool, mentor) == (700_000, 0)

    # The weekly payout sends it all through M-Pesa B2C; running it twice pays once.
    [payout_id] = await payouts.run_weekly_payouts(platform)
    assert await payouts.run_weekly_payouts(platform) == []
    originator = await current_originator(pool, payout_id)
    assert daraja_sim.b2c_requests[originator]["Amount"] == 7_000
    assert daraja_sim.b2c_requests[originator]["PartyB"] == "254722000111"
    assert await _available(pool, mentor) == (0, 700_000)
    path, payload = daraja_sim.b2c_result(originator)
    for _ in range(2):
        assert (await client.post(path, json=payload)).status_code == 200
    assert await _available(pool, mentor) == (0, 0)
    completed = await outbox_events(pool, "payout.completed")
    assert [(e["payout_id"], e["amount_minor"]) for e in completed] == [(str(payout_id), 700_000)]
    async with pool.acquire() as conn:
        assert (await ledger.check_ledger(conn)).problems == []


async def test_undisputed_escrow_releases_itself_after_the_timeout_but_a_disputed_one_waits(
    client: Client,
    make_user: MakeUser,
    platform: Platform,
    clock: ManualClock,
    pool: asyncpg.Pool,
    fund_wallet: FundWallet,
) -> None:
    mentee = await make_user()
    mentor = await make_user(role=Role.MENTOR)
    admin = await make_user(role=Role.ADMIN)
    await fund_wallet(mentee.id, "USD", 20_000)
    async with transaction(pool) as conn:
        await escrow.hold_escrow(
            conn,
            settings=platform.settings,
            now=clock.now(),
            payer_id=mentee.id,
            mentor_id=mentor.id,
            amount_minor=10_000,
            currency="USD",
            reference="pkg-1",
            idempotency_key="escrow-quiet-1",
        )
        noisy = await escrow.hold_escrow(
            conn,
            settings=platform.settings,
            now=clock.now(),
            payer_id=mentee.id,
            mentor_id=mentor.id,
            amount_minor=10_000,
            currency="USD",
            reference="pkg-2",
            idempotency_key="escrow-noisy-1",
            release_after=timedelta(hours=1),
        )
    # Paid directly through the service API (as mentorship does), each still has an invoice.
    assert await pool.fetchval("SELECT count(*) FROM invoices WHERE user_id = $1", mentee.id) == 2
    opened = await client.post(
        f"/api/v1/escrows/{noisy.id}/disputes",
        json={"reason": "mentor never joined", "evidence": ["screenshot-of-empty-room.png"]},
        headers=mentee.headers,
    )
    assert opened.status_code == 201, opened.text
    clock.advance(timedelta(hours=73))
    mentee, admin = (refreshed(u, platform.settings, clock) for u in (mentee, admin))
    assert await escrow.release_due_escrows(platform) == 1
    # 100.00 incl. 16% VAT: net 86.21, mentor 70% = 60.34 less 10% held back = 54.31.
    assert await _available(pool, mentor, "USD") == (5_431, 0)
    queue = await client.get("/api/v1/admin/disputes", headers=admin.headers)
    assert queue.status_code == 200, queue.text
    [dispute] = queue.json()
    assert dispute["evidence"] == ["screenshot-of-empty-room.png"]
    assert (await client.get("/api/v1/admin/disputes", headers=mentee.headers)).status_code == 403
    resolved = await client.post(
        f"/api/v1/admin/disputes/{dispute['id']}/resolve",
        json={"refund_minor": 7_500, "note": "mentor joined 40 minutes late"},
        headers=admin.headers,
    )
    assert resolved.status_code == 200, resolved.text
    assert await _available(pool, mentee, "USD") == (7_500, 0)
    [(actor, target, details)] = await audit_trail(pool, "dispute.resolved")
    assert (actor, target) == (admin.id, f"dispute:{dispute['id']}")
    assert (details["refund_minor"], details["note"]) == (7_500, "mentor joined 40 minutes late")
    view = (await client.get(f"/api/v1/escrows/{noisy.id}", headers=mentee.headers)).json()
    assert (view["released_minor"], view["refunded_minor"]) == (2_500, 7_500)
    refunds = await outbox_events(pool, "refund.issued")
    assert [(r["related_id"], r["amount_minor"]) for r in refunds] == [(str(noisy.id), 7_500)]
    note = await pool.fetchrow(
        "SELECT gross_minor, corrects_id FROM invoices WHERE kind = 'credit_note'"
    )
    assert note["gross_minor"] == -7_500
    assert note["corrects_id"] is not None


@pytest.mark.parametrize(
    ("reason", "hours_before", "refunded"),
    [
        ("mentor_cancelled", 1, 10_000),
        ("mentor_no_show", None, 10_000),
        ("mentee_cancelled", 30, 10_000),
        ("mentee_cancelled", 5, 5_000),
        ("mentee_no_show", None, 0),
    ],
)
async def test_a_cancelled_booking_refunds_by_the_cancellation_policy_and_pays_the_contract_share(
    make_user: MakeUser,
    platform: Platform,
    clock: ManualClock,
    pool: asyncpg.Pool,
    reason: str,
    hours_before: float | None,
    refunded: int,
    fund_wallet: FundWallet,
) -> None:
    mentee = await make_user()
    mentor = await make_user(role=Role.MENTOR)
    await fund_wallet(mentee.id, "KES", 10_000)
    async with transaction(pool) as conn:
        await escrow.set_mentor_contract(conn, mentor.id, share_bps=8_000, now=clock.now())
        held = await escrow.hold_escrow(
            conn,
            settings=platform.settings,
            now=clock.now(),
            payer_id=mentee.id,
            mentor_id=mentor.id,
            amount_minor=10_000,
            currency="KES",
            reference="s-1",
            idempotency_key=f"escrow-cancel-{reason}-{hours_before}",
        )
        settled = await escrow.refund_escrow(
            conn,
            held.id,
            settings=platform.settings,
            now=clock.now(),
            fraction_bps=cancellation_refund_bps(
                reason,
                hours_before,
                full_refund_hours=platform.settings.mentorship_full_refund_hours,
                late_refund_bps=platform.settings.mentorship_late_refund_bps,
            ),
        )
    assert settled.refunded_minor == refunded
    assert await _available(pool, mentee) == (refunded, 0)
    kept_net = (10_000 - refunded) - round((10_000 - refunded) * 1600 / 11600)
    mentor_share = kept_net * 8_000 // 10_000
    assert await _available(pool, mentor) == (mentor_share - mentor_share // 10, 0)
    async with transaction(pool) as conn:
        with pytest.raises(Conflict):
            await escrow.open_dispute(
                conn, held.id, opened_by=mentee.id, reason="late", evidence=[], now=clock.now()
            )
        assert (await ledger.check_ledger(conn)).problems == []
