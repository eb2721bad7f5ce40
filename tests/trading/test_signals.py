"""Mentor signals: the education label, the hash chain and its guards, corrections, the
signal book's verified track record, subscriptions (disclaimer, plans, feed access) and
mirroring with every scaling rule and the minimum-size skip, through a real worker."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import asyncpg
import pytest

from dracarys.app import platform_channel_policies
from dracarys.identity import CurrentUser, Role
from dracarys.messaging import list_messages
from dracarys.platform import Platform
from dracarys.realtime import ChannelAccess, ChannelPolicies
from dracarys.trading.models import Side
from dracarys.trading.signals import service as signal_service
from dracarys.trading.signals import subscriptions
from dracarys.trading.signals.models import SignalInput
from dracarys.wallet import release_due_escrows
from streams.channels import parse_channel
from tests.support import TestUser, fund_wallet
from tests.trading.conftest import API, Desk
from workers.runtime import Worker


def keyed(user: TestUser) -> dict[str, str]:
    """The user's headers with a fresh Idempotency-Key: each subscribe is a new request."""
    return {**user.headers, "Idempotency-Key": f"sub-{uuid.uuid4()}"}


MakeUser = Callable[..., Awaitable[TestUser]]


async def post_signal(desk: Desk, mentor: TestUser, **body: Any) -> Any:
    payload = {"symbol": "XYZ", "side": "buy", "rationale": "Support held twice.", **body}
    return await desk.client.post(f"{API}/signals", json=payload, headers=mentor.headers)


async def published(desk: Desk, mentor: TestUser, **body: Any) -> dict[str, Any]:
    response = await post_signal(desk, mentor, **body)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


async def test_signals_carry_the_label_and_extend_the_mentor_hash_chain(
    desk: Desk, make_user: MakeUser
) -> None:
    await desk.tick()
    mentor = await make_user(role=Role.MENTOR)
    first = await published(desk, mentor, stop_loss=95, take_profit=110)
    desk.clock.advance(timedelta(minutes=5))
    second = await published(desk, mentor, side="sell", order_type="limit", entry_price=104)
    assert first["label"] == "Education, not investment advice."
    assert (first["chain_seq"], first["prev_hash"]) == (1, None)
    assert (second["chain_seq"], second["prev_hash"]) == (2, first["hash"])
    assert first["created_at"] < second["created_at"]
    listed = (
        await desk.client.get(f"{API}/mentors/{mentor.id}/signals", headers=mentor.headers)
    ).json()
    assert listed["label"] == "Education, not investment advice."
    assert [s["id"] for s in listed["signals"]] == [second["id"], first["id"]]
    check = await desk.client.get(
        f"{API}/mentors/{mentor.id}/signals/verification", headers=mentor.headers
    )
    assert check.json() == {
        "mentor_id": str(mentor.id),
        "signals": 2,
        "valid": True,
        "first_broken_seq": None,
    }
    mentee = await make_user()
    refused = await post_signal(desk, mentee)
    assert refused.status_code == 403


async def test_the_database_refuses_to_change_delete_or_backdate_signals(
    desk: Desk, make_user: MakeUser
) -> None:
    await desk.tick()
    mentor = await make_user(role=Role.MENTOR)
    signal = await published(desk, mentor)
    async with desk.platform.pool.acquire() as conn:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute(
                "UPDATE signals SET rationale = 'edited' WHERE id = $1", uuid.UUID(signal["id"])
            )
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("DELETE FROM signals WHERE id = $1", uuid.UUID(signal["id"]))
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("TRUNCATE signals CASCADE")
        head = await conn.fetchrow("SELECT * FROM signals WHERE id = $1", uuid.UUID(signal["id"]))
        assert head is not None
        insert = """INSERT INTO signals (id, mentor_id, chain_seq, symbol, side, order_type,
                        size_hint_pct, rationale, created_at, prev_hash, hash)
                    VALUES ($1, $2, $3, 'XYZ', 'buy', 'market', 5, 'x', $4, $5, '\\x00')"""
        with pytest.raises(asyncpg.CheckViolationError, match="dated before"):
            await conn.execute(
                insert,
                uuid.uuid4(),
                mentor.id,
                2,
                head["created_at"] - timedelta(days=1),
                head["hash"],
            )
        with pytest.raises(asyncpg.CheckViolationError, match="extend its chain head"):
            await conn.execute(insert, uuid.uuid4(), mentor.id, 2, head["created_at"], b"forged")
        with pytest.raises(asyncpg.CheckViolationError, match="extend its chain head"):
            await conn.execute(insert, uuid.uuid4(), mentor.id, 5, head["created_at"], head["hash"])


async def test_chain_verification_finds_a_row_edited_behind_the_trigger(
    desk: Desk, make_user: MakeUser
) -> None:
    await desk.tick()
    mentor = await make_user(role=Role.MENTOR)
    for _ in range(3):
        await published(desk, mentor)
    async with desk.platform.pool.acquire() as conn:
        # Only a superuser can do this; the chain still shows it.
        await conn.execute("ALTER TABLE signals DISABLE TRIGGER signals_append_only")
        await conn.execute(
            "UPDATE signals SET take_profit = 150 WHERE mentor_id = $1 AND chain_seq = 2", mentor.id
        )
    result = await signal_service.verify_chain(desk.platform, mentor.id)
    assert (result.valid, result.first_broken_seq) == (False, 2)


async def test_a_correction_references_its_original_and_stops_it_on_the_book(
    desk: Desk, make_user: MakeUser
) -> None:
    await desk.tick()
    mentor = await make_user(role=Role.MENTOR)
    original = await published(desk, mentor, order_type="limit", entry_price=90, stop_loss=85)
    correction = await published(
        desk, mentor, order_type="limit", entry_price=92, stop_loss=88, corrects_id=original["id"]
    )
    assert correction["corrects_id"] == original["id"]
    rows = await desk.fetch(
        "SELECT signal_id, status, status_reason FROM paper_orders WHERE role = 'entry' "
        "ORDER BY created_at"
    )
    assert [(str(r["signal_id"]), r["status"]) for r in rows] == [
        (original["id"], "cancelled"),
        (correction["id"], "working"),
    ]
    assert rows[0]["status_reason"] == "signal corrected"
    [outcome] = await desk.fetch("SELECT signal_id, outcome FROM signal_outcomes")
    assert (str(outcome["signal_id"]), outcome["outcome"]) == (original["id"], "superseded")
    twice = await post_signal(desk, mentor, corrects_id=original["id"])
    assert twice.status_code == 409
    other = await make_user(role=Role.MENTOR)
    foreign = await post_signal(desk, other, corrects_id=original["id"])
    assert foreign.status_code == 422
    assert foreign.json()["errors"][0]["field"] == "corrects_id"


async def test_each_signal_is_traded_on_the_signal_book_into_a_track_record(
    desk: Desk, make_user: MakeUser
) -> None:
    await desk.tick()  # closes at 100
    mentor = await make_user(role=Role.MENTOR)
    signal = await published(
        desk, mentor, stop_loss=95, take_profit=104.5, size_hint_pct=10, rationale="Breakout."
    )
    desk.clock.advance(timedelta(seconds=2))
    await desk.tick()  # the book buys 100 at the open, 100 + 5 bps slippage (realistic)
    await desk.tick()  # high 106: the take-profit fills at 104.5
    [outcome] = await desk.fetch("SELECT * FROM signal_outcomes")
    assert str(outcome["signal_id"]) == signal["id"]
    assert outcome["outcome"] == "closed"
    assert float(outcome["entry_price"]) == 100.05
    assert float(outcome["exit_price"]) == 104.5
    assert float(outcome["qty"]) == 100
    assert outcome["pnl_minor"] == 44_500
    assert float(outcome["r_multiple"]) == pytest.approx((104.5 - 100.05) / (100.05 - 95), abs=1e-6)
    assert outcome["fill_latency_ms"] == 2_000
    assert float(outcome["entry_slippage_bps"]) == pytest.approx(5.0)
    closed = await desk.fetch("SELECT payload FROM outbox WHERE topic = 'signal.closed'")
    assert [e["payload"]["signal_id"] for e in closed] == [signal["id"]]
    assert len(await desk.fetch("SELECT 1 FROM outbox WHERE topic = 'signal.published'")) == 1

    viewer = await make_user()
    record = (
        await desk.client.get(f"{API}/mentors/{mentor.id}/track-record", headers=viewer.headers)
    ).json()
    assert record["signals"] == 1
    assert record["closed"] == 1
    assert record["win_rate_pct"] == 100.0
    assert record["average_r_multiple"] == pytest.approx(0.881188, abs=1e-5)
    assert record["average_fill_latency_ms"] == 2_000
    assert record["average_slippage_bps"] == pytest.approx(5.0)
    assert record["max_drawdown_pct"] >= 0
    assert record["label"] == "Education, not investment advice."
    # The book's equity, for the profile's chart: marked at each bar, ending at the
    # equity the record states.
    curve = (
        await desk.client.get(
            f"{API}/mentors/{mentor.id}/track-record/curve", headers=viewer.headers
        )
    ).json()
    assert curve["mentor_id"] == str(mentor.id)
    assert curve["points"], curve
    assert curve["points"][-1]["equity_minor"] == record["book_equity_minor"]
    assert curve["starting_cash_minor"] is not None
    assert curve["currency"] is not None
    assert all(p["drawdown_pct"] >= 0 for p in curve["points"])
    last_one = (
        await desk.client.get(
            f"{API}/mentors/{mentor.id}/track-record/curve",
            params={"limit": 1},
            headers=viewer.headers,
        )
    ).json()["points"]
    assert last_one == curve["points"][-1:]
    # Per signal: the mentor (and subscribers of a paid feed) see how the book closed it.
    [per_signal] = (
        await desk.client.get(f"{API}/mentors/{mentor.id}/signal-outcomes", headers=mentor.headers)
    ).json()
    assert per_signal["signal_id"] == signal["id"]
    assert (per_signal["entry_price"], per_signal["exit_price"]) == (100.05, 104.5)
    assert per_signal["pnl_minor"] == 44_500
    assert per_signal["r_multiple"] == pytest.approx(0.881188, abs=1e-5)
    await desk.client.put(
        f"{API}/feed-plan", json={"monthly_price_minor": 1_000}, headers=mentor.headers
    )
    hidden = await desk.client.get(
        f"{API}/mentors/{mentor.id}/signal-outcomes", headers=viewer.headers
    )
    assert hidden.status_code == 403  # a paid feed's outcomes are for its subscribers
    board = (
        await desk.client.get(f"{API}/leaderboards/mentors?period=all", headers=viewer.headers)
    ).json()
    assert [e["owner_id"] for e in board["entries"]] == [str(mentor.id)]


async def test_subscribing_needs_the_disclaimer_and_records_the_plan(
    desk: Desk, make_user: MakeUser
) -> None:
    mentor = await make_user(role=Role.MENTOR)
    mentee = await make_user()
    plan = await desk.client.put(
        f"{API}/feed-plan",
        json={"monthly_price_minor": 250_000, "currency": "KES"},
        headers=mentor.headers,
    )
    assert plan.status_code == 200
    shown = await desk.client.get(f"{API}/mentors/{mentor.id}/feed-plan", headers=mentee.headers)
    assert shown.json() == {
        "mentor_id": str(mentor.id),
        "monthly_price_minor": 250_000,
        "currency": "KES",
    }
    gated = await desk.client.post(
        f"{API}/mentors/{mentor.id}/subscriptions", json={}, headers=keyed(mentee)
    )
    assert gated.status_code == 403
    assert "acknowledge the risk disclaimer" in gated.json()["detail"]
    await desk.acknowledge(mentee)
    broke = await desk.client.post(
        f"{API}/mentors/{mentor.id}/subscriptions", json={}, headers=keyed(mentee)
    )
    assert broke.status_code == 409  # a paid feed is paid from the wallet
    assert broke.json()["title"] == "Insufficient funds"
    assert await desk.fetch("SELECT id FROM signal_subscriptions") == []
    await fund_wallet(desk.platform.pool, mentee.id, "KES", 300_000, desk.clock.now())
    response = await desk.client.post(
        f"{API}/mentors/{mentor.id}/subscriptions", json={}, headers=keyed(mentee)
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["monthly_price_minor"] == 250_000
    assert body["currency"] == "KES"
    assert (body["status"], body["billing_status"]) == ("active", "paid")
    assert await kes_available(desk, mentee) == 50_000
    [event] = await desk.fetch("SELECT payload FROM outbox WHERE topic = 'subscription.started'")
    assert event["payload"]["amount_minor"] == 250_000
    again = await desk.client.post(
        f"{API}/mentors/{mentor.id}/subscriptions", json={}, headers=keyed(mentee)
    )
    assert again.status_code == 409
    not_a_mentor = await desk.client.post(
        f"{API}/mentors/{mentee.id}/subscriptions", json={}, headers=keyed(mentor)
    )
    assert not_a_mentor.status_code == 404


async def test_a_mentor_lists_their_own_active_subscribers_and_nothing_private(
    desk: Desk, make_user: MakeUser
) -> None:
    mentor = await make_user(role=Role.MENTOR)
    other_mentor = await make_user(role=Role.MENTOR)
    staying, leaving = await make_user(), await make_user()
    for mentee in (staying, leaving):
        await desk.acknowledge(mentee)
    subscriptions = {}
    for mentee in (staying, leaving):
        response = await desk.client.post(
            f"{API}/mentors/{mentor.id}/subscriptions", json={}, headers=keyed(mentee)
        )
        subscriptions[mentee.id] = response.json()["id"]
    await desk.client.post(
        f"{API}/mentors/{other_mentor.id}/subscriptions", json={}, headers=keyed(staying)
    )
    await desk.client.post(
        f"{API}/subscriptions/{subscriptions[leaving.id]}/cancel", headers=leaving.headers
    )

    listed = await desk.client.get(f"{API}/feed-plan/subscribers", headers=mentor.headers)
    assert listed.status_code == 200
    [entry] = listed.json()
    assert entry["subscriber_id"] == str(staying.id)
    assert entry["subscription_id"] == subscriptions[staying.id]
    assert entry["mirroring"] is False
    assert "mirror_portfolio_id" not in entry
    refused = await desk.client.get(f"{API}/feed-plan/subscribers", headers=staying.headers)
    assert refused.status_code == 403


async def test_a_paid_feed_is_for_active_subscribers_only(desk: Desk, make_user: MakeUser) -> None:
    await desk.tick()
    mentor = await make_user(role=Role.MENTOR)
    subscriber = await make_user()
    outsider = await make_user()
    await published(desk, mentor)
    free = await desk.client.get(f"{API}/mentors/{mentor.id}/signals", headers=outsider.headers)
    assert free.status_code == 200  # no plan: a free feed
    await desk.client.put(
        f"{API}/feed-plan", json={"monthly_price_minor": 1_000}, headers=mentor.headers
    )
    await desk.acknowledge(subscriber)
    await fund_wallet(desk.platform.pool, subscriber.id, "USD", 1_000, desk.clock.now())
    subscription = (
        await desk.client.post(
            f"{API}/mentors/{mentor.id}/subscriptions", json={}, headers=keyed(subscriber)
        )
    ).json()
    assert (
        await desk.client.get(f"{API}/mentors/{mentor.id}/signals", headers=outsider.headers)
    ).status_code == 403
    assert (
        await desk.client.get(f"{API}/mentors/{mentor.id}/signals", headers=subscriber.headers)
    ).status_code == 200
    cancelled = await desk.client.post(
        f"{API}/subscriptions/{subscription['id']}/cancel", headers=subscriber.headers
    )
    assert cancelled.json()["status"] == "cancelled"
    # The paid period runs out, then access ends.
    assert (
        await desk.client.get(f"{API}/mentors/{mentor.id}/signals", headers=subscriber.headers)
    ).status_code == 200
    desk.clock.advance(timedelta(days=30))
    await subscriptions.renew_due_subscriptions(desk.platform)
    subscriber = subscriber.signed_in_again(desk.platform.settings, desk.clock)
    assert (
        await desk.client.get(f"{API}/mentors/{mentor.id}/signals", headers=subscriber.headers)
    ).status_code == 403


async def wait_for_mirrors(platform: Platform, count: int) -> list[asyncpg.Record]:
    for _ in range(200):
        async with platform.pool.acquire() as conn:
            rows = await conn.fetch(
                """SELECT m.*, s.scaling, s.scaling_value FROM signal_mirrors m
                   JOIN signal_subscriptions s ON s.id = m.subscription_id"""
            )
        if len(rows) >= count:
            return rows
        await asyncio.sleep(0.05)
    raise AssertionError(f"expected {count} mirrors, found {len(rows)}")


async def test_mirroring_scales_each_copy_and_skips_one_below_the_minimum_size(
    desk: Desk, make_user: MakeUser
) -> None:
    await desk.tick()  # closes at 100
    mentor = await make_user(role=Role.MENTOR)
    rules = [
        ("size_hint", None),  # 10% of 100,000 at 100 → 100
        ("fixed_fraction", 0.05),  # 5% → 50
        ("fixed_units", 7.0),
        ("max_risk", 0.01),  # 1,000 at risk over a 5.00 stop distance → 200
        ("fixed_units", 0.5),  # below the minimum size of 1: skipped, not rounded up
    ]
    for scaling, value in rules:
        mentee = await make_user()
        await desk.acknowledge(mentee)
        portfolio = await desk.portfolio(mentee)
        mirror: dict[str, Any] = {"portfolio_id": portfolio["id"], "scaling": scaling}
        if value is not None:
            mirror["scaling_value"] = value
        response = await desk.client.post(
            f"{API}/mentors/{mentor.id}/subscriptions",
            json={"mirror": mirror},
            headers=keyed(mentee),
        )
        assert response.status_code == 201, response.text
    signal = await published(desk, mentor, stop_loss=95, take_profit=110, size_hint_pct=10)
    desk.clock.advance(timedelta(milliseconds=1_500))

    worker = Worker(desk.platform)
    await worker.start()
    try:
        rows = await wait_for_mirrors(desk.platform, len(rules))
    finally:
        await worker.stop()
    by_rule = {(r["scaling"], float(r["scaling_value"] or 0)): r for r in rows}
    copied = {key: float(r["qty"]) for key, r in by_rule.items() if r["order_id"] is not None}
    assert copied == {
        ("size_hint", 0.0): 100.0,
        ("fixed_fraction", 0.05): 50.0,
        ("fixed_units", 7.0): 7.0,
        ("max_risk", 0.01): 200.0,
    }
    skipped = by_rule[("fixed_units", 0.5)]
    assert skipped["order_id"] is None
    assert skipped["qty"] is None
    assert "below the minimum size 1 of XYZ" in skipped["skipped_reason"]
    assert "not rounded up" in skipped["skipped_reason"]
    assert {r["latency_ms"] for r in rows} == {1_500}
    orders = await desk.fetch(
        """SELECT o.qty, o.role, o.signal_id FROM paper_orders o
           JOIN paper_portfolios p ON p.id = o.portfolio_id
           WHERE p.kind = 'personal' AND o.role = 'entry'"""
    )
    assert sorted(float(o["qty"]) for o in orders) == [7.0, 50.0, 100.0, 200.0]
    assert {str(o["signal_id"]) for o in orders} == {signal["id"]}
    legs = await desk.fetch(
        "SELECT count(*) AS n FROM paper_orders o JOIN paper_portfolios p ON p.id = o.portfolio_id "
        "WHERE p.kind = 'personal' AND o.role <> 'entry'"
    )
    assert legs[0]["n"] == 8  # every copy carries the signal's stop-loss and take-profit

    await desk.tick()  # the copies fill like any order
    fills = await desk.fetch(
        "SELECT f.qty FROM paper_fills f JOIN paper_portfolios p ON p.id = f.portfolio_id "
        "WHERE p.kind = 'personal'"
    )
    assert sorted(float(f["qty"]) for f in fills) == [7.0, 50.0, 100.0, 200.0]


async def test_max_risk_copy_of_a_signal_without_stop_loss_is_skipped_with_the_reason(
    desk: Desk, make_user: MakeUser
) -> None:
    await desk.tick()
    mentor = await make_user(role=Role.MENTOR)
    mentee = await make_user()
    await desk.acknowledge(mentee)
    portfolio = await desk.portfolio(mentee)
    await desk.client.post(
        f"{API}/mentors/{mentor.id}/subscriptions",
        json={
            "mirror": {
                "portfolio_id": portfolio["id"],
                "scaling": "max_risk",
                "scaling_value": 0.01,
            }
        },
        headers=keyed(mentee),
    )
    await published(desk, mentor)
    worker = Worker(desk.platform)
    await worker.start()
    try:
        [row] = await wait_for_mirrors(desk.platform, 1)
    finally:
        await worker.stop()
    assert row["skipped_reason"] == "max_risk scaling needs a stop-loss and this signal has none"
    mirrors = await desk.client.get(
        f"{API}/subscriptions/{row['subscription_id']}/mirrors", headers=mentee.headers
    )
    assert mirrors.json()[0]["skipped_reason"] == row["skipped_reason"]


async def test_an_expired_signal_closes_unfilled_and_its_legs_are_cancelled(
    desk: Desk, make_user: MakeUser
) -> None:
    await desk.tick()
    mentor = await make_user(role=Role.MENTOR)
    expiry = desk.clock.now() + timedelta(hours=1)
    signal = await published(
        desk,
        mentor,
        order_type="limit",
        entry_price=80,
        stop_loss=75,
        take_profit=90,
        expires_at=expiry.isoformat(),
    )
    desk.clock.advance(timedelta(hours=2))
    await desk.tick()
    rows = {r["role"]: r for r in await desk.fetch("SELECT * FROM paper_orders")}
    assert (rows["entry"]["status"], rows["entry"]["status_reason"]) == (
        "expired",
        "signal expired",
    )
    for leg in ("stop_loss", "take_profit"):
        assert rows[leg]["status"] == "cancelled"
        assert rows[leg]["status_reason"] == "the entry ended without a fill"
    [outcome] = await desk.fetch("SELECT signal_id, outcome FROM signal_outcomes")
    assert (str(outcome["signal_id"]), outcome["outcome"]) == (signal["id"], "expired")
    closed = await desk.fetch("SELECT payload FROM outbox WHERE topic = 'signal.closed'")
    assert [e["payload"]["outcome"] for e in closed] == ["expired"]


async def test_a_copy_that_breaks_the_subscribers_risk_limits_is_skipped_with_the_reason(
    desk: Desk, make_user: MakeUser
) -> None:
    await desk.tick()
    mentor = await make_user(role=Role.MENTOR)
    novice = await make_user()
    await desk.acknowledge(novice)
    portfolio = await desk.portfolio(novice)
    await desk.client.post(
        f"{API}/mentors/{mentor.id}/subscriptions",
        json={"mirror": {"portfolio_id": portfolio["id"]}},
        headers=keyed(novice),
    )
    await published(desk, mentor, side="sell", stop_loss=105, take_profit=90)
    worker = Worker(desk.platform)
    await worker.start()
    try:
        [row] = await wait_for_mirrors(desk.platform, 1)
    finally:
        await worker.stop()
    assert row["order_id"] is None
    assert row["skipped_reason"].startswith("refused by risk checks: novice accounts cannot sell")
    personal = await desk.fetch(
        "SELECT 1 FROM paper_orders o JOIN paper_portfolios p ON p.id = o.portfolio_id "
        "WHERE p.kind = 'personal'"
    )
    assert personal == []  # the refused copy left nothing behind


async def test_stream_policies_guard_portfolio_and_paid_signal_channels(
    desk: Desk, make_user: MakeUser
) -> None:
    owner = await make_user()
    mentor = await make_user(role=Role.MENTOR)
    stranger = await make_user()
    portfolio = await desk.portfolio(owner)
    await desk.client.put(
        f"{API}/portfolios/{portfolio['id']}/sharing",
        json={"mentor_ids": [str(mentor.id)]},
        headers=owner.headers,
    )

    async def verdict(user: TestUser, channel: str) -> str | None:
        access = ChannelAccess(
            platform=desk.platform,
            user=CurrentUser(id=user.id, role=user.role, session_id=user.session_id),
            channel=parse_channel(channel),
        )
        return await ChannelPolicies(platform_channel_policies()).authorize(access)

    book = f"portfolio:{portfolio['id']}"
    assert await verdict(owner, book) is None
    assert await verdict(mentor, book) is None
    assert await verdict(stranger, book) is not None

    feed = f"signals:{mentor.id}"
    assert await verdict(stranger, feed) is None  # free feed
    await desk.client.put(
        f"{API}/feed-plan", json={"monthly_price_minor": 500}, headers=mentor.headers
    )
    assert await verdict(stranger, feed) == "this signal feed is for its active subscribers only"
    assert await verdict(mentor, feed) is None
    await desk.acknowledge(owner)
    await fund_wallet(desk.platform.pool, owner.id, "USD", 500, desk.clock.now())
    subscribed = await desk.client.post(
        f"{API}/mentors/{mentor.id}/subscriptions", json={}, headers=keyed(owner)
    )
    assert subscribed.status_code == 201, subscribed.text
    assert await verdict(owner, feed) is None


async def test_a_correction_closes_the_book_but_keeps_a_filled_copys_protection(
    desk: Desk, make_user: MakeUser
) -> None:
    await desk.tick()
    mentor = await make_user(role=Role.MENTOR)
    mentee = await make_user()
    await desk.acknowledge(mentee)
    portfolio = await desk.portfolio(mentee, preset="frictionless")
    await desk.client.post(
        f"{API}/mentors/{mentor.id}/subscriptions",
        json={
            "mirror": {
                "portfolio_id": portfolio["id"],
                "scaling": "fixed_units",
                "scaling_value": 10,
            }
        },
        headers=keyed(mentee),
    )
    original = await published(desk, mentor, stop_loss=90, take_profit=120)
    worker = Worker(desk.platform)
    await worker.start()
    try:
        await wait_for_mirrors(desk.platform, 1)
    finally:
        await worker.stop()
    await desk.tick()  # the book's and the copy's entries fill
    await published(desk, mentor, stop_loss=92, take_profit=118, corrects_id=original["id"])
    copy = await desk.fetch(
        "SELECT role, status FROM paper_orders WHERE portfolio_id = $1 ORDER BY role",
        uuid.UUID(portfolio["id"]),
    )
    assert [(r["role"], r["status"]) for r in copy] == [
        ("entry", "filled"),
        ("stop_loss", "working"),
        ("take_profit", "working"),
    ]
    book = await desk.fetch(
        """SELECT o.role, o.status, o.qty FROM paper_orders o
           JOIN paper_portfolios p ON p.id = o.portfolio_id
           WHERE p.kind = 'signal_book' AND o.signal_id = $1 ORDER BY o.role""",
        uuid.UUID(original["id"]),
    )
    assert [(r["role"], r["status"]) for r in book] == [
        ("entry", "filled"),
        ("exit", "working"),
        ("stop_loss", "cancelled"),
        ("take_profit", "cancelled"),
    ]
    await desk.tick()  # the book's exit fills: the original closes on its record
    [outcome] = await desk.fetch(
        "SELECT outcome FROM signal_outcomes WHERE signal_id = $1", uuid.UUID(original["id"])
    )
    assert outcome["outcome"] == "closed"


async def test_concurrent_signals_from_one_mentor_form_one_unbroken_chain(
    desk: Desk, make_user: MakeUser
) -> None:
    await desk.tick()
    mentor = await make_user(role=Role.MENTOR)
    who = CurrentUser(id=mentor.id, role=Role.MENTOR, session_id=mentor.session_id)

    async def publish(k: int) -> None:
        body = SignalInput(symbol="XYZ", side=Side.BUY, rationale=f"idea {k}")
        await signal_service.publish_signal(desk.platform, who, body)

    await asyncio.gather(*(publish(k) for k in range(12)))
    check = await signal_service.verify_chain(desk.platform, mentor.id)
    async with desk.platform.pool.acquire() as conn:
        books = await conn.fetchval(
            "SELECT count(*) FROM paper_portfolios WHERE kind = 'signal_book'"
        )
    assert (check.signals, check.valid) == (12, True)
    assert books == 1


async def kes_available(desk: Desk, user: TestUser) -> int:
    response = await desk.client.get(f"/api/v1/wallets/{user.id}/balances", headers=user.headers)
    return int(
        next(b for b in response.json()["balances"] if b["currency"] == "KES")["available_minor"]
    )


async def test_a_paid_feed_is_paid_each_period_from_the_wallet_and_lapses_when_it_cannot_be(
    desk: Desk, make_user: MakeUser
) -> None:
    """Each 30-day period goes into escrow and is released to the mentor when it ends; a
    renewal the wallet cannot pay takes access away until a top-up; a cancelled
    subscription keeps its paid period, and coming back within it charges nothing."""
    mentor = await make_user(role=Role.MENTOR)
    mentee = await make_user()
    await desk.client.put(
        f"{API}/feed-plan",
        json={"monthly_price_minor": 100_000, "currency": "KES"},
        headers=mentor.headers,
    )
    await desk.acknowledge(mentee)
    await fund_wallet(desk.platform.pool, mentee.id, "KES", 250_000, desk.clock.now())
    # The subscriber reads Swahili (issue 20 item 8): the past-due notice is in Swahili.
    await desk.platform.pool.execute(
        """INSERT INTO user_profiles (user_id, language) VALUES ($1, 'sw')
           ON CONFLICT (user_id) DO UPDATE SET language = 'sw'""",
        mentee.id,
    )
    subscription = (
        await desk.client.post(
            f"{API}/mentors/{mentor.id}/subscriptions", json={}, headers=keyed(mentee)
        )
    ).json()
    feed = f"{API}/mentors/{mentor.id}/signals"
    assert (await desk.client.get(feed, headers=mentee.headers)).status_code == 200
    renew = subscriptions.renew_due_subscriptions
    assert await renew(desk.platform) == 0  # nothing is due yet

    # Period 2 is paid on time; running the job twice pays nothing twice.
    desk.clock.advance(timedelta(days=30))
    mentee = mentee.signed_in_again(desk.platform.settings, desk.clock)
    assert await renew(desk.platform) == 1
    assert await renew(desk.platform) == 0
    assert await kes_available(desk, mentee) == 50_000
    escrows = await desk.fetch(
        "SELECT amount_minor FROM escrows WHERE payer_id = $1 ORDER BY created_at", mentee.id
    )
    assert [e["amount_minor"] for e in escrows] == [100_000, 100_000]
    # The first period's escrow is released to the mentor: their share, less commission.
    assert await release_due_escrows(desk.platform) == 1
    mentor = mentor.signed_in_again(desk.platform.settings, desk.clock)
    assert 0 < await kes_available(desk, mentor) < 100_000

    # Period 3: 50,000 left, the renewal is refused and access goes.
    desk.clock.advance(timedelta(days=30))
    mentee = mentee.signed_in_again(desk.platform.settings, desk.clock)
    assert await renew(desk.platform) == 0
    [row] = await desk.fetch("SELECT billing_status FROM signal_subscriptions")
    assert row["billing_status"] == "past_due"
    assert (await desk.client.get(feed, headers=mentee.headers)).status_code == 403
    assert len(await desk.fetch("SELECT 1 FROM outbox WHERE topic = 'subscription.past_due'")) == 1
    async with desk.platform.pool.acquire() as conn:
        [mail] = await list_messages(conn, desk.platform.settings, user_id=mentee.id)
    assert mail.recipient == mentee.email
    assert mail.content is not None
    assert mail.template == "trading.subscription_past_due"
    assert mail.content.subject.startswith("Usajili wako wa ishara za ")
    assert mail.content.subject.endswith(" umesitishwa")
    assert "KES 1,000.00" in mail.content.text
    assert "Ongeza pesa kwenye pochi yako ndani ya siku 7" in mail.content.text
    assert await renew(desk.platform) == 0  # still short: no second notice
    assert len(await desk.fetch("SELECT 1 FROM outbox WHERE topic = 'subscription.past_due'")) == 1

    # A top-up brings it back at the next run.
    await fund_wallet(desk.platform.pool, mentee.id, "KES", 60_000, desk.clock.now())
    assert await renew(desk.platform) == 1
    assert (await desk.client.get(feed, headers=mentee.headers)).status_code == 200
    assert await kes_available(desk, mentee) == 10_000

    # Cancelled: access until the paid period ends; back within it, nothing is charged.
    cancelled = await desk.client.post(
        f"{API}/subscriptions/{subscription['id']}/cancel", headers=mentee.headers
    )
    paid_until = cancelled.json()["paid_until"]
    assert (await desk.client.get(feed, headers=mentee.headers)).status_code == 200
    back = await desk.client.post(
        f"{API}/mentors/{mentor.id}/subscriptions", json={}, headers=keyed(mentee)
    )
    assert back.status_code == 201, back.text
    assert (back.json()["billing_status"], back.json()["paid_until"]) == ("paid", paid_until)
    assert await kes_available(desk, mentee) == 10_000
    await desk.client.post(
        f"{API}/subscriptions/{back.json()['id']}/cancel", headers=mentee.headers
    )
    desk.clock.advance(timedelta(days=30))
    mentee = mentee.signed_in_again(desk.platform.settings, desk.clock)
    assert await renew(desk.platform) == 0
    assert (await desk.client.get(feed, headers=mentee.headers)).status_code == 403
    statuses = await desk.fetch("SELECT status, billing_status FROM signal_subscriptions")
    assert {(r["status"], r["billing_status"]) for r in statuses} == {("cancelled", "expired")}


async def test_a_subscription_past_due_for_a_week_ends_and_a_later_top_up_charges_nothing(
    desk: Desk, make_user: MakeUser
) -> None:
    mentor = await make_user(role=Role.MENTOR)
    mentee = await make_user()
    await desk.client.put(
        f"{API}/feed-plan",
        json={"monthly_price_minor": 100_000, "currency": "KES"},
        headers=mentor.headers,
    )
    await desk.acknowledge(mentee)
    await fund_wallet(desk.platform.pool, mentee.id, "KES", 100_000, desk.clock.now())
    await desk.client.post(
        f"{API}/mentors/{mentor.id}/subscriptions", json={}, headers=keyed(mentee)
    )
    renew = subscriptions.renew_due_subscriptions
    desk.clock.advance(timedelta(days=30))
    assert await renew(desk.platform) == 0
    desk.clock.advance(timedelta(days=6, hours=23))
    assert await renew(desk.platform) == 0
    [row] = await desk.fetch("SELECT status, billing_status FROM signal_subscriptions")
    assert (row["status"], row["billing_status"]) == ("active", "past_due")  # still in grace
    desk.clock.advance(timedelta(hours=1))
    assert await renew(desk.platform) == 0
    [row] = await desk.fetch("SELECT status, billing_status FROM signal_subscriptions")
    assert (row["status"], row["billing_status"]) == ("cancelled", "expired")
    assert len(await desk.fetch("SELECT 1 FROM outbox WHERE topic = 'subscription.lapsed'")) == 1
    await fund_wallet(desk.platform.pool, mentee.id, "KES", 500_000, desk.clock.now())
    desk.clock.advance(timedelta(days=1))
    assert await renew(desk.platform) == 0
    mentee = mentee.signed_in_again(desk.platform.settings, desk.clock)
    assert await kes_available(desk, mentee) == 500_000


async def test_a_mentor_with_no_signal_yet_has_an_empty_curve_and_others_none(
    desk: Desk, make_user: MakeUser
) -> None:
    mentor = await make_user(role=Role.MENTOR)
    mentee = await make_user()
    empty = await desk.client.get(
        f"{API}/mentors/{mentor.id}/track-record/curve", headers=mentee.headers
    )
    assert empty.status_code == 200, empty.text
    assert empty.json()["points"] == []
    assert empty.json()["currency"] is None
    missing = await desk.client.get(
        f"{API}/mentors/{mentee.id}/track-record/curve", headers=mentee.headers
    )
    assert missing.status_code == 404
