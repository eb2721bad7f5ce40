"""Charges with gap-free invoices and VAT, the monthly tax export, wallet history with a
running balance, points credit and the mentor bonus."""

from __future__ import annotations

import asyncio
import io
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import asyncpg
import msgspec
import polars as pl
import pytest
from taskiq import InMemoryBroker

from dracarys.clock import ManualClock
from dracarys.db import transaction
from dracarys.errors import InvalidInput
from dracarys.identity import Role
from dracarys.outbox import Event, consume_batch
from dracarys.platform import Platform
from dracarys.wallet.balances.service import balances_of
from dracarys.wallet.credits import service as credits
from dracarys.wallet.invoices.models import InvoiceDocument
from dracarys.wallet.invoices.service import render_invoice_pdf
from tests.conftest import FundWallet
from tests.support import AppClient, TestUser, audit_trail
from tests.wallet.conftest import outbox_events
from workers.broker import Delivery
from workers.consumers import consumers_for
from workers.tasks import handlers_of

Client = AppClient
MakeUser = Callable[..., Awaitable[TestUser]]


async def test_concurrent_charges_get_invoice_numbers_without_gaps(
    client: Client,
    make_user: MakeUser,
    clock: ManualClock,
    pool: asyncpg.Pool,
    fund_wallet: FundWallet,
) -> None:
    buyers = [await make_user() for _ in range(4)]
    for buyer in buyers:
        await fund_wallet(buyer.id, "KES", 50_000)

    async def buy(buyer: TestUser, n: int) -> int:
        response = await client.post(
            "/api/v1/payments/charge",
            json={
                "purpose": "course",
                "reference": f"course-{n}",
                "amount_minor": 11_600,
                "currency": "KES",
                "idempotency_key": f"buy-course-{n:04d}",
            },
            headers=buyer.headers,
        )
        return response.status_code

    # Each buyer can afford 4 of the 5 they try: the refused ones must not take a number.
    codes = await asyncio.gather(*(buy(buyers[n % 4], n) for n in range(20)))
    assert sorted(codes) == [201] * 16 + [409] * 4
    numbers = [r["seq"] for r in await pool.fetch("SELECT seq FROM invoices ORDER BY seq")]
    assert numbers == list(range(1, 17))
    vat = await pool.fetchval("SELECT sum(vat_minor) FROM invoices")
    assert vat == 16 * 1_600
    assert len(await outbox_events(pool, "payment.captured")) == 16

    admin = await make_user(role=Role.ADMIN)
    year, month = clock.now().year, clock.now().month
    export = await client.get(f"/api/v1/admin/tax-exports/{year}/{month}", headers=admin.headers)
    assert export.status_code == 200
    frame = pl.read_csv(io.BytesIO(export.content))
    assert frame.height == 16
    assert frame["vat_minor"].sum() == 25_600
    assert frame["gross_minor"].sum() == frame["net_minor"].sum() + frame["vat_minor"].sum()
    assert frame["invoice_number"][0] == f"DRC-{year}-000001"
    empty = await client.get(
        f"/api/v1/admin/tax-exports/{year}/{month % 12 + 1}", headers=admin.headers
    )
    assert pl.read_csv(io.BytesIO(empty.content)).height == 0
    mine = await client.get(f"/api/v1/admin/tax-exports/{year}/{month}", headers=buyers[0].headers)
    assert mine.status_code == 403
    listed = (await client.get("/api/v1/invoices", headers=buyers[0].headers)).json()
    assert len(listed) == 4
    assert {(i["net_minor"], i["vat_minor"], i["gross_minor"]) for i in listed} == {
        (10_000, 1_600, 11_600)
    }


async def test_history_lists_entries_newest_first_with_the_running_balance(
    client: Client,
    make_user: MakeUser,
    clock: ManualClock,
    pool: asyncpg.Pool,
    fund_wallet: FundWallet,
) -> None:
    user = await make_user()
    await fund_wallet(user.id, "KES", 10_000)
    for n, amount in enumerate((1_000, 2_500)):
        response = await client.post(
            "/api/v1/payments/charge",
            json={
                "purpose": "subscription",
                "reference": f"signals-{n}",
                "amount_minor": amount,
                "currency": "KES",
                "idempotency_key": f"sub-charge-{n:03d}",
            },
            headers=user.headers,
        )
        assert response.status_code == 201
    history = await client.get(
        f"/api/v1/wallets/{user.id}/history?currency=KES&limit=3", headers=user.headers
    )
    items = history.json()["items"]
    assert [(i["direction"], i["balance_after_minor"]) for i in items] == [
        ("out", 6_500),
        ("out", 6_845),
        ("out", 9_000),
    ]
    older = await client.get(
        f"/api/v1/wallets/{user.id}/history?currency=KES&cursor={history.json()['next_cursor']}",
        headers=user.headers,
    )
    rest = [(i["direction"], i["balance_after_minor"]) for i in older.json()["items"]]
    assert rest == [("out", 9_138), ("in", 10_000)]
    stranger = await make_user()
    forbidden = await client.get(f"/api/v1/wallets/{user.id}/history", headers=stranger.headers)
    assert forbidden.status_code == 404


async def test_a_points_redemption_lands_once_as_wallet_credit_and_answers_credit_landed(
    make_user: MakeUser,
    platform: Platform,
    clock: ManualClock,
    pool: asyncpg.Pool,
) -> None:
    user = await make_user()
    redemption_id = uuid.uuid4()
    event = Event(
        id=uuid.uuid4(),
        topic="points.redeemed_for_credit",
        payload={
            "user_id": str(user.id),
            "redemption_id": str(redemption_id),
            "amount_minor": 2_000,
            "currency": "KES",
            "purpose": "wallet",
        },
        created_at=clock.now(),
    )
    [consumer] = [
        c for c in consumers_for("points.redeemed_for_credit") if c.name == "wallet.points_credit"
    ]
    handler, _ = handlers_of(consumer, Delivery(platform=platform, broker=InMemoryBroker()))
    for _ in range(2):  # redelivered: the outbox de-dup and the ledger key both hold
        await consume_batch(pool, consumer.name, [event], handler)
    again = msgspec.structs.replace(event, id=uuid.uuid4())
    await consume_batch(pool, consumer.name, [again], handler)
    async with transaction(pool) as conn:
        with pytest.raises(InvalidInput):
            await credits.credit_points_conversion(
                conn, user.id, 2_001, "KES", f"redemption:{redemption_id}", now=clock.now()
            )
        balances = await balances_of(conn, user.id)
    assert balances.balances[0].available_minor == 2_000
    landed = await outbox_events(pool, "points.credit_landed")
    assert [(e["redemption_id"], e["amount_minor"]) for e in landed] == [
        (str(redemption_id), 2_000)
    ]


async def test_mentor_bonus_pays_only_above_4_7_with_80_percent_attendance_once_a_month(
    make_user: MakeUser,
    platform: Platform,
    pool: asyncpg.Pool,
) -> None:
    star, almost, absent = [await make_user(role=Role.MENTOR) for _ in range(3)]
    stats = [
        credits.MentorMonth(mentor_id=star.id, avg_rating=4.8, attendance_bps=8_000),
        credits.MentorMonth(mentor_id=almost.id, avg_rating=4.7, attendance_bps=10_000),
        credits.MentorMonth(mentor_id=absent.id, avg_rating=5.0, attendance_bps=7_999),
    ]
    assert await credits.pay_mentor_bonuses(platform, "2025-12", stats) == [star.id]
    assert await credits.pay_mentor_bonuses(platform, "2025-12", stats) == []
    async with pool.acquire() as conn:
        paid = {
            u.id: (await balances_of(conn, u.id)).balances[0].available_minor
            for u in (star, almost, absent)
        }
    bonus = platform.settings.wallet_mentor_bonus_kes_minor
    assert paid == {star.id: bonus, almost.id: 0, absent.id: 0}
    assert credits.previous_month(platform.clock.now()) == "2025-12"


async def test_a_course_charge_refunds_partly_to_the_wallet_and_never_beyond_the_charge(
    client: Client,
    make_user: MakeUser,
    clock: ManualClock,
    pool: asyncpg.Pool,
    fund_wallet: FundWallet,
) -> None:
    buyer = await make_user()
    admin = await make_user(role=Role.ADMIN)
    await fund_wallet(buyer.id, "KES", 11_600)
    charge = (
        await client.post(
            "/api/v1/payments/charge",
            json={
                "purpose": "course",
                "reference": "course-refund",
                "amount_minor": 11_600,
                "currency": "KES",
                "idempotency_key": "buy-refundable-1",
            },
            headers=buyer.headers,
        )
    ).json()
    url = f"/api/v1/admin/charges/{charge['id']}/refund"
    for _ in range(2):
        first = await client.post(
            url, json={"amount_minor": 5_800, "idempotency_key": "rf-00001"}, headers=admin.headers
        )
        assert first.status_code == 200, first.text
        assert first.json()["refunded_minor"] == 5_800
    too_much = await client.post(
        url, json={"amount_minor": 5_801, "idempotency_key": "rf-00002"}, headers=admin.headers
    )
    assert too_much.status_code == 422
    assert (
        await client.post(
            url, json={"amount_minor": 5_800, "idempotency_key": "rf-00003"}, headers=buyer.headers
        )
    ).status_code == 403
    # One entry with the admin for the refund made, none for its retry or the refusals.
    assert await audit_trail(pool, "charge.refunded") == [
        (
            admin.id,
            f"charge:{charge['id']}",
            {
                "user_id": str(buyer.id),
                "amount_minor": 5_800,
                "currency": "KES",
                "refunded_minor": 5_800,
            },
        )
    ]
    async with pool.acquire() as conn:
        balances = await balances_of(conn, buyer.id)
        vat = await conn.fetchval(
            """SELECT b.credits_posted - b.debits_posted FROM ledger_balances b
               JOIN ledger_accounts a ON a.id = b.account_id
               WHERE a.code = 'vat_payable' AND a.currency = 'KES'"""
        )
    assert balances.balances[0].available_minor == 5_800
    assert vat == 1_600 - 800
    refunds = await outbox_events(pool, "refund.issued")
    assert [(r["related_id"], r["amount_minor"]) for r in refunds] == [(charge["id"], 5_800)]
    documents = (await client.get("/api/v1/invoices", headers=buyer.headers)).json()
    assert sorted((d["kind"], d["gross_minor"], d["vat_minor"]) for d in documents) == [
        ("credit_note", -5_800, -800),
        ("invoice", 11_600, 1_600),
    ]
    note = next(d for d in documents if d["kind"] == "credit_note")
    pdf = await client.get(f"/api/v1/invoices/{note['id']}/pdf", headers=buyer.headers)
    assert pdf.content.startswith(b"%PDF")
    year, month = clock.now().year, clock.now().month
    export = await client.get(f"/api/v1/admin/tax-exports/{year}/{month}", headers=admin.headers)
    frame = pl.read_csv(io.BytesIO(export.content))
    assert frame["vat_minor"].sum() == 800
    assert frame["invoice_number"].to_list() == [f"DRC-{year}-000001", f"DRC-{year}-000002"]


def test_an_invoice_pdf_renders_names_outside_latin_1() -> None:
    invoice = InvoiceDocument(
        number="DRC-2026-000009",
        kind="invoice",
        issued_at=datetime(2026, 1, 5, tzinfo=UTC),
        name="Wanjiků Łukasz 🚀",
        email="w@example.com",
        user_id=uuid.uuid4(),
        country="KE",
        description="Course naïve ₿",
        net_minor=10_000,
        vat_minor=1_600,
        gross_minor=11_600,
        currency="KES",
        vat_rate_bps=1_600,
    )
    assert render_invoice_pdf(invoice).startswith(b"%PDF")
