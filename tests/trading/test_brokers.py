"""Brokers out: a mirrored signal routed to a mentee's own Alpaca account, against the
local Alpaca simulator (its REST wire format, its 422 on a repeated client order id, its
bracket orders and their legs, its trade-updates WebSocket in binary frames). The order
reaches Alpaca once, under the symbol the instruments registry gives Alpaca, even when
the first answer is lost and the send is retried; an instrument Alpaca has no symbol for
is refused before sending; a signal's stop-loss and take-profit go as one bracket order
whose legs' fills come back once each; its fills come back into the mirror portfolio
once, whether the stream or a look-up brings them; a corrected or expired signal's copy
is cancelled at the broker once; KYC level 2, the paper risk limits and the platform
setting all gate it; and the paper broker meets the same interface over the paper
engine."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from dracarys.identity import Role
from dracarys.outbox import Event
from dracarys.payments.sandbox import serve
from dracarys.platform import Platform
from dracarys.settings import Settings
from dracarys.trading import follow_broker_fills, mirror_signal, send_routed_order
from dracarys.trading.brokers import service as broker_service
from dracarys.trading.brokers import store as broker_store
from dracarys.trading.brokers.broker import Broker, PaperBroker
from dracarys.trading.brokers.models import BrokerOrderRequest, BrokerOrderState
from dracarys.trading.instruments import store as instrument_store
from tests.conftest import make_settings
from tests.support import TestUser
from tests.trading.alpaca_simulator import AlpacaSimulator, SimAccount
from tests.trading.conftest import API, Desk
from workers.runtime import Worker

BROKER = f"{API}/broker"
# What Alpaca calls the test instrument XYZ, per the instruments registry.
XYZ_AT_ALPACA = "XYZQ"
MakeUser = Callable[..., Awaitable[TestUser]]


@pytest.fixture(scope="module")
def alpaca_server() -> Iterator[AlpacaSimulator]:
    simulator = AlpacaSimulator()
    with serve(simulator.app()) as url:
        simulator.base_url = url
        yield simulator


@pytest.fixture
def alpaca(alpaca_server: AlpacaSimulator) -> AlpacaSimulator:
    alpaca_server.reset()
    return alpaca_server


@pytest.fixture
def brokers_enabled() -> bool:
    return True


@pytest.fixture
def settings(
    database_url: str, tmp_path: Path, alpaca_server: AlpacaSimulator, brokers_enabled: bool
) -> Settings:
    return make_settings(
        database_url,
        tmp_path,
        DRACARYS_EXTERNAL_BROKERS_ENABLED=str(brokers_enabled).lower(),
        DRACARYS_ALPACA_BASE_URL=alpaca_server.base_url,
        DRACARYS_ALPACA_STREAM_URL=alpaca_server.stream_url,
        # Fills come from the stream unless a test asks about orders itself.
        DRACARYS_BROKER_FILL_POLL_S="3600",
        DRACARYS_BROKER_TIMEOUT_S="5",
        # A send whose answer was lost is retried within a second.
        DRACARYS_OUTBOX_REDELIVER_AFTER_S="0.3",
    )


def keyed(user: TestUser) -> dict[str, str]:
    return {**user.headers, "Idempotency-Key": f"sub-{uuid.uuid4()}"}


async def wait_until(check: Callable[[], Awaitable[Any]], what: str) -> Any:
    for _ in range(300):
        value = await check()
        if value:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def mirroring_mentee(
    desk: Desk, make_user: MakeUser, mentor: TestUser, *, kyc_level: int = 2, **portfolio: Any
) -> tuple[TestUser, dict[str, Any]]:
    mentee = await make_user(kyc_level=kyc_level)
    await desk.acknowledge(mentee)
    book = await desk.portfolio(mentee, **portfolio)
    response = await desk.client.post(
        f"{API}/mentors/{mentor.id}/subscriptions",
        json={"mirror": {"portfolio_id": book["id"]}},
        headers=keyed(mentee),
    )
    assert response.status_code == 201, response.text
    return mentee, book


@pytest.fixture
def xyz_at_alpaca() -> str | None:
    """The Alpaca symbol the registry maps XYZ to (None: it maps none)."""
    return XYZ_AT_ALPACA


@dataclass
class Routing:
    """A mentor, and a KYC level 2 mentee mirroring them into `book` and routing the
    copies to their linked, opted-in Alpaca `account`."""

    mentor: TestUser
    mentee: TestUser
    book: dict[str, Any]
    account: SimAccount


@pytest.fixture
async def routing(
    desk: Desk, make_user: MakeUser, alpaca: AlpacaSimulator, xyz_at_alpaca: str | None
) -> Routing:
    await desk.tick()  # XYZ closes at 100
    if xyz_at_alpaca is not None:
        async with desk.platform.pool.acquire() as conn:
            await instrument_store.set_broker_symbol(conn, "XYZ", "alpaca", xyz_at_alpaca)
    mentor = await make_user(role=Role.MENTOR)
    mentee, book = await mirroring_mentee(desk, make_user, mentor)
    account = alpaca.open_account()
    await link_and_opt_in(desk, mentee, account)
    return Routing(mentor=mentor, mentee=mentee, book=book, account=account)


async def with_worker(desk: Desk, check: Callable[[], Awaitable[Any]], what: str) -> Any:
    """Run the outbox consumers until `check` answers (→ its answer)."""
    worker = Worker(desk.platform)
    await worker.start()
    try:
        return await wait_until(check, what)
    finally:
        await worker.stop()


async def following_fills(desk: Desk, alpaca: AlpacaSimulator) -> asyncio.Task[None]:
    """Follow the fill streams (as every process does) once Alpaca has a listener."""
    listener = asyncio.create_task(follow_broker_fills(desk.platform))
    await wait_until(lambda: _true(alpaca.listening > 0), "the fill stream to listen")
    return listener


async def stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def link_and_opt_in(desk: Desk, mentee: TestUser, account: SimAccount) -> None:
    linked = await desk.client.put(
        f"{BROKER}/link",
        json={"api_key_id": account.key_id, "api_secret": account.secret},
        headers=mentee.headers,
    )
    assert linked.status_code == 200, linked.text
    assert linked.json()["account_number"] == account.account_number
    assert linked.json()["opted_in"] is False  # linking alone routes nothing
    opted = await desk.client.put(
        f"{BROKER}/opt-in", json={"opted_in": True}, headers=mentee.headers
    )
    assert opted.status_code == 200, opted.text
    assert opted.json()["opted_in"] is True


async def publish(desk: Desk, mentor: TestUser, **body: Any) -> dict[str, Any]:
    payload = {"symbol": "XYZ", "side": "buy", "rationale": "Breakout.", "size_hint_pct": 10}
    response = await desk.client.post(
        f"{API}/signals", json={**payload, **body}, headers=mentor.headers
    )
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


async def mirrors(pool: asyncpg.Pool) -> list[asyncpg.Record]:
    return await pool.fetch("SELECT * FROM signal_mirrors")


async def routed_status(
    pool: asyncpg.Pool, status: str, *, at_least: int = 1
) -> list[asyncpg.Record]:
    """Routed orders in `status`, entries first; none until there are `at_least`."""
    rows = await pool.fetch(
        "SELECT * FROM broker_orders WHERE status = $1 ORDER BY role <> 'entry', role", status
    )
    return rows if len(rows) >= at_least else []


async def _true(value: bool) -> bool:
    return value


async def _link(pool: asyncpg.Pool, user_id: uuid.UUID) -> Any:
    async with pool.acquire() as conn:
        link = await broker_store.get_link(conn, user_id)
    assert link is not None
    return link


async def _state_at_alpaca(platform: Platform, link: Any, order_id: str) -> BrokerOrderState:
    return await broker_service.broker_for(platform.settings, link).order(order_id)


async def routed_rows(pool: asyncpg.Pool) -> dict[str, asyncpg.Record]:
    """The routed orders by role (entry, stop_loss, take_profit)."""
    return {r["role"]: r for r in await pool.fetch("SELECT * FROM broker_orders")}


async def paper_order(pool: asyncpg.Pool, order_id: uuid.UUID) -> asyncpg.Record:
    row = await pool.fetchrow("SELECT * FROM paper_orders WHERE id = $1", order_id)
    assert row is not None
    return row


async def test_a_mirrored_order_reaches_alpaca_once_and_its_fills_return_to_the_portfolio_once(
    desk: Desk, routing: Routing, alpaca: AlpacaSimulator, pool: asyncpg.Pool
) -> None:
    # Alpaca takes the order but its answer is lost: the send fails and is retried.
    alpaca.lose_next_answer = True
    await publish(desk, routing.mentor)
    [routed] = await with_worker(desk, lambda: routed_status(pool, "sent"), "the order sent")
    # Two sends reached Alpaca, one order exists: the retry found it by its client id.
    assert len(alpaca.order_posts) == 2
    [placed] = alpaca.orders_of(routing.account)
    order_id = routed["order_id"]
    assert placed.client_order_id == f"dracarys-{order_id}" == routed["client_order_id"]
    assert routed["broker_order_id"] == placed.id
    # It went under the symbol the registry gives Alpaca for XYZ.
    assert (placed.symbol, placed.side, placed.type, str(placed.qty)) == (
        XYZ_AT_ALPACA,
        "buy",
        "market",
        "100",
    )
    assert (routed["symbol"], routed["broker_symbol"]) == ("XYZ", XYZ_AT_ALPACA)
    assert alpaca.order_posts[0] == alpaca.order_posts[1]
    assert "order_class" not in alpaca.order_posts[0]  # no stop-loss, no take-profit
    paper = await paper_order(pool, order_id)
    assert paper["status"] == "routed"
    assert str(paper["portfolio_id"]) == routing.book["id"]
    # The paper engine leaves the copy to the broker.
    await desk.tick()
    assert (
        await pool.fetchval("SELECT count(*) FROM paper_fills WHERE order_id = $1", order_id) == 0
    )

    listener = await following_fills(desk, alpaca)
    try:
        # One fill at a time: the follower's first look-up of the order may still be on
        # its way, and answered after both fills it would rightly book them as one.
        alpaca.fill(placed.id, 40, 100.5)
        await wait_until(lambda: routed_status(pool, "partially_filled"), "the first fill")
        alpaca.fill(placed.id, 60, 101.0)
        await wait_until(lambda: routed_status(pool, "filled"), "the fills to come back")
    finally:
        await stop(listener)

    fills = await pool.fetch(
        "SELECT qty, price, feed FROM paper_fills WHERE order_id = $1 ORDER BY bar_seq", order_id
    )
    assert [(float(f["qty"]), float(f["price"]), f["feed"]) for f in fills] == [
        (40.0, 100.5, "broker:alpaca"),
        (60.0, 101.0, "broker:alpaca"),
    ]
    paper = await paper_order(pool, order_id)
    assert (paper["status"], float(paper["filled_qty"]), float(paper["avg_fill_price"])) == (
        "filled",
        100.0,
        100.8,
    )
    book_id = uuid.UUID(routing.book["id"])
    position = await pool.fetchrow(
        "SELECT qty, avg_price FROM paper_positions WHERE portfolio_id = $1", book_id
    )
    assert (float(position["qty"]), float(position["avg_price"])) == (100.0, 100.8)
    cash = await pool.fetchval("SELECT cash_minor FROM paper_portfolios WHERE id = $1", book_id)
    assert cash == 10_000_000 - (4_020_00 + 6_060_00)

    # Told again (the stream repeating itself, a look-up after it): nothing more is booked.
    link = await _link(pool, routing.mentee.id)
    assert await broker_service.reconcile_open_orders(desk.platform, link) == 0
    again = await _state_at_alpaca(desk.platform, link, placed.id)
    assert await broker_service.apply_order_state(desk.platform, again, routing.mentee.id) == []
    assert (
        await pool.fetchval("SELECT count(*) FROM paper_fills WHERE order_id = $1", order_id) == 2
    )

    listed = await desk.client.get(f"{BROKER}/orders", headers=routing.mentee.headers)
    [shown] = listed.json()
    assert (shown["status"], shown["filled_qty"], shown["avg_fill_price"]) == ("filled", 100, 100.8)
    held = await desk.client.get(f"{BROKER}/positions", headers=routing.mentee.headers)
    assert held.json() == [
        {"symbol": XYZ_AT_ALPACA, "qty": 100.0, "avg_entry_price": 100.8, "market_value": 10080.0}
    ]


async def test_a_signal_with_stop_loss_and_take_profit_goes_as_one_bracket_whose_legs_fill_once(
    desk: Desk, routing: Routing, alpaca: AlpacaSimulator, pool: asyncpg.Pool
) -> None:
    await publish(desk, routing.mentor, stop_loss=95, take_profit=110)
    await with_worker(desk, lambda: routed_status(pool, "sent"), "the bracket sent")
    [posted] = alpaca.order_posts
    assert (posted["order_class"], posted["take_profit"], posted["stop_loss"]) == (
        "bracket",
        {"limit_price": "110"},
        {"stop_price": "95"},
    )
    [entry] = [o for o in alpaca.orders_of(routing.account) if o.parent_id is None]
    legs = {leg.type: leg for leg in entry.legs}
    assert {t: (leg.side, leg.status, str(leg.qty)) for t, leg in legs.items()} == {
        "limit": ("sell", "held", "100"),
        "stop": ("sell", "held", "100"),
    }
    # Each leg the broker named is a routed order of its own, under the broker's ids.
    rows = await routed_rows(pool)
    assert set(rows) == {"entry", "stop_loss", "take_profit"}
    for role, leg in (("take_profit", legs["limit"]), ("stop_loss", legs["stop"])):
        assert rows[role]["parent_order_id"] == rows["entry"]["order_id"]
        assert (rows[role]["broker_order_id"], rows[role]["client_order_id"]) == (
            leg.id,
            leg.client_order_id,
        )
        paper_leg = await paper_order(pool, rows[role]["order_id"])
        assert (paper_leg["parent_id"], paper_leg["status"]) == (
            rows["entry"]["order_id"],
            "routed",
        )
    await desk.tick()  # the paper engine leaves the legs to the broker too
    mine = "SELECT count(*) FROM paper_fills WHERE portfolio_id = $1"
    book_id = uuid.UUID(routing.book["id"])
    assert await pool.fetchval(mine, book_id) == 0

    listener = await following_fills(desk, alpaca)
    try:
        alpaca.fill(entry.id, 100, 100.0)
        await wait_until(lambda: routed_status(pool, "filled"), "the entry's fill")
        assert legs["limit"].status == legs["stop"].status == "new"
        alpaca.trade(XYZ_AT_ALPACA, 111.0)  # through the take-profit: the stop is cancelled
        await wait_until(lambda: routed_status(pool, "cancelled"), "the stop-loss cancelled")
        await wait_until(lambda: _count_filled(pool, 2), "the take-profit's fill")
    finally:
        await stop(listener)
    assert (legs["limit"].status, legs["stop"].status) == ("filled", "canceled")

    rows = await routed_rows(pool)
    assert {role: r["status"] for role, r in rows.items()} == {
        "entry": "filled",
        "take_profit": "filled",
        "stop_loss": "cancelled",
    }
    fills = await pool.fetch(
        """SELECT o.role, f.side, f.qty, f.price FROM paper_fills f
           JOIN paper_orders o ON o.id = f.order_id WHERE f.portfolio_id = $1
           ORDER BY f.bar_seq, o.role""",
        book_id,
    )
    assert [(f["role"], f["side"], float(f["qty"]), float(f["price"])) for f in fills] == [
        ("entry", "buy", 100.0, 100.0),
        ("take_profit", "sell", 100.0, 110.0),
    ]
    stop_leg = await paper_order(pool, rows["stop_loss"]["order_id"])
    assert stop_leg["status"] == "cancelled"
    position = await pool.fetchval(
        "SELECT qty FROM paper_positions WHERE portfolio_id = $1", book_id
    )
    assert float(position) == 0.0

    # Told again, by a look-up of the entry (which names its legs) and of each leg: no
    # fill is booked twice.
    link = await _link(pool, routing.mentee.id)
    for order_id in (entry.id, legs["limit"].id, legs["stop"].id):
        state = await _state_at_alpaca(desk.platform, link, order_id)
        assert await broker_service.apply_order_state(desk.platform, state, routing.mentee.id) == []
    assert await broker_service.reconcile_open_orders(desk.platform, link) == 0
    assert await pool.fetchval(mine, book_id) == 2


async def _count_filled(pool: asyncpg.Pool, count: int) -> bool:
    return len(await routed_status(pool, "filled")) == count


async def test_a_fill_missed_by_the_stream_is_found_by_asking_and_booked_once_in_a_race(
    desk: Desk, routing: Routing, make_user: MakeUser, alpaca: AlpacaSimulator, pool: asyncpg.Pool
) -> None:
    await publish(desk, routing.mentor)
    [routed] = await with_worker(desk, lambda: routed_status(pool, "sent"), "the order sent")
    [placed] = alpaca.orders_of(routing.account)
    alpaca.fill(placed.id, 100, 99.5, push=False)  # the stream was down
    link = await _link(pool, routing.mentee.id)
    late = await _state_at_alpaca(desk.platform, link, placed.id)
    # The look-up and ten late copies of the stream's message, all at once: one fill.
    looked_up, *copies = await asyncio.gather(
        broker_service.reconcile_open_orders(desk.platform, link),
        *[
            broker_service.apply_order_state(desk.platform, late, routing.mentee.id)
            for _ in range(10)
        ],
    )
    assert looked_up + sum(len(c) for c in copies) == 1
    fills = await pool.fetch("SELECT qty FROM paper_fills WHERE order_id = $1", routed["order_id"])
    assert [float(f["qty"]) for f in fills] == [100.0]
    # Another member's stream cannot book this member's order.
    other = await make_user(kyc_level=2)
    assert await broker_service.apply_order_state(desk.platform, late, other.id) == []


@pytest.mark.parametrize("xyz_at_alpaca", [None])
async def test_an_instrument_alpaca_has_no_symbol_for_is_refused_before_sending(
    desk: Desk, routing: Routing, alpaca: AlpacaSimulator, pool: asyncpg.Pool
) -> None:
    await publish(desk, routing.mentor, stop_loss=95, take_profit=110)
    [mirror] = await with_worker(desk, lambda: mirrors(pool), "the mirror")
    [routed] = await pool.fetch("SELECT * FROM broker_orders")
    assert (routed["order_id"], routed["status"], routed["broker_symbol"]) == (
        mirror["order_id"],
        "rejected",
        None,
    )
    reason = (
        "not sent: XYZ has no Alpaca symbol in the instruments registry, so Alpaca would refuse it"
    )
    assert routed["status_reason"] == reason
    orders = await pool.fetch(
        """SELECT role, status, status_reason FROM paper_orders WHERE portfolio_id = $1
           ORDER BY role""",
        uuid.UUID(routing.book["id"]),
    )
    assert [(o["role"], o["status"], o["status_reason"]) for o in orders] == [
        ("entry", "rejected", reason),
        ("stop_loss", "rejected", reason),
        ("take_profit", "rejected", reason),
    ]
    assert alpaca.order_posts == []
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM outbox WHERE topic = 'trading.broker_order_routed'"
        )
        == 0
    )
    listed = await desk.client.get(f"{BROKER}/orders", headers=routing.mentee.headers)
    [shown] = listed.json()
    assert (shown["symbol"], shown["status"], shown["status_reason"]) == ("XYZ", "rejected", reason)


async def test_a_copy_of_an_expired_signal_is_cancelled_at_the_broker_once(
    desk: Desk, routing: Routing, alpaca: AlpacaSimulator, pool: asyncpg.Pool
) -> None:
    expiry = desk.clock.now() + timedelta(hours=1)
    await publish(
        desk,
        routing.mentor,
        order_type="limit",
        entry_price=95,
        stop_loss=90,
        take_profit=110,
        expires_at=expiry.isoformat(),
    )
    await with_worker(desk, lambda: routed_status(pool, "sent"), "the order sent")
    [entry] = [o for o in alpaca.orders_of(routing.account) if o.parent_id is None]
    link = await _link(pool, routing.mentee.id)
    before_the_cancel = await _state_at_alpaca(desk.platform, link, entry.id)
    await desk.tick()  # not expired yet: nothing is asked
    desk.clock.advance(timedelta(hours=2))
    # The expiry runs with every tick, and in every process: it asks once.
    await desk.tick()
    await desk.tick()
    cancels = "SELECT count(*) FROM outbox WHERE topic = 'trading.broker_cancel_requested'"
    assert await pool.fetchval(cancels) == 1
    # The entry and both legs: Alpaca may report a leg's cancel before the entry's.
    [ended, *legs] = await with_worker(
        desk, lambda: routed_status(pool, "cancelled", at_least=3), "the cancel of all three"
    )
    await desk.tick()
    assert await pool.fetchval(cancels) == 1
    assert alpaca.cancel_requests == [entry.id]
    assert entry.status == "canceled"
    assert [leg.status for leg in entry.legs] == ["canceled", "canceled"]
    assert ended["role"] == "entry"
    assert sorted(leg["role"] for leg in legs) == ["stop_loss", "take_profit"]
    assert ended["status_reason"] == "signal expired: cancelled at the broker (canceled)"
    orders = await pool.fetch(
        "SELECT role, status FROM paper_orders WHERE portfolio_id = $1 ORDER BY role",
        uuid.UUID(routing.book["id"]),
    )
    assert [(o["role"], o["status"]) for o in orders] == [
        ("entry", "cancelled"),
        ("stop_loss", "cancelled"),
        ("take_profit", "cancelled"),
    ]
    # A state read before the cancel, applied after it (a look-up answered late, behind
    # the stream's frames), reopens nothing: entry and legs stay cancelled.
    stale = await broker_service.apply_order_state(
        desk.platform, before_the_cancel, routing.mentee.id
    )
    assert stale == []
    orders = await pool.fetch(
        "SELECT role, status FROM paper_orders WHERE portfolio_id = $1 ORDER BY role",
        uuid.UUID(routing.book["id"]),
    )
    assert {o["status"] for o in orders} == {"cancelled"}
    assert {r["status"] for r in (await routed_rows(pool)).values()} == {"cancelled"}


async def test_a_copy_not_sent_when_its_signal_expires_ends_expired_and_is_never_sent(
    desk: Desk, routing: Routing, alpaca: AlpacaSimulator, pool: asyncpg.Pool
) -> None:
    expiry = desk.clock.now() + timedelta(hours=1)
    await publish(
        desk, routing.mentor, order_type="limit", entry_price=95, expires_at=expiry.isoformat()
    )
    # Mirrored (the copy recorded for sending), but the send has not run yet.
    async with desk.platform.pool.acquire() as conn, conn.transaction():
        [signal_id] = [r["id"] for r in await conn.fetch("SELECT id FROM signals")]
        await mirror_signal(conn, desk.platform, signal_id)
    [pending] = await routed_status(pool, "pending")
    desk.clock.advance(timedelta(hours=2))
    await desk.tick()
    await desk.tick()
    [ended] = await routed_status(pool, "expired")
    assert ended["order_id"] == pending["order_id"]
    paper = await paper_order(pool, pending["order_id"])
    assert (paper["status"], paper["status_reason"]) == ("expired", "signal expired")
    # The send comes after: it finds the copy ended and sends nothing.
    [row] = await pool.fetch("SELECT * FROM outbox WHERE topic = 'trading.broker_order_routed'")
    payload = row["payload"] if isinstance(row["payload"], dict) else json.loads(row["payload"])
    event = Event(id=row["id"], topic=row["topic"], payload=payload, created_at=row["created_at"])
    async with desk.platform.pool.acquire() as conn, conn.transaction():
        await send_routed_order(conn, desk.platform, event)
    assert alpaca.order_posts == []
    assert (await paper_order(pool, pending["order_id"]))["status"] == "expired"


async def test_below_kyc_level_2_nothing_is_linked_or_routed(
    desk: Desk, make_user: MakeUser, alpaca: AlpacaSimulator, pool: asyncpg.Pool
) -> None:
    await desk.tick()
    mentor = await make_user(role=Role.MENTOR)
    mentee, _ = await mirroring_mentee(desk, make_user, mentor, kyc_level=1)
    account = alpaca.open_account()
    refused = await desk.client.put(
        f"{BROKER}/link",
        json={"api_key_id": account.key_id, "api_secret": account.secret},
        headers=mentee.headers,
    )
    assert refused.status_code == 403
    assert "KYC level 2" in refused.json()["detail"]
    status = (await desk.client.get(f"{BROKER}/", headers=mentee.headers)).json()
    assert (status["linked"], status["required_kyc_level"], status["kyc_level"]) == (False, 2, 1)

    # Linked and opted in at level 2, then back at level 1: the copy stays on paper.
    await pool.execute("UPDATE users SET kyc_level = 2 WHERE id = $1", mentee.id)
    await link_and_opt_in(desk, mentee, account)
    await pool.execute("UPDATE users SET kyc_level = 1 WHERE id = $1", mentee.id)
    await publish(desk, mentor)
    worker = Worker(desk.platform)
    await worker.start()
    try:
        [mirror] = await wait_until(lambda: mirrors(pool), "the mirror")
    finally:
        await worker.stop()
    paper = await pool.fetchrow("SELECT status FROM paper_orders WHERE id = $1", mirror["order_id"])
    assert paper["status"] == "working"
    assert alpaca.order_posts == []
    assert await pool.fetchval("SELECT count(*) FROM broker_orders") == 0


async def test_a_routed_copy_passes_the_paper_risk_limits_first(
    desk: Desk, make_user: MakeUser, alpaca: AlpacaSimulator, pool: asyncpg.Pool
) -> None:
    await desk.tick()
    mentor = await make_user(role=Role.MENTOR)
    # 10% of equity per copy, but this portfolio allows 5% per position.
    mentee, _ = await mirroring_mentee(desk, make_user, mentor, max_position_pct=5)
    await link_and_opt_in(desk, mentee, alpaca.open_account())
    await publish(desk, mentor)
    worker = Worker(desk.platform)
    await worker.start()
    try:
        [mirror] = await wait_until(lambda: mirrors(pool), "the mirror")
    finally:
        await worker.stop()
    assert mirror["order_id"] is None
    assert mirror["skipped_reason"].startswith("refused by risk checks")
    assert "at most 5% per position" in mirror["skipped_reason"]
    assert alpaca.order_posts == []
    assert await pool.fetchval("SELECT count(*) FROM broker_orders") == 0


@pytest.mark.parametrize("brokers_enabled", [False])
async def test_without_the_setting_nothing_links_and_copies_stay_on_paper(
    desk: Desk, make_user: MakeUser, alpaca: AlpacaSimulator, pool: asyncpg.Pool
) -> None:
    await desk.tick()
    mentor = await make_user(role=Role.MENTOR)
    mentee, _ = await mirroring_mentee(desk, make_user, mentor)
    account = alpaca.open_account()
    status = (await desk.client.get(f"{BROKER}/", headers=mentee.headers)).json()
    assert status["available"] is False
    refused = await desk.client.put(
        f"{BROKER}/link",
        json={"api_key_id": account.key_id, "api_secret": account.secret},
        headers=mentee.headers,
    )
    assert refused.status_code == 403
    assert "not enabled" in refused.json()["detail"]
    opt_in = await desk.client.put(
        f"{BROKER}/opt-in", json={"opted_in": True}, headers=mentee.headers
    )
    assert opt_in.status_code == 403
    await publish(desk, mentor)
    worker = Worker(desk.platform)
    await worker.start()
    try:
        [mirror] = await wait_until(lambda: mirrors(pool), "the mirror")
    finally:
        await worker.stop()
    paper = await pool.fetchrow("SELECT status FROM paper_orders WHERE id = $1", mirror["order_id"])
    assert paper["status"] == "working"
    assert alpaca.order_posts == []
    assert alpaca.refused == []  # not even the keys were sent to Alpaca


async def test_keys_alpaca_refuses_are_not_kept(
    desk: Desk, make_user: MakeUser, alpaca: AlpacaSimulator, pool: asyncpg.Pool
) -> None:
    mentee = await make_user(kyc_level=2)
    response = await desk.client.put(
        f"{BROKER}/link",
        json={"api_key_id": "PKWRONGWRONG", "api_secret": "not-the-secret"},
        headers=mentee.headers,
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "api_key_id"
    assert "Alpaca did not accept these API keys" in response.json()["detail"]
    assert await pool.fetchval("SELECT count(*) FROM broker_links") == 0
    # Good keys are kept sealed: neither the key id nor the secret is in the row.
    account = alpaca.open_account()
    linked = await desk.client.put(
        f"{BROKER}/link",
        json={"api_key_id": account.key_id, "api_secret": account.secret},
        headers=mentee.headers,
    )
    assert linked.status_code == 200, linked.text
    assert linked.json()["key_hint"] == account.key_id[-4:]
    row = await pool.fetchrow("SELECT * FROM broker_links WHERE user_id = $1", mentee.id)
    stored = bytes(row["api_key_id_sealed"]) + bytes(row["api_secret_sealed"])
    assert account.key_id.encode() not in stored
    assert account.secret.encode() not in stored
    unlinked = await desk.client.delete(f"{BROKER}/link", headers=mentee.headers)
    assert unlinked.json()["linked"] is False


async def test_the_paper_broker_meets_the_broker_interface_over_the_paper_engine(
    desk: Desk, make_user: MakeUser
) -> None:
    await desk.tick()  # XYZ closes at 100
    trader = await make_user()
    book = await desk.portfolio(trader)
    paper = PaperBroker(desk.platform, uuid.UUID(book["id"]), poll_s=0.05)
    broker: Broker = paper
    request = BrokerOrderRequest(
        client_order_id="mine-1", symbol="XYZ", side="buy", kind="market", qty=10
    )
    first = await broker.place(request)
    again = await broker.place(request)  # the same client order id: the same order
    assert again == first
    assert first.status == "new"
    updates = paper.fills()
    await desk.tick()  # the engine fills it at the next open
    update = await asyncio.wait_for(anext(updates), timeout=10)
    assert (update.event, update.order.broker_order_id) == ("fill", first.broker_order_id)
    assert update.order.filled_qty == 10
    assert [(p.symbol, p.qty) for p in await broker.positions()] == [("XYZ", 10.0)]
    assert (await broker.order(first.broker_order_id)).status == "filled"
    await updates.aclose()


async def test_a_routed_order_cancelled_at_the_broker_ends_cancelled_on_paper(
    desk: Desk, routing: Routing, alpaca: AlpacaSimulator, pool: asyncpg.Pool
) -> None:
    await publish(desk, routing.mentor, order_type="limit", entry_price=95)
    [routed] = await with_worker(desk, lambda: routed_status(pool, "sent"), "the order sent")
    [placed] = alpaca.orders.values()
    assert (placed.type, placed.limit_price) == ("limit", "95")
    cancel = f"{BROKER}/orders/{routed['order_id']}/cancel"
    response = await desk.client.post(cancel, headers=routing.mentee.headers)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled"
    assert placed.status == "canceled"
    paper = await paper_order(pool, routed["order_id"])
    assert (paper["status"], float(paper["filled_qty"])) == ("cancelled", 0.0)
    again = await desk.client.post(cancel, headers=routing.mentee.headers)
    assert again.status_code == 409


async def test_an_order_alpaca_refuses_ends_rejected_with_its_reason_and_is_not_sent_again(
    desk: Desk, routing: Routing, alpaca: AlpacaSimulator, pool: asyncpg.Pool
) -> None:
    alpaca.refuse_next = "insufficient buying power"
    await publish(desk, routing.mentor)
    [routed] = await with_worker(desk, lambda: routed_status(pool, "rejected"), "the refusal")
    assert routed["status_reason"] == "Alpaca refused: insufficient buying power"
    paper = await paper_order(pool, routed["order_id"])
    assert (paper["status"], paper["status_reason"]) == ("rejected", routed["status_reason"])
    assert len(alpaca.order_posts) == 1
    assert alpaca.orders == {}


async def test_a_corrected_signal_withdraws_its_unfilled_copy_from_the_broker_once(
    desk: Desk, routing: Routing, alpaca: AlpacaSimulator, pool: asyncpg.Pool
) -> None:
    expiry = desk.clock.now() + timedelta(hours=1)
    original = await publish(
        desk, routing.mentor, order_type="limit", entry_price=95, expires_at=expiry.isoformat()
    )
    worker = Worker(desk.platform)
    await worker.start()
    try:
        [routed] = await wait_until(lambda: routed_status(pool, "sent"), "the routed order sent")
        await publish(
            desk, routing.mentor, order_type="limit", entry_price=94, corrects_id=original["id"]
        )
        [ended] = await wait_until(lambda: routed_status(pool, "cancelled"), "the withdrawal")
    finally:
        await worker.stop()
    assert ended["order_id"] == routed["order_id"]
    assert ended["status_reason"] == "signal corrected: cancelled at the broker (canceled)"
    [placed] = [o for o in alpaca.orders.values() if o.limit_price == "95"]
    assert placed.status == "canceled"
    paper = await paper_order(pool, routed["order_id"])
    assert paper["status"] == "cancelled"
    # The corrected signal then expires: its copy was withdrawn already, nothing more.
    desk.clock.advance(timedelta(hours=2))
    await desk.tick()
    assert alpaca.cancel_requests == [placed.id]
    cancels = "SELECT count(*) FROM outbox WHERE topic = 'trading.broker_cancel_requested'"
    assert await pool.fetchval(cancels) == 1
