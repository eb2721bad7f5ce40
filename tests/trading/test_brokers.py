"""Brokers out: a mirrored signal routed to a mentee's own Alpaca account, against the
local Alpaca simulator (its REST wire format, its 422 on a repeated client order id, its
trade-updates WebSocket in binary frames). The order reaches Alpaca once even when the
first answer is lost and the send is retried; its fills come back into the mirror
portfolio once, whether the stream or a look-up brings them; KYC level 2, the paper risk
limits and the platform setting all gate it; and the paper broker meets the same
interface over the paper engine."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from dracarys.identity import Role
from dracarys.payments.sandbox import serve
from dracarys.platform import Platform
from dracarys.settings import Settings
from dracarys.trading import follow_broker_fills
from dracarys.trading.brokers import service as broker_service
from dracarys.trading.brokers import store as broker_store
from dracarys.trading.brokers.broker import Broker, PaperBroker
from dracarys.trading.brokers.models import BrokerOrderRequest, BrokerOrderState
from tests.conftest import make_settings
from tests.support import TestUser
from tests.trading.alpaca_simulator import AlpacaSimulator, SimAccount
from tests.trading.conftest import API, Desk
from workers.runtime import Worker

BROKER = f"{API}/broker"
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


async def routed_status(pool: asyncpg.Pool, status: str) -> list[asyncpg.Record]:
    return await pool.fetch("SELECT * FROM broker_orders WHERE status = $1", status)


async def test_a_mirrored_order_reaches_alpaca_once_and_its_fills_return_to_the_portfolio_once(
    desk: Desk, make_user: MakeUser, alpaca: AlpacaSimulator, pool: asyncpg.Pool
) -> None:
    await desk.tick()  # XYZ closes at 100
    mentor = await make_user(role=Role.MENTOR)
    mentee, book = await mirroring_mentee(desk, make_user, mentor)
    account = alpaca.open_account()
    await link_and_opt_in(desk, mentee, account)
    # Alpaca takes the order but its answer is lost: the send fails and is retried.
    alpaca.lose_next_answer = True
    await publish(desk, mentor, stop_loss=95, take_profit=110)

    worker = Worker(desk.platform)
    await worker.start()
    try:
        [routed] = await wait_until(lambda: routed_status(pool, "sent"), "the routed order sent")
    finally:
        await worker.stop()
    # Two sends reached Alpaca, one order exists: the retry found it by its client id.
    assert len(alpaca.order_posts) == 2
    [placed] = alpaca.orders_of(account)
    order_id = routed["order_id"]
    assert placed.client_order_id == f"dracarys-{order_id}" == routed["client_order_id"]
    assert routed["broker_order_id"] == placed.id
    assert (placed.symbol, placed.side, placed.type, str(placed.qty)) == (
        "XYZ",
        "buy",
        "market",
        "100",
    )
    assert alpaca.order_posts[0] == alpaca.order_posts[1]
    paper = await pool.fetchrow("SELECT * FROM paper_orders WHERE id = $1", order_id)
    assert paper["status"] == "routed"
    assert str(paper["portfolio_id"]) == book["id"]
    # The copy carries the entry only; the paper engine leaves it to the broker.
    legs = await pool.fetchval("SELECT count(*) FROM paper_orders WHERE parent_id = $1", order_id)
    assert legs == 0
    await desk.tick()
    assert (
        await pool.fetchval("SELECT count(*) FROM paper_fills WHERE order_id = $1", order_id) == 0
    )

    listener = asyncio.create_task(follow_broker_fills(desk.platform))
    try:
        await wait_until(lambda: _true(alpaca.listening > 0), "the fill stream to listen")
        alpaca.fill(placed.id, 40, 100.5)
        alpaca.fill(placed.id, 60, 101.0)
        await wait_until(lambda: routed_status(pool, "filled"), "the fills to come back")
    finally:
        listener.cancel()
        await asyncio.gather(listener, return_exceptions=True)

    fills = await pool.fetch(
        "SELECT qty, price, feed FROM paper_fills WHERE order_id = $1 ORDER BY bar_seq", order_id
    )
    assert [(float(f["qty"]), float(f["price"]), f["feed"]) for f in fills] == [
        (40.0, 100.5, "broker:alpaca"),
        (60.0, 101.0, "broker:alpaca"),
    ]
    paper = await pool.fetchrow("SELECT * FROM paper_orders WHERE id = $1", order_id)
    assert (paper["status"], float(paper["filled_qty"]), float(paper["avg_fill_price"])) == (
        "filled",
        100.0,
        100.8,
    )
    position = await pool.fetchrow(
        "SELECT qty, avg_price FROM paper_positions WHERE portfolio_id = $1", uuid.UUID(book["id"])
    )
    assert (float(position["qty"]), float(position["avg_price"])) == (100.0, 100.8)
    cash = await pool.fetchval(
        "SELECT cash_minor FROM paper_portfolios WHERE id = $1", uuid.UUID(book["id"])
    )
    assert cash == 10_000_000 - (4_020_00 + 6_060_00)

    # Told again (the stream repeating itself, a look-up after it): nothing more is booked.
    link = await _link(pool, mentee.id)
    assert await broker_service.reconcile_open_orders(desk.platform, link) == 0
    again = await _state_at_alpaca(desk.platform, link, placed.id)
    assert await broker_service.apply_order_state(desk.platform, again, mentee.id) == []
    assert (
        await pool.fetchval("SELECT count(*) FROM paper_fills WHERE order_id = $1", order_id) == 2
    )

    listed = await desk.client.get(f"{BROKER}/orders", headers=mentee.headers)
    [shown] = listed.json()
    assert (shown["status"], shown["filled_qty"], shown["avg_fill_price"]) == ("filled", 100, 100.8)
    held = await desk.client.get(f"{BROKER}/positions", headers=mentee.headers)
    assert held.json() == [
        {"symbol": "XYZ", "qty": 100.0, "avg_entry_price": 100.8, "market_value": 10080.0}
    ]


async def _true(value: bool) -> bool:
    return value


async def _link(pool: asyncpg.Pool, user_id: uuid.UUID) -> Any:
    async with pool.acquire() as conn:
        link = await broker_store.get_link(conn, user_id)
    assert link is not None
    return link


async def _state_at_alpaca(platform: Platform, link: Any, order_id: str) -> BrokerOrderState:
    return await broker_service.broker_for(platform.settings, link).order(order_id)


async def test_a_fill_missed_by_the_stream_is_found_by_asking_and_booked_once_in_a_race(
    desk: Desk, make_user: MakeUser, alpaca: AlpacaSimulator, pool: asyncpg.Pool
) -> None:
    await desk.tick()
    mentor = await make_user(role=Role.MENTOR)
    mentee, _ = await mirroring_mentee(desk, make_user, mentor)
    account = alpaca.open_account()
    await link_and_opt_in(desk, mentee, account)
    await publish(desk, mentor)
    worker = Worker(desk.platform)
    await worker.start()
    try:
        [routed] = await wait_until(lambda: routed_status(pool, "sent"), "the routed order sent")
    finally:
        await worker.stop()
    [placed] = alpaca.orders_of(account)
    alpaca.fill(placed.id, 100, 99.5, push=False)  # the stream was down
    link = await _link(pool, mentee.id)
    late = await _state_at_alpaca(desk.platform, link, placed.id)
    # The look-up and ten late copies of the stream's message, all at once: one fill.
    looked_up, *copies = await asyncio.gather(
        broker_service.reconcile_open_orders(desk.platform, link),
        *[broker_service.apply_order_state(desk.platform, late, mentee.id) for _ in range(10)],
    )
    assert looked_up + sum(len(c) for c in copies) == 1
    fills = await pool.fetch("SELECT qty FROM paper_fills WHERE order_id = $1", routed["order_id"])
    assert [float(f["qty"]) for f in fills] == [100.0]
    # Another member's stream cannot book this member's order.
    other = await make_user(kyc_level=2)
    assert await broker_service.apply_order_state(desk.platform, late, other.id) == []


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
    desk: Desk, make_user: MakeUser, alpaca: AlpacaSimulator, pool: asyncpg.Pool
) -> None:
    await desk.tick()
    mentor = await make_user(role=Role.MENTOR)
    mentee, _ = await mirroring_mentee(desk, make_user, mentor)
    await link_and_opt_in(desk, mentee, alpaca.open_account())
    await publish(desk, mentor, order_type="limit", entry_price=95)
    worker = Worker(desk.platform)
    await worker.start()
    try:
        [routed] = await wait_until(lambda: routed_status(pool, "sent"), "the routed order sent")
    finally:
        await worker.stop()
    [placed] = alpaca.orders.values()
    assert (placed.type, placed.limit_price) == ("limit", "95")
    response = await desk.client.post(
        f"{BROKER}/orders/{routed['order_id']}/cancel", headers=mentee.headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled"
    assert placed.status == "canceled"
    paper = await pool.fetchrow("SELECT * FROM paper_orders WHERE id = $1", routed["order_id"])
    assert (paper["status"], float(paper["filled_qty"])) == ("cancelled", 0.0)
    again = await desk.client.post(
        f"{BROKER}/orders/{routed['order_id']}/cancel", headers=mentee.headers
    )
    assert again.status_code == 409


async def test_an_order_alpaca_refuses_ends_rejected_with_its_reason_and_is_not_sent_again(
    desk: Desk, make_user: MakeUser, alpaca: AlpacaSimulator, pool: asyncpg.Pool
) -> None:
    await desk.tick()
    mentor = await make_user(role=Role.MENTOR)
    mentee, _ = await mirroring_mentee(desk, make_user, mentor)
    await link_and_opt_in(desk, mentee, alpaca.open_account())
    alpaca.refuse_next = "insufficient buying power"
    await publish(desk, mentor)
    worker = Worker(desk.platform)
    await worker.start()
    try:
        [routed] = await wait_until(lambda: routed_status(pool, "rejected"), "the refusal")
    finally:
        await worker.stop()
    assert routed["status_reason"] == "Alpaca refused: insufficient buying power"
    paper = await pool.fetchrow("SELECT * FROM paper_orders WHERE id = $1", routed["order_id"])
    assert (paper["status"], paper["status_reason"]) == ("rejected", routed["status_reason"])
    assert len(alpaca.order_posts) == 1
    assert alpaca.orders == {}


async def test_a_corrected_signal_withdraws_its_unfilled_copy_from_the_broker(
    desk: Desk, make_user: MakeUser, alpaca: AlpacaSimulator, pool: asyncpg.Pool
) -> None:
    await desk.tick()
    mentor = await make_user(role=Role.MENTOR)
    mentee, _ = await mirroring_mentee(desk, make_user, mentor)
    await link_and_opt_in(desk, mentee, alpaca.open_account())
    original = await publish(desk, mentor, order_type="limit", entry_price=95)
    worker = Worker(desk.platform)
    await worker.start()
    try:
        [routed] = await wait_until(lambda: routed_status(pool, "sent"), "the routed order sent")
        await publish(desk, mentor, order_type="limit", entry_price=94, corrects_id=original["id"])
        [ended] = await wait_until(lambda: routed_status(pool, "cancelled"), "the withdrawal")
    finally:
        await worker.stop()
    assert ended["order_id"] == routed["order_id"]
    [placed] = [o for o in alpaca.orders.values() if o.limit_price == "95"]
    assert placed.status == "canceled"
    paper = await pool.fetchrow("SELECT status FROM paper_orders WHERE id = $1", routed["order_id"])
    assert paper["status"] == "cancelled"
