"""Affiliates (issue 19 item 3): apply, an admin approves with terms; a referred member's
payments earn the affiliate a share of the platform's fee as a pending ledger transfer,
payable when the refund window closes, paid in the weekly payout run through M-Pesa (the
local Daraja simulator), and reversed by a later refund or a chargeback — the ledger
conserved at every step."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import asyncpg
import pytest
from taskiq import InMemoryBroker

from dracarys.clock import ManualClock
from dracarys.identity import Role, issue_access_token
from dracarys.outbox import emit
from dracarys.payments.sandbox import DarajaSimulator, StripeSimulator
from dracarys.platform import Platform
from dracarys.settings import Settings
from dracarys.social import post_due_commissions
from dracarys.wallet import release_due_escrows
from dracarys.wallet.ledger import service as ledger
from tests.conftest import FundWallet, make_settings
from tests.mentorship.conftest import book
from tests.social.conftest import drain, from_ip, sign_up
from tests.social.test_referrals import WEDNESDAY_9_EAT
from tests.support import AppClient, TestUser, audit_trail, events_of
from tests.wallet.conftest import (  # noqa: F401 - fixtures
    current_originator,
    daraja_server,
    daraja_sim,
    stripe_server,
)
from tests.wallet.simulators import provider_env
from workers.social_tasks import weekly_payouts
from workers.tasks import register_tasks
from workers.wallet_tasks import _JOBS as wallet_jobs

AFFILIATE_JOURNEY = frozenset({"social.referrals", "social.affiliates"})
COURSE_MINOR = 580_000  # 5,000 KES net of VAT: a commission above the payout minimum


@pytest.fixture
def settings(
    database_url: str,
    tmp_path: Any,
    stripe_server: tuple[StripeSimulator, str],  # noqa: F811
    daraja_server: tuple[DarajaSimulator, str],  # noqa: F811
) -> Settings:
    return make_settings(
        database_url,
        tmp_path,
        DRACARYS_TRUSTED_PROXIES="127.0.0.1",
        **provider_env(*stripe_server, *daraja_server),
    )


async def _ledger_sound(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        check = await ledger.check_ledger(conn)
    assert check.problems == []


async def _wallet(pool: asyncpg.Pool, user_id: uuid.UUID) -> dict[str, int]:
    row = await pool.fetchrow(
        """SELECT b.credits_pending, b.credits_posted, b.debits_pending, b.debits_posted
           FROM ledger_accounts a JOIN ledger_balances b ON b.account_id = a.id
           WHERE a.owner_id = $1 AND a.currency = 'KES'""",
        user_id,
    )
    return {} if row is None else dict(row)


async def _commission(pool: asyncpg.Pool, affiliate_id: uuid.UUID) -> asyncpg.Record:
    rows = await pool.fetch(
        "SELECT * FROM affiliate_commissions WHERE affiliate_id = $1", affiliate_id
    )
    assert len(rows) == 1, rows
    return rows[0]


async def _approved_affiliate(
    client: AppClient, make_user, *, share_bps: int = 2_500, months: int = 6
) -> TestUser:
    affiliate = await make_user(kyc_level=2, phone="+254722000111")
    applied = await client.post(
        "/api/v1/affiliates/apply",
        json={
            "website": "https://trading-notes.example",
            "audience": "Swing traders in Nairobi",
            "promotion": "A weekly newsletter and a YouTube channel on risk management.",
        },
        headers=affiliate.headers,
    )
    assert applied.status_code == 201, applied.text
    assert applied.json()["status"] == "applied"
    admin = await make_user(role=Role.ADMIN)
    queue = await client.get("/api/v1/affiliates/applications", headers=admin.headers)
    assert [a["user_id"] for a in queue.json()] == [str(affiliate.id)]
    decided = await client.post(
        f"/api/v1/affiliates/{affiliate.id}/decision",
        json={
            "decision": "approve",
            "note": "Good audience",
            "share_bps": share_bps,
            "months": months,
        },
        headers=admin.headers,
    )
    assert decided.status_code == 200, decided.text
    assert (decided.json()["share_bps"], decided.json()["months"]) == (share_bps, months)
    return affiliate


async def _referred_member(
    client: AppClient, affiliate: TestUser, fund_wallet: FundWallet, ip: str = "203.0.113.5"
) -> tuple[uuid.UUID, dict[str, str]]:
    page = await client.get(
        "/api/v1/referrals/me", headers={**affiliate.headers, **from_ip("198.51.100.5")}
    )
    client.cookies.clear()
    await client.get(f"/r/{page.json()['code']}", headers=from_ip(ip))
    member_id, member = await sign_up(client, f"member-{uuid.uuid4().hex[:6]}@example.com", ip=ip)
    client.cookies.clear()
    await fund_wallet(member_id, "KES", 1_000_000)
    return member_id, member


async def _buy_course(client: AppClient, member: dict[str, str]) -> str:
    response = await client.post(
        "/api/v1/payments/charge",
        json={
            "purpose": "course",
            "reference": "course:risk-101",
            "amount_minor": COURSE_MINOR,
            "currency": "KES",
        },
        headers={**member, "Idempotency-Key": f"buy-{uuid.uuid4()}"},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def test_a_commission_is_paid_in_the_weekly_run_and_reversed_by_a_later_refund(
    client: AppClient,
    platform: Platform,
    clock: ManualClock,
    pool: asyncpg.Pool,
    daraja_sim: DarajaSimulator,  # noqa: F811
    make_user,
    fund_wallet: FundWallet,
) -> None:
    affiliate = await _approved_affiliate(client, make_user)
    [(_, target, details)] = await audit_trail(platform.pool, "affiliate.approved")
    assert (target, details["share_bps"]) == (f"user:{affiliate.id}", 2_500)
    member_id, member = await _referred_member(client, affiliate, fund_wallet)
    charge_id = await _buy_course(client, member)
    await drain(platform, AFFILIATE_JOURNEY)

    fee = await pool.fetchval(
        """SELECT sum(amount_minor) FROM ledger_transfers
           WHERE reference = $1 AND code = 'charge_sale'""",
        charge_id,
    )
    commission = await _commission(pool, affiliate.id)
    assert (commission["fee_minor"], commission["amount_minor"]) == (fee, fee * 2_500 // 10_000)
    amount = commission["amount_minor"]
    assert commission["status"] == "pending"
    # Analytics counts the commission towards what the member cost to acquire.
    assert await events_of(pool, "affiliate.commission_accrued") == [
        {
            "commission_id": str(commission["id"]),
            "affiliate_id": str(affiliate.id),
            "referee_id": str(member_id),
            "payment_id": str(commission["payment_id"]),
            "amount_minor": amount,
            "currency": "KES",
        }
    ]
    # Pending in the affiliate's wallet: theirs to see, not to spend.
    assert await _wallet(pool, affiliate.id) == {
        "credits_pending": amount,
        "credits_posted": 0,
        "debits_pending": 0,
        "debits_posted": 0,
    }
    history = await client.get(f"/api/v1/wallets/{affiliate.id}/history", headers=affiliate.headers)
    assert [i["label"] for i in history.json()["items"]] == [
        "Affiliate commission (pending until the refund window closes)"
    ]
    await _ledger_sound(pool)
    await drain(platform, AFFILIATE_JOURNEY)  # a redelivery earns nothing twice
    await _commission(pool, affiliate.id)

    # Not payable before the refund window closes; then posted, once.
    clock.advance(timedelta(days=13))
    assert await post_due_commissions(platform) == 0
    clock.advance(timedelta(days=1, seconds=1))
    assert await post_due_commissions(platform) == 1
    assert await post_due_commissions(platform) == 0
    assert (await _commission(pool, affiliate.id))["status"] == "payable"
    assert (await _wallet(pool, affiliate.id))["credits_posted"] == amount

    # The weekly run pays it to the affiliate's M-Pesa number; running it again pays once.
    [payout_id] = await weekly_payouts(platform)
    assert await weekly_payouts(platform) == []
    assert await pool.fetchval("SELECT count(*) FROM payouts") == 1
    originator = await current_originator(pool, payout_id)
    assert daraja_sim.b2c_requests[originator]["PartyB"] == "254722000111"
    assert daraja_sim.b2c_requests[originator]["Amount"] == amount // 100
    path, payload = daraja_sim.b2c_result(originator)
    assert (await client.post(path, json=payload)).status_code == 200
    commission = await _commission(pool, affiliate.id)
    assert (commission["status"], commission["payout_id"]) == ("paid", payout_id)
    await _ledger_sound(pool)

    # A later full refund of the course reverses the commission: the affiliate has since
    # been paid 2,000 KES from elsewhere, which covers it; the ledger stays conserved.
    await fund_wallet(affiliate.id, "KES", 200_000)
    admin = await make_user(role=Role.ADMIN)
    refund = await client.post(
        f"/api/v1/admin/charges/{charge_id}/refund",
        json={"amount_minor": COURSE_MINOR},
        headers={**admin.headers, "Idempotency-Key": "refund-1"},
    )
    assert refund.status_code == 200, refund.text
    await drain(platform, AFFILIATE_JOURNEY)
    commission = await _commission(pool, affiliate.id)
    assert (
        commission["status"],
        commission["reversed_minor"],
        commission["unrecovered_minor"],
    ) == ("reversed", amount, 0)
    clawed = await pool.fetchval(
        """SELECT sum(amount_minor) FROM ledger_transfers
           WHERE code = 'affiliate_commission_clawback' AND reference = $1""",
        str(commission["id"]),
    )
    assert clawed == amount
    wallet = await _wallet(pool, affiliate.id)
    assert wallet["credits_posted"] - wallet["debits_posted"] == 200_000 - amount
    await _ledger_sound(pool)


async def test_a_partial_refund_before_the_window_closes_posts_only_what_is_left(
    client: AppClient,
    platform: Platform,
    clock: ManualClock,
    pool: asyncpg.Pool,
    make_user,
    fund_wallet: FundWallet,
) -> None:
    affiliate = await _approved_affiliate(client, make_user)
    _, member = await _referred_member(client, affiliate, fund_wallet)
    charge_id = await _buy_course(client, member)
    await drain(platform, AFFILIATE_JOURNEY)
    amount = (await _commission(pool, affiliate.id))["amount_minor"]
    admin = await make_user(role=Role.ADMIN)
    response = await client.post(
        f"/api/v1/admin/charges/{charge_id}/refund",
        json={"amount_minor": COURSE_MINOR // 4},
        headers={**admin.headers, "Idempotency-Key": "refund-quarter"},
    )
    assert response.status_code == 200, response.text
    await drain(platform, AFFILIATE_JOURNEY)
    commission = await _commission(pool, affiliate.id)
    assert (commission["status"], commission["reversed_minor"]) == ("pending", amount // 4)
    clock.advance(timedelta(days=15))
    assert await post_due_commissions(platform) == 1
    wallet = await _wallet(pool, affiliate.id)
    # Posting less released the rest back to platform revenue.
    assert (wallet["credits_posted"], wallet["credits_pending"]) == (amount - amount // 4, 0)
    await _ledger_sound(pool)


async def test_a_chargeback_voids_pending_commissions_and_a_refused_referral_earns_none(
    client: AppClient,
    platform: Platform,
    pool: asyncpg.Pool,
    make_user,
    fund_wallet: FundWallet,
) -> None:
    affiliate = await _approved_affiliate(client, make_user)
    member_id, member = await _referred_member(client, affiliate, fund_wallet)
    await _buy_course(client, member)
    # A throwaway address signs up through the link: refused, so its payments earn nothing.
    page = await client.get("/api/v1/referrals/me", headers=affiliate.headers)
    client.cookies.clear()
    await client.get(f"/r/{page.json()['code']}", headers=from_ip("192.0.2.77"))
    throwaway_id, throwaway = await sign_up(client, "x@mailinator.com", ip="192.0.2.77")
    await fund_wallet(throwaway_id, "KES", 1_000_000)
    await _buy_course(client, throwaway)
    await drain(platform, AFFILIATE_JOURNEY)
    commission = await _commission(pool, affiliate.id)  # only the member's

    async with pool.acquire() as conn, conn.transaction():
        await emit(
            conn,
            "chargeback.opened",
            {
                "user_id": str(member_id),
                "chargeback_id": "dp_test_1",
                "deposit_id": str(uuid.uuid4()),
                "amount_minor": 100_000,
                "currency": "KES",
                "held_minor": 0,
            },
        )
    await drain(platform, AFFILIATE_JOURNEY)
    voided = await _commission(pool, affiliate.id)
    assert (voided["status"], voided["reversed_minor"]) == ("reversed", commission["amount_minor"])
    assert await _wallet(pool, affiliate.id) == {
        "credits_pending": 0,
        "credits_posted": 0,
        "debits_pending": 0,
        "debits_posted": 0,
    }
    await _ledger_sound(pool)


async def test_payments_after_the_terms_months_earn_nothing_nor_do_an_applicants(
    client: AppClient,
    platform: Platform,
    clock: ManualClock,
    pool: asyncpg.Pool,
    make_user,
    fund_wallet: FundWallet,
) -> None:
    affiliate = await _approved_affiliate(client, make_user, months=1)
    member_id, _ = await _referred_member(client, affiliate, fund_wallet)
    applicant = await make_user(kyc_level=2)
    applied = await client.post(
        "/api/v1/affiliates/apply",
        json={
            "website": "https://x.example",
            "audience": "Anyone at all",
            "promotion": "Posts on every forum I can find.",
        },
        headers=applicant.headers,
    )
    assert applied.status_code == 201
    again = await client.post(
        "/api/v1/affiliates/apply",
        json={
            "website": "https://x.example",
            "audience": "Anyone at all",
            "promotion": "Posts on every forum I can find.",
        },
        headers=applicant.headers,
    )
    assert (again.status_code, again.json()["errors"][0]["field"]) == (409, "website")
    _, applicants_member = await _referred_member(client, applicant, fund_wallet, ip="192.0.2.9")
    await _buy_course(client, applicants_member)
    clock.advance(timedelta(days=32))
    late = await _signed_in_again(client, platform, member_id)
    await _buy_course(client, late)
    await drain(platform, AFFILIATE_JOURNEY)
    assert await pool.fetchval("SELECT count(*) FROM affiliate_commissions") == 0


async def _signed_in_again(
    client: AppClient, platform: Platform, user_id: uuid.UUID
) -> dict[str, str]:
    """A fresh access token for a member whose token expired with the test's clock."""
    session_id = await platform.pool.fetchval(
        "SELECT id FROM auth_sessions WHERE user_id = $1 ORDER BY created_at DESC LIMIT 1",
        user_id,
    )
    token = issue_access_token(
        platform.settings,
        user_id=user_id,
        role=Role.MENTEE,
        session_id=session_id,
        now=platform.clock.now(),
    )
    return {"Authorization": f"Bearer {token}"}


async def test_concurrent_deliveries_of_one_payment_accrue_one_commission(
    client: AppClient,
    platform: Platform,
    pool: asyncpg.Pool,
    make_user,
    fund_wallet: FundWallet,
) -> None:
    affiliate = await _approved_affiliate(client, make_user)
    _, member = await _referred_member(client, affiliate, fund_wallet)
    await _buy_course(client, member)
    await asyncio.gather(*(drain(platform, AFFILIATE_JOURNEY) for _ in range(5)))
    await _commission(pool, affiliate.id)
    await _ledger_sound(pool)


async def test_a_session_paid_into_escrow_earns_on_the_platforms_commission_when_released(
    client: AppClient,
    platform: Platform,
    clock: ManualClock,
    pool: asyncpg.Pool,
    make_user,
    make_mentor,
    fund_wallet: FundWallet,
) -> None:
    affiliate = await _approved_affiliate(client, make_user, share_bps=5_000)
    mentor = await make_mentor(price_minor=580_000)
    _, member = await _referred_member(client, affiliate, fund_wallet)
    booked = await book(client, member, mentor.types["one_on_one"], WEDNESDAY_9_EAT)
    assert booked.status_code == 201, booked.text
    await drain(platform, AFFILIATE_JOURNEY)
    # Paid into escrow: nothing is earned until the platform keeps its commission.
    assert await pool.fetchval("SELECT count(*) FROM affiliate_commissions") == 0
    clock.advance(timedelta(days=4))
    assert await release_due_escrows(platform) == 1
    await drain(platform, AFFILIATE_JOURNEY)
    escrow_id = booked.json()["escrow_id"]
    fee = await pool.fetchval(
        """SELECT amount_minor FROM ledger_transfers
           WHERE reference = $1 AND code = 'platform_commission'""",
        escrow_id,
    )
    commission = await _commission(pool, affiliate.id)
    assert (commission["source"], str(commission["payment_id"])) == ("escrow", escrow_id)
    assert (commission["fee_minor"], commission["amount_minor"]) == (fee, fee // 2)
    await _ledger_sound(pool)


def test_the_commission_jobs_are_scheduled() -> None:
    tasks = register_tasks(InMemoryBroker())
    assert tasks["social.post_due_commissions"].labels["schedule"] == [{"cron": "*/10 * * * *"}]
    # The weekly payout run is the composed one: mentors, then affiliates.
    assert tasks["wallet.weekly_payouts"].labels["schedule"] == [{"cron": "0 6 * * 1"}]
    assert wallet_jobs["wallet.weekly_payouts"][0] is weekly_payouts
