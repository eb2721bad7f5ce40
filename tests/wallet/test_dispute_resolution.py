"""Escrow disputes as the staff console decides them: both sides' evidence, a partial
refund given as a percentage, and the ledger still conserved afterwards."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import asyncpg

from dracarys.clock import ManualClock
from dracarys.db import transaction
from dracarys.identity import Role, display_names
from dracarys.platform import Platform
from dracarys.wallet.balances.service import balances_of
from dracarys.wallet.escrow import service as escrow
from dracarys.wallet.escrow.models import EscrowView
from dracarys.wallet.ledger import service as ledger
from dracarys.wallet.ledger.models import AccountCode
from tests.conftest import FundWallet
from tests.support import AppClient, TestUser, audit_trail

MakeUser = Callable[..., Awaitable[TestUser]]


async def _available(pool: asyncpg.Pool, user: TestUser, currency: str) -> tuple[int, int]:
    async with pool.acquire() as conn:
        balances = await balances_of(conn, user.id)
    row = next((b for b in balances.balances if b.currency == currency), None)
    return (row.available_minor, row.pending_out_minor) if row else (0, 0)


async def _paid_session_in_escrow(
    pool: asyncpg.Pool,
    platform: Platform,
    clock: ManualClock,
    mentee: TestUser,
    mentor: TestUser,
    amount_minor: int,
) -> EscrowView:
    # What mentorship does when a booking is paid: the mentee's money held in escrow.
    async with transaction(pool) as conn:
        return await escrow.hold_escrow(
            conn,
            settings=platform.settings,
            now=clock.now(),
            payer_id=mentee.id,
            mentor_id=mentor.id,
            amount_minor=amount_minor,
            currency="USD",
            reference="booking-disputed",
            idempotency_key="escrow-disputed-1",
        )


async def test_a_dispute_resolved_with_a_40_percent_partial_refund_keeps_the_ledger_conserved(
    client: AppClient,
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
    held = await _paid_session_in_escrow(pool, platform, clock, mentee, mentor, 10_000)
    assert await _available(pool, mentee, "USD") == (10_000, 10_000)
    opened = await client.post(
        f"/api/v1/escrows/{held.id}/disputes",
        json={"reason": "the mentor left after twenty minutes", "evidence": ["call-log.png"]},
        headers=mentee.headers,
    )
    assert opened.status_code == 201, opened.text
    [queued] = (await client.get("/api/v1/admin/disputes", headers=admin.headers)).json()
    resolved = await client.post(
        f"/api/v1/admin/disputes/{queued['id']}/resolve",
        json={"refund_percent": 40, "note": "half the session was given"},
        headers=admin.headers,
    )
    assert resolved.status_code == 200, resolved.text
    body = resolved.json()
    assert (body["status"], body["refund_minor"]) == ("resolved", 4_000)
    assert (body["escrow"]["refunded_minor"], body["escrow"]["released_minor"]) == (4_000, 6_000)

    # The mentee has exactly 40% of 100.00 back; nothing is left pending.
    assert await _available(pool, mentee, "USD") == (14_000, 0)
    # The mentor's share is computed on the 60.00 kept: 60.00 incl. 16% VAT is net 51.72
    # (VAT 8.28); 70% of it is 36.20, of which 10% (3.62) is held back: 32.58 now.
    assert await _available(pool, mentor, "USD") == (3_258, 0)
    async with transaction(pool) as conn:
        now = clock.now()
        posted = {
            code: (
                await ledger.balance_of(conn, await ledger.platform_account(conn, code, "USD", now))
            ).posted_minor
            for code in (
                AccountCode.MENTOR_HOLDBACK,
                AccountCode.PLATFORM_REVENUE,
                AccountCode.VAT_PAYABLE,
                AccountCode.ESCROW,
            )
        }
        check = await ledger.check_ledger(conn)
    assert posted == {
        AccountCode.MENTOR_HOLDBACK: 362,
        AccountCode.PLATFORM_REVENUE: 1_552,
        AccountCode.VAT_PAYABLE: 828,
        AccountCode.ESCROW: 0,
    }
    # Conserved: every currency's balances sum to zero, every balance is the sum of its
    # entries, every transfer's entries sum to zero, no wallet below zero.
    assert check.problems == []
    assert check.totals["USD"] == 0
    [(actor, target, details)] = await audit_trail(pool, "dispute.resolved")
    assert (actor, target) == (admin.id, f"dispute:{queued['id']}")
    assert (details["refund_minor"], details["refund_percent"]) == (4_000, 40)


async def test_the_mentor_answers_a_dispute_once_and_the_admin_reads_both_sides(
    client: AppClient,
    make_user: MakeUser,
    platform: Platform,
    clock: ManualClock,
    pool: asyncpg.Pool,
    fund_wallet: FundWallet,
) -> None:
    mentee = await make_user()
    mentor = await make_user(role=Role.MENTOR)
    admin = await make_user(role=Role.ADMIN)
    stranger = await make_user()
    await fund_wallet(mentee.id, "USD", 10_000)
    held = await _paid_session_in_escrow(pool, platform, clock, mentee, mentor, 10_000)
    url = f"/api/v1/escrows/{held.id}/disputes"
    answer = {"response": "I stayed the full hour", "evidence": ["recording.mp4"]}
    # Nothing to answer before the mentee disputes.
    early = await client.post(f"{url}/response", json=answer, headers=mentor.headers)
    assert early.status_code == 404, early.text
    await client.post(
        url, json={"reason": "no show", "evidence": ["a.png"]}, headers=mentee.headers
    )

    own = await client.post(f"{url}/response", json=answer, headers=mentee.headers)
    assert own.status_code == 403, own.text
    outsider = await client.post(f"{url}/response", json=answer, headers=stranger.headers)
    assert outsider.status_code == 403, outsider.text
    answered = await client.post(f"{url}/response", json=answer, headers=mentor.headers)
    assert answered.status_code == 200, answered.text
    again = await client.post(
        f"{url}/response", json={"response": "and another thing"}, headers=mentor.headers
    )
    assert again.status_code == 409, again.text
    assert "response" in again.text

    [dispute] = (await client.get("/api/v1/admin/disputes", headers=admin.headers)).json()
    assert (dispute["reason"], dispute["evidence"]) == ("no show", ["a.png"])
    assert (dispute["response"], dispute["response_evidence"]) == (
        "I stayed the full hour",
        ["recording.mp4"],
    )
    async with pool.acquire() as conn:
        names = await display_names(conn, platform.settings, [mentee.id, mentor.id])
    assert (dispute["payer_name"], dispute["mentor_name"]) == (names[mentee.id], names[mentor.id])
    assert (dispute["escrow"]["amount_minor"], dispute["escrow"]["currency"]) == (10_000, "USD")


async def test_a_refund_given_both_as_amount_and_percentage_is_refused_and_nothing_moves(
    client: AppClient,
    make_user: MakeUser,
    platform: Platform,
    clock: ManualClock,
    pool: asyncpg.Pool,
    fund_wallet: FundWallet,
) -> None:
    mentee = await make_user()
    mentor = await make_user(role=Role.MENTOR)
    admin = await make_user(role=Role.ADMIN)
    await fund_wallet(mentee.id, "USD", 10_000)
    held = await _paid_session_in_escrow(pool, platform, clock, mentee, mentor, 10_000)
    await client.post(
        f"/api/v1/escrows/{held.id}/disputes", json={"reason": "no show"}, headers=mentee.headers
    )
    [dispute] = (await client.get("/api/v1/admin/disputes", headers=admin.headers)).json()
    resolve = f"/api/v1/admin/disputes/{dispute['id']}/resolve"
    both = await client.post(
        resolve,
        json={"refund_minor": 1_000, "refund_percent": 10, "note": "which one"},
        headers=admin.headers,
    )
    assert both.status_code == 422, both.text
    assert "refund_percent" in both.text
    neither = await client.post(resolve, json={"note": "nothing"}, headers=admin.headers)
    assert neither.status_code == 422, neither.text
    assert "refund_minor" in neither.text
    assert await _available(pool, mentee, "USD") == (0, 10_000)
    assert await audit_trail(pool, "dispute.resolved") == []
