"""M-Pesa payouts whose outcome is unknown: an answer lost on the way, a request that never
reached M-Pesa, M-Pesa silent. The payout says `sending` until Daraja takes the request
in; past the deadline the reconciliation job asks Daraja's transaction-status query about
exactly that attempt and applies the answer once; what stays unknown is held for an admin,
whose decision is audit-logged. Many dispatchers and reconcilers at once send once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import asyncpg
import msgspec

from dracarys.clock import ManualClock
from dracarys.db import Database
from dracarys.identity import Role
from dracarys.payments.sandbox import DarajaSimulator
from dracarys.platform import Platform
from dracarys.wallet.balances.service import balances_of
from dracarys.wallet.ledger import service as ledger
from dracarys.wallet.payouts import mpesa
from dracarys.wallet.payouts import service as payouts
from tests.conftest import FundWallet
from tests.support import AppClient, TestUser
from tests.wallet.conftest import current_originator, outbox_events, refreshed
from tests.wallet.simulators import CALLBACK_TOKEN

Client = AppClient
MakeUser = Callable[..., Awaitable[TestUser]]


def _withdrawal(amount: int, key: str) -> dict[str, Any]:
    return {
        "amount_minor": amount,
        "currency": "KES",
        "method": "mpesa",
        "destination": "0722000222",
        "idempotency_key": key,
    }


async def _withdraw(client: Client, user: TestUser, amount: int, key: str) -> dict[str, Any]:
    response = await client.post(
        f"/api/v1/wallets/{user.id}/withdraw", json=_withdrawal(amount, key), headers=user.headers
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def _kes(pool: asyncpg.Pool, user_id: uuid.UUID) -> tuple[int, int]:
    """(available, reserved for payouts) of the user's KES wallet."""
    async with pool.acquire() as conn:
        balances = await balances_of(conn, user_id)
    kes = next(b for b in balances.balances if b.currency == "KES")
    return kes.available_minor, kes.pending_out_minor


async def _deliver_status_results(client: Client, daraja_sim: DarajaSimulator) -> int:
    results = daraja_sim.take_status_results()
    for path, payload in results:
        assert (await client.post(path, json=payload)).status_code == 200
    return len(results)


async def _ledger_holds(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        assert (await ledger.check_ledger(conn)).problems == []


def _past_deadline(platform: Platform) -> timedelta:
    return timedelta(seconds=platform.settings.wallet_payout_reconcile_after_s + 1)


async def test_a_lost_b2c_answer_leaves_the_payout_sending_until_the_status_query_finds_it_paid(
    client: Client,
    make_user: MakeUser,
    clock: ManualClock,
    pool: asyncpg.Pool,
    platform: Platform,
    daraja_sim: DarajaSimulator,
    fund_wallet: FundWallet,
) -> None:
    user = await make_user(kyc_level=2)
    await fund_wallet(user.id, "KES", 300_000)
    daraja_sim.b2c_answers_to_lose = 1
    payout = await _withdraw(client, user, 100_000, "wd-lost-answer")
    # M-Pesa took the request in and pays it; its answer to us was lost.
    [originator] = daraja_sim.b2c_sent_for(payout["id"])
    daraja_sim.settle_b2c(originator)
    assert (payout["status"], payout["attempts"]) == ("sending", 1)
    assert payout["in_flight_since"] is not None
    again = await _withdraw(client, user, 100_000, "wd-lost-answer")
    read = await client.get(f"/api/v1/payouts/{payout['id']}", headers=user.headers)
    assert again["status"] == read.json()["status"] == "sending"
    stranger = await make_user()
    hidden = await client.get(f"/api/v1/payouts/{payout['id']}", headers=stranger.headers)
    assert hidden.status_code == 404

    # Neither the retry job nor an early reconciliation sends or asks anything.
    assert await mpesa.retry_due_payouts(platform) == 0
    assert await mpesa.reconcile_payouts_in_flight(platform) == 0
    assert [q for q in daraja_sim.status_queries if q["OriginalConversationID"] == originator] == []
    clock.advance(_past_deadline(platform))
    assert await mpesa.reconcile_payouts_in_flight(platform) == 1
    [query] = [q for q in daraja_sim.status_queries if q["OriginalConversationID"] == originator]
    assert query["CommandID"] == "TransactionStatusQuery"
    assert query["ResultURL"].endswith(f"/b2c/status/{originator}")
    results = daraja_sim.take_status_results()
    assert len(results) == 1
    for _ in range(3):  # Daraja repeats itself; the answer is applied once
        path, answer = results[0]
        assert (await client.post(path, json=answer)).status_code == 200
    user = refreshed(user, platform.settings, clock)
    read = await client.get(f"/api/v1/payouts/{payout['id']}", headers=user.headers)
    assert (read.json()["status"], read.json()["in_flight_since"]) == ("completed", None)
    assert await _kes(pool, user.id) == (200_000, 0)
    assert daraja_sim.b2c_sent_for(payout["id"]) == [originator]
    assert len(await outbox_events(pool, "payout.completed")) == 1
    receipt = await pool.fetchval(
        "SELECT provider_receipt FROM payouts WHERE id = $1", uuid.UUID(payout["id"])
    )
    assert receipt == daraja_sim.b2c_outcomes[originator].receipt
    await _ledger_holds(pool)


async def test_a_send_that_never_reached_mpesa_is_found_missing_and_sent_again_once(
    client: Client,
    make_user: MakeUser,
    clock: ManualClock,
    pool: asyncpg.Pool,
    platform: Platform,
    daraja_sim: DarajaSimulator,
    fund_wallet: FundWallet,
) -> None:
    user = await make_user(kyc_level=2)
    await fund_wallet(user.id, "KES", 100_000)
    daraja_sim.b2c_lost_before_mpesa = 1
    payout = await _withdraw(client, user, 100_000, "wd-never-arrived")
    assert payout["status"] == "sending"
    first = await current_originator(pool, payout["id"])
    assert daraja_sim.b2c_sent_for(payout["id"]) == []

    clock.advance(_past_deadline(platform))
    assert await mpesa.reconcile_payouts_in_flight(platform) == 1
    assert await _deliver_status_results(client, daraja_sim) == 1
    row = await pool.fetchrow(
        "SELECT status, attempts, failure_reason FROM payouts WHERE id = $1",
        uuid.UUID(payout["id"]),
    )
    assert (row["status"], row["attempts"]) == ("queued", 1)
    assert "does not exist" in row["failure_reason"]
    # Sent again after the backoff, as a new attempt with its own originator id.
    clock.advance(timedelta(minutes=3))
    assert await mpesa.retry_due_payouts(platform) == 1
    assert await mpesa.retry_due_payouts(platform) == 0
    second = await current_originator(pool, payout["id"])
    assert second != first
    assert daraja_sim.b2c_sent_for(payout["id"]) == [second]
    path, success = daraja_sim.b2c_result(second)
    assert (await client.post(path, json=success)).status_code == 200
    assert await _kes(pool, user.id) == (0, 0)
    attempts = await pool.fetch(
        "SELECT attempt, status FROM payout_attempts WHERE payout_id = $1 ORDER BY attempt",
        uuid.UUID(payout["id"]),
    )
    assert [(a["attempt"], a["status"]) for a in attempts] == [(1, "not_found"), (2, "paid")]
    await _ledger_holds(pool)


async def test_a_status_query_reporting_the_transfer_failed_gives_the_money_back_once(
    client: Client,
    make_user: MakeUser,
    clock: ManualClock,
    pool: asyncpg.Pool,
    platform: Platform,
    daraja_sim: DarajaSimulator,
    fund_wallet: FundWallet,
) -> None:
    single = Platform(
        settings=msgspec.structs.replace(platform.settings, wallet_payout_max_attempts=1),
        database=Database(pool=pool, dsn=platform.settings.database_url or ""),
        clock=clock,
    )
    user = await make_user(kyc_level=2)
    await fund_wallet(user.id, "KES", 250_000)
    payout = await _withdraw(client, user, 100_000, "wd-status-failed")
    assert payout["status"] == "sent"
    originator = await current_originator(pool, payout["id"])
    daraja_sim.settle_b2c(originator, result_code=2001)  # its result never reaches us
    clock.advance(_past_deadline(platform))
    assert await mpesa.reconcile_payouts_in_flight(single) == 1
    [(path, answer)] = daraja_sim.take_status_results()
    assert path.endswith(f"/b2c/status/{originator}")
    for _ in range(2):  # straight to the service: the app runs with the default policy
        await mpesa.handle_status_result(
            single, CALLBACK_TOKEN, originator, answer, queue_timeout=False
        )
    row = await pool.fetchrow(
        "SELECT status, failure_reason FROM payouts WHERE id = $1", uuid.UUID(payout["id"])
    )
    assert row["status"] == "failed"
    assert row["failure_reason"].startswith("gave up after 1 attempts")
    assert await _kes(pool, user.id) == (250_000, 0)
    voids = await pool.fetchval(
        "SELECT count(*) FROM ledger_transfers WHERE code = 'payout_failed'"
    )
    assert voids == 1
    assert await outbox_events(pool, "payout.completed") == []
    await _ledger_holds(pool)


async def test_mpesa_having_no_record_of_a_request_it_acknowledged_never_sends_it_again(
    client: Client,
    make_user: MakeUser,
    clock: ManualClock,
    pool: asyncpg.Pool,
    platform: Platform,
    daraja_sim: DarajaSimulator,
    fund_wallet: FundWallet,
) -> None:
    """Daraja took the request in, so it exists in M-Pesa: "no record" is no proof it
    will not be paid, and a second send could pay twice. It waits, then goes to an admin."""
    user = await make_user(kyc_level=2)
    await fund_wallet(user.id, "KES", 100_000)
    payout = await _withdraw(client, user, 100_000, "wd-acked-unknown")
    assert payout["status"] == "sent"
    originator = await current_originator(pool, payout["id"])
    daraja_sim.b2c_requests.pop(originator)  # M-Pesa's status query will not find it
    clock.advance(_past_deadline(platform))
    assert await mpesa.reconcile_payouts_in_flight(platform) == 1
    assert await _deliver_status_results(client, daraja_sim) == 1
    row = await pool.fetchrow("SELECT status FROM payouts WHERE id = $1", uuid.UUID(payout["id"]))
    assert row["status"] == "sent"
    clock.advance(timedelta(hours=1))
    assert await mpesa.retry_due_payouts(platform) == 0
    assert daraja_sim.b2c_sent_for(payout["id"]) == []
    assert await _kes(pool, user.id) == (0, 100_000)


async def test_a_payout_mpesa_never_answers_about_goes_to_the_admins_who_settle_it_audited(
    client: Client,
    make_user: MakeUser,
    clock: ManualClock,
    pool: asyncpg.Pool,
    platform: Platform,
    daraja_sim: DarajaSimulator,
    fund_wallet: FundWallet,
) -> None:
    user = await make_user(kyc_level=2)
    admin = await make_user(role=Role.ADMIN)
    await fund_wallet(user.id, "KES", 500_000)
    daraja_sim.b2c_answers_to_lose = 2
    held = await _withdraw(client, user, 100_000, "wd-silent-0001")
    stuck = await _withdraw(client, user, 200_000, "wd-silent-0002")
    started = clock.now()
    queue = "/api/v1/admin/payouts/queue"
    decide = f"/api/v1/admin/payouts/{held['id']}/review"
    paid = {"outcome": "completed", "note": "the M-Pesa portal shows it paid"}
    # In flight but not yet past the deadline: not stuck, and not the admins' to decide.
    assert (await client.get(queue, headers=admin.headers)).json() == []
    early = await client.post(decide, json=paid, headers=admin.headers)
    assert early.status_code == 409

    queries = platform.settings.wallet_payout_status_queries
    for round_ in range(1, queries + 1):
        clock.advance(_past_deadline(platform))
        assert await mpesa.reconcile_payouts_in_flight(platform) == 2
        assert daraja_sim.take_status_results() == []  # M-Pesa has not finished them
        admin = refreshed(admin, platform.settings, clock)
        listed = {p["id"]: p for p in (await client.get(queue, headers=admin.headers)).json()}
        assert set(listed) == {held["id"], stuck["id"]}
        for item in listed.values():
            assert item["status"] == "sending"
            assert item["in_flight_since"].startswith(started.isoformat()[:19])
            assert f"{round_} of {queries} status queries asked" in item["stuck_reason"]
            assert "may not have arrived" in item["stuck_reason"]

    # An admin settles one while it is still in flight: M-Pesa never paid it.
    refused = {"outcome": "failed", "note": "not in the M-Pesa statement"}
    settled = await client.post(
        f"/api/v1/admin/payouts/{stuck['id']}/review", json=refused, headers=admin.headers
    )
    assert settled.status_code == 200, settled.text
    assert settled.json()["status"] == "failed"

    # The other is still unknown after the allowed queries: held, money still reserved.
    clock.advance(_past_deadline(platform))
    assert await mpesa.reconcile_payouts_in_flight(platform) == 0
    admin = refreshed(admin, platform.settings, clock)
    [item] = (await client.get(queue, headers=admin.headers)).json()
    assert (item["id"], item["status"]) == (held["id"], "needs_review")
    assert f"after {queries} status queries" in item["review_reason"]
    assert item["in_flight_since"] is not None
    assert await _kes(pool, user.id) == (400_000, 100_000)
    assert [e["payout_id"] for e in await outbox_events(pool, "payout.needs_review")] == [
        held["id"]
    ]
    for _ in range(2):
        done = await client.post(decide, json=paid, headers=admin.headers)
        assert done.status_code == 200, done.text
        assert done.json()["status"] == "completed"
    assert await _kes(pool, user.id) == (400_000, 0)
    assert (await client.get(queue, headers=admin.headers)).json() == []

    audit = await pool.fetch(
        "SELECT actor_id, action, target, details FROM audit_log WHERE action LIKE 'payout.%'"
        " ORDER BY position"
    )
    assert [(a["actor_id"], a["action"], a["target"]) for a in audit] == [
        (admin.id, "payout.review_resolved", f"payout:{stuck['id']}"),
        (admin.id, "payout.review_resolved", f"payout:{held['id']}"),
    ]
    assert audit[0]["details"]["outcome"] == "failed"
    assert audit[1]["details"]["previous_status"] == "needs_review"
    assert audit[1]["details"]["amount_minor"] == 100_000
    await _ledger_holds(pool)


async def test_recording_a_bank_transfer_is_audit_logged_once(
    client: Client,
    make_user: MakeUser,
    clock: ManualClock,
    pool: asyncpg.Pool,
    fund_wallet: FundWallet,
) -> None:
    user = await make_user(kyc_level=2)
    admin = await make_user(role=Role.ADMIN)
    await fund_wallet(user.id, "USD", 10_000)
    payout = (
        await client.post(
            f"/api/v1/wallets/{user.id}/withdraw",
            json={
                "amount_minor": 5_000,
                "currency": "USD",
                "method": "bank",
                "destination": "KCB 1234567890",
                "idempotency_key": "wd-bank-audit",
            },
            headers=user.headers,
        )
    ).json()
    for _ in range(2):
        done = await client.post(
            f"/api/v1/admin/payouts/{payout['id']}/bank-transfer",
            json={"bank_reference": "FT2601059999"},
            headers=admin.headers,
        )
        assert done.status_code == 200
    rows = await pool.fetch("SELECT actor_id, action, target, details FROM audit_log")
    assert [(r["actor_id"], r["action"], r["target"]) for r in rows] == [
        (admin.id, "payout.bank_transfer_recorded", f"payout:{payout['id']}")
    ]
    assert rows[0]["details"]["bank_reference"] == "FT2601059999"


async def test_many_dispatchers_and_reconcilers_at_once_send_a_payout_once(
    client: Client,
    make_user: MakeUser,
    clock: ManualClock,
    pool: asyncpg.Pool,
    platform: Platform,
    daraja_sim: DarajaSimulator,
    fund_wallet: FundWallet,
) -> None:
    user = await make_user(kyc_level=2)
    await fund_wallet(user.id, "KES", 100_000)
    daraja_sim.b2c_failures_to_inject = 1
    payout = await _withdraw(client, user, 100_000, "wd-race-dispatch")
    payout_id = uuid.UUID(payout["id"])
    assert payout["status"] == "queued"
    clock.advance(timedelta(minutes=3))
    # The retry is due: dispatchers, retry jobs and reconcilers race for it. The one new
    # send is lost on its way to M-Pesa, so it stays unknown.
    daraja_sim.b2c_lost_before_mpesa = 1
    await asyncio.gather(
        *(mpesa.dispatch_payout(platform, payout_id) for _ in range(15)),
        *(mpesa.retry_due_payouts(platform) for _ in range(10)),
        *(mpesa.reconcile_payouts_in_flight(platform) for _ in range(10)),
    )
    row = await pool.fetchrow("SELECT status, attempts FROM payouts WHERE id = $1", payout_id)
    assert (row["status"], row["attempts"]) == ("sending", 2)
    # Exactly one request went out (lost); a second would have reached M-Pesa.
    assert daraja_sim.b2c_lost_before_mpesa == 0
    assert daraja_sim.b2c_sent_for(payout["id"]) == []
    originator = await current_originator(pool, payout_id)

    # Past the deadline, many reconcilers ask once; the "no record" answer, delivered
    # many times while dispatchers race, lets exactly one new attempt go out.
    clock.advance(_past_deadline(platform))
    asked = await asyncio.gather(*(mpesa.reconcile_payouts_in_flight(platform) for _ in range(15)))
    assert sum(asked) == 1
    assert [q["OriginalConversationID"] for q in daraja_sim.status_queries].count(originator) == 1
    [(path, answer)] = daraja_sim.take_status_results()
    await asyncio.gather(
        *(client.post(path, json=answer) for _ in range(10)),
        *(mpesa.reconcile_payouts_in_flight(platform) for _ in range(5)),
    )
    row = await pool.fetchrow("SELECT status, attempts FROM payouts WHERE id = $1", payout_id)
    assert (row["status"], row["attempts"]) == ("queued", 2)
    clock.advance(timedelta(minutes=5))
    await asyncio.gather(
        *(mpesa.retry_due_payouts(platform) for _ in range(10)),
        *(mpesa.dispatch_payout(platform, payout_id) for _ in range(10)),
    )
    sent = daraja_sim.b2c_sent_for(payout["id"])
    assert len(sent) == 1
    row = await pool.fetchrow("SELECT status, attempts FROM payouts WHERE id = $1", payout_id)
    assert (row["status"], row["attempts"]) == ("sent", 3)
    path, success = daraja_sim.b2c_result(sent[0])
    await asyncio.gather(*(client.post(path, json=success) for _ in range(10)))
    assert await _kes(pool, user.id) == (0, 0)
    assert len(await outbox_events(pool, "payout.completed")) == 1
    await _ledger_holds(pool)


async def test_a_weekly_payout_to_a_phone_mpesa_cannot_pay_fails_at_once_and_the_batch_goes_on(
    client: AppClient,
    make_user: MakeUser,
    clock: ManualClock,
    pool: asyncpg.Pool,
    platform: Platform,
    daraja_sim: DarajaSimulator,
    fund_wallet: FundWallet,
) -> None:
    abroad = await make_user(role=Role.MENTOR, kyc_level=2, phone="+14155550100")
    local = await make_user(role=Role.MENTOR, kyc_level=2, phone="+254722000333")
    for mentor in (abroad, local):
        await fund_wallet(mentor.id, "KES", 200_000)
    created = await payouts.run_weekly_payouts(platform)
    assert len(created) == 2
    rows = {
        r["user_id"]: r
        for r in await pool.fetch("SELECT id, user_id, status, failure_reason FROM payouts")
    }
    assert rows[abroad.id]["status"] == "failed"
    # The stored reason names no number (it is sealed with the payout); its owner sees it.
    shown = await client.get(f"/api/v1/payouts/{rows[abroad.id]['id']}", headers=abroad.headers)
    assert "cannot pay +14155550100 through M-Pesa" in shown.json()["failure_reason"]
    assert rows[local.id]["status"] == "sent"
    assert await _kes(pool, abroad.id) == (200_000, 0)
    assert await _kes(pool, local.id) == (0, 200_000)
    assert await mpesa.retry_due_payouts(platform) == 0
    await _ledger_holds(pool)
