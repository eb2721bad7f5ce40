"""Paper accounts through the API and the engine: disclaimer gating, risk limits, every
order type's fills persisted with positions and cash, brackets, partial fills, time in
force, cancel/replace, reset, performance, streams and events."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest

from dracarys.errors import Forbidden
from dracarys.identity import CurrentUser, Role
from dracarys.trading import service
from dracarys.trading.models import OrderInput, OrderKind, Side
from dracarys.trading.performance import publish_leaderboards
from tests.support import TestUser
from tests.trading.conftest import API, Desk

MakeUser = Callable[..., Awaitable[TestUser]]
Mark = Callable[[TestUser], Awaitable[None]]


async def ready_trader(desk: Desk, make_user: MakeUser, **portfolio: Any) -> tuple[TestUser, str]:
    user = await make_user()
    await desk.acknowledge(user)
    created = await desk.portfolio(user, **portfolio)
    return user, created["id"]


async def test_first_paper_trade_needs_the_disclaimer_acknowledged(
    desk: Desk, make_user: MakeUser
) -> None:
    user = await make_user()
    portfolio = await desk.portfolio(user)
    refused = await desk.order(
        user, portfolio["id"], side="buy", kind="limit", qty=1, limit_price=99
    )
    assert refused.status_code == 403
    assert "acknowledge the risk disclaimer (version 1)" in refused.json()["detail"]
    assert await desk.fetch("SELECT 1 FROM paper_orders") == []

    disclaimer = (await desk.client.get(f"{API}/disclaimer", headers=user.headers)).json()
    assert disclaimer["version"] == 1
    assert "not investment advice" in disclaimer["body"]
    await desk.acknowledge(user)
    rows = await desk.fetch("SELECT * FROM disclaimer_acknowledgements WHERE user_id = $1", user.id)
    assert [(r["version"], r["acknowledged_at"]) for r in rows] == [(1, desk.clock.now())]
    accepted = await desk.order(
        user, portfolio["id"], side="buy", kind="limit", qty=1, limit_price=99
    )
    assert accepted.status_code == 201


async def test_acknowledging_an_old_version_is_refused(desk: Desk, make_user: MakeUser) -> None:
    user = await make_user()
    response = await desk.client.post(
        f"{API}/disclaimer/acknowledgements", json={"version": 7}, headers=user.headers
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "version"


async def test_novice_cannot_sell_short(desk: Desk, make_user: MakeUser) -> None:
    await desk.tick()
    user, portfolio_id = await ready_trader(desk, make_user)
    response = await desk.order(user, portfolio_id, side="sell", kind="market", qty=5)
    assert response.status_code == 403
    assert "novice accounts cannot sell short" in response.json()["detail"]


async def test_novice_cannot_use_leverage_above_one(desk: Desk, make_user: MakeUser) -> None:
    await desk.tick()
    user, portfolio_id = await ready_trader(desk, make_user, starting_cash_minor=100_000)
    # 1,000.00 of equity; 11 units at 100 would be 1.1×.
    response = await desk.order(user, portfolio_id, side="buy", kind="market", qty=11)
    assert response.status_code == 403
    assert "leverage of 1.10×" in response.json()["detail"]
    assert "novice accounts are limited to 1×" in response.json()["detail"]
    assert (
        await desk.order(user, portfolio_id, side="buy", kind="market", qty=10)
    ).status_code == 201


async def test_experienced_accounts_may_short_and_lever_up_to_the_cap(
    desk: Desk, make_user: MakeUser, experienced: Mark
) -> None:
    await desk.tick()
    user, portfolio_id = await ready_trader(
        desk, make_user, starting_cash_minor=100_000, max_position_pct=1000
    )
    await experienced(user)
    assert (
        await desk.order(user, portfolio_id, side="sell", kind="market", qty=30)
    ).status_code == 201
    too_much = await desk.order(user, portfolio_id, side="sell", kind="market", qty=11)
    assert too_much.status_code == 403
    assert "the limit is 4×" in too_much.json()["detail"]


async def test_position_size_is_capped_per_account(desk: Desk, make_user: MakeUser) -> None:
    await desk.tick()
    user, portfolio_id = await ready_trader(desk, make_user, max_position_pct=10)
    response = await desk.order(user, portfolio_id, side="buy", kind="market", qty=101)
    assert response.status_code == 403
    assert "at most 10% per position" in response.json()["detail"]


MALFORMED: list[tuple[dict[str, Any], str]] = [
    ({"side": "buy", "kind": "limit", "qty": 1}, "limit_price"),
    ({"side": "buy", "kind": "market", "qty": 1, "stop_price": 90}, "stop_price"),
    ({"side": "buy", "kind": "stop_limit", "qty": 1, "stop_price": 101}, "limit_price"),
    ({"side": "buy", "kind": "limit", "qty": 1.5, "limit_price": 99}, "qty"),
    ({"side": "buy", "kind": "limit", "qty": 1, "limit_price": 99.001}, "limit_price"),
    (
        {
            "side": "buy",
            "kind": "limit",
            "qty": 1,
            "limit_price": 99,
            "bracket": {"stop_loss": 99.5},
        },
        "bracket.stop_loss",
    ),
    ({"symbol": "NOPE", "side": "buy", "kind": "market", "qty": 1}, "symbol"),
    ({"side": "buy", "kind": "market", "qty": 1, "role": "exit"}, "role"),
]


async def test_malformed_orders_are_refused_naming_the_field(
    desk: Desk, make_user: MakeUser
) -> None:
    await desk.tick()
    user, portfolio_id = await ready_trader(desk, make_user)
    for body, field in MALFORMED:
        response = await desk.order(user, portfolio_id, **body)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["errors"][0]["field"] == field, body
    assert await desk.fetch("SELECT 1 FROM paper_orders") == []


async def test_every_order_type_fills_on_the_feed_and_books_cash_and_position(
    desk: Desk, make_user: MakeUser
) -> None:
    await desk.tick()  # day 1 closes at 100
    user, pid = await ready_trader(desk, make_user, preset="frictionless")
    market = await desk.placed(user, pid, side="buy", kind="market", qty=10)
    limit = await desk.placed(user, pid, side="buy", kind="limit", qty=5, limit_price=98.5)
    stop = await desk.placed(user, pid, side="buy", kind="stop", qty=3, stop_price=105.5)
    stop_limit = await desk.placed(
        user, pid, side="buy", kind="stop_limit", qty=2, stop_price=109, limit_price=109.5
    )
    sell = await desk.placed(user, pid, side="sell", kind="limit", qty=4, limit_price=111.5)
    await desk.run(4)

    fills = {
        r["order_id"]: (r["bar_seq"], float(r["qty"]), float(r["price"]), r["preset"])
        for r in await desk.fetch("SELECT * FROM paper_fills")
    }
    assert fills == {
        _uuid(market): (2, 10.0, 100.0, "frictionless"),
        _uuid(limit): (2, 5.0, 98.5, "frictionless"),
        _uuid(stop): (3, 3.0, 105.5, "frictionless"),
        _uuid(stop_limit): (4, 2.0, 109.0, "frictionless"),
        _uuid(sell): (5, 4.0, 111.5, "frictionless"),
    }
    [position] = await desk.fetch("SELECT * FROM paper_positions")
    assert float(position["qty"]) == 16
    assert float(position["avg_price"]) == pytest.approx(101.35)
    assert position["realized_pnl_minor"] == 4060  # 4 × (111.5 − 101.35)
    [portfolio] = await desk.fetch("SELECT cash_minor FROM paper_portfolios")
    assert portfolio["cash_minor"] == 10_000_000 - 202_700 + 44_600
    statuses = {r["status"] for r in await desk.fetch("SELECT status FROM paper_orders")}
    assert statuses == {"filled"}
    events = await desk.fetch("SELECT payload FROM outbox WHERE topic = 'paper.order_filled'")
    assert len(events) == 5
    assert {e["payload"]["user_id"] for e in events} == {str(user.id)}


def _uuid(placed: dict[str, Any]) -> uuid.UUID:
    return uuid.UUID(placed["order"]["id"])


async def test_realistic_preset_slips_market_fills_and_is_recorded_on_the_fill(
    desk: Desk, make_user: MakeUser
) -> None:
    await desk.tick()
    user, pid = await ready_trader(desk, make_user, preset="realistic")
    await desk.placed(user, pid, side="buy", kind="market", qty=10)
    await desk.tick()
    [fill] = await desk.fetch("SELECT * FROM paper_fills")
    assert (float(fill["price"]), float(fill["reference_price"])) == (100.05, 100.0)
    assert float(fill["slippage_bps"]) == pytest.approx(5.0)
    assert fill["preset"] == "realistic"


async def test_bracket_take_profit_fills_and_cancels_the_stop_loss(
    desk: Desk, make_user: MakeUser
) -> None:
    await desk.tick()
    user, pid = await ready_trader(desk, make_user, preset="frictionless")
    placed = await desk.placed(
        user, pid, side="buy", kind="market", qty=10,
        bracket={"stop_loss": 95, "take_profit": 104.5},
    )  # fmt: skip
    assert [leg["status"] for leg in placed["legs"]] == ["waiting_parent", "waiting_parent"]
    await desk.tick()  # entry fills at 100; legs start working
    legs = {
        r["role"]: r
        for r in await desk.fetch("SELECT * FROM paper_orders WHERE parent_id IS NOT NULL")
    }
    assert {role: (r["status"], float(r["qty"])) for role, r in legs.items()} == {
        "stop_loss": ("working", 10.0),
        "take_profit": ("working", 10.0),
    }
    await desk.tick()  # high 106 reaches the target
    legs = {
        r["role"]: r
        for r in await desk.fetch("SELECT * FROM paper_orders WHERE parent_id IS NOT NULL")
    }
    assert legs["take_profit"]["status"] == "filled"
    assert legs["stop_loss"]["status"] == "cancelled"
    assert legs["stop_loss"]["status_reason"] == "the other bracket leg filled"
    [position] = await desk.fetch("SELECT * FROM paper_positions")
    assert (float(position["qty"]), position["realized_pnl_minor"]) == (0.0, 4500)


async def test_large_order_fills_partially_across_bars(desk: Desk, make_user: MakeUser) -> None:
    await desk.tick()
    user, pid = await ready_trader(desk, make_user, starting_cash_minor=10**13)
    placed = await desk.placed(user, pid, side="buy", kind="limit", qty=150_000, limit_price=101)
    await desk.tick()
    [order] = await desk.fetch("SELECT * FROM paper_orders")
    assert (order["status"], float(order["filled_qty"])) == ("working", 100_000.0)
    await desk.tick()
    fills = await desk.fetch("SELECT bar_seq, qty, price FROM paper_fills ORDER BY bar_seq")
    assert [(r["bar_seq"], float(r["qty"]), float(r["price"])) for r in fills] == [
        (2, 100_000.0, 100.0),
        (3, 50_000.0, 101.0),
    ]
    [order] = await desk.fetch("SELECT * FROM paper_orders WHERE id = $1", _uuid(placed))
    assert order["status"] == "filled"
    assert float(order["avg_fill_price"]) == pytest.approx(100.333333, rel=1e-6)


async def test_day_orders_expire_and_ioc_remainders_are_cancelled(
    desk: Desk, make_user: MakeUser
) -> None:
    await desk.tick()
    user, pid = await ready_trader(desk, make_user)
    day = await desk.placed(user, pid, side="buy", kind="limit", qty=1, limit_price=97, tif="day")
    ioc = await desk.placed(user, pid, side="buy", kind="limit", qty=1, limit_price=90, tif="ioc")
    gtc = await desk.placed(user, pid, side="buy", kind="limit", qty=1, limit_price=90)
    day_bracket = await desk.placed(
        user, pid, side="buy", kind="limit", qty=1, limit_price=97, tif="day",
        bracket={"stop_loss": 90, "take_profit": 110},
    )  # fmt: skip
    await desk.tick()
    rows = {r["id"]: r for r in await desk.fetch("SELECT * FROM paper_orders")}
    assert rows[_uuid(day)]["status"] == "expired"
    assert rows[_uuid(day)]["status_reason"] == "the trading day ended"
    assert rows[_uuid(ioc)]["status"] == "cancelled"
    assert "immediate-or-cancel" in rows[_uuid(ioc)]["status_reason"]
    assert rows[_uuid(gtc)]["status"] == "working"
    assert rows[_uuid(day_bracket)]["status"] == "expired"
    legs = [r for r in rows.values() if r["parent_id"] == _uuid(day_bracket)]
    assert [(r["status"], r["status_reason"]) for r in legs] == [
        ("cancelled", "the entry ended without a fill")
    ] * 2
    assert await desk.fetch("SELECT 1 FROM paper_fills") == []


async def test_cancel_and_replace_take_effect_before_the_next_tick(
    desk: Desk, make_user: MakeUser
) -> None:
    await desk.tick()
    user, pid = await ready_trader(desk, make_user)
    first = await desk.placed(user, pid, side="buy", kind="limit", qty=5, limit_price=95)
    replaced = await desk.client.post(
        f"{API}/orders/{first['order']['id']}/replace",
        json={"limit_price": 97},
        headers=user.headers,
    )
    assert replaced.status_code == 201, replaced.text
    successor = replaced.json()["order"]
    assert (successor["limit_price"], successor["replaces_id"]) == (97.0, first["order"]["id"])
    cancelled = await desk.client.post(
        f"{API}/orders/{successor['id']}/cancel", headers=user.headers
    )
    assert [o["status"] for o in cancelled.json()] == ["cancelled"]
    again = await desk.client.post(f"{API}/orders/{successor['id']}/cancel", headers=user.headers)
    assert again.status_code == 409
    await desk.run(5)  # lows reach 90: neither order may fill
    assert await desk.fetch("SELECT 1 FROM paper_fills") == []
    other = await make_user()
    stolen = await desk.client.post(
        f"{API}/orders/{first['order']['id']}/cancel", headers=other.headers
    )
    assert stolen.status_code == 403


async def test_reset_cancels_orders_and_restores_the_starting_cash(
    desk: Desk, make_user: MakeUser
) -> None:
    await desk.tick()
    user, pid = await ready_trader(desk, make_user, preset="frictionless")
    await desk.placed(user, pid, side="buy", kind="market", qty=10)
    resting = await desk.placed(user, pid, side="buy", kind="limit", qty=1, limit_price=50)
    await desk.tick()
    reset = await desk.client.post(f"{API}/portfolios/{pid}/reset", headers=user.headers)
    assert reset.status_code == 200
    assert (reset.json()["cash_minor"], reset.json()["epoch"]) == (10_000_000, 1)
    assert await desk.fetch("SELECT 1 FROM paper_positions") == []
    [order] = await desk.fetch("SELECT status FROM paper_orders WHERE id = $1", _uuid(resting))
    assert order["status"] == "cancelled"
    performance = (
        await desk.client.get(f"{API}/portfolios/{pid}/performance", headers=user.headers)
    ).json()
    assert (performance["fills"], performance["equity_curve"]) == (0, [])


async def test_performance_reports_curve_drawdown_sharpe_and_positions(
    desk: Desk, make_user: MakeUser
) -> None:
    await desk.tick()
    user, pid = await ready_trader(desk, make_user, preset="frictionless")
    await desk.placed(user, pid, side="buy", kind="market", qty=100)
    await desk.run(5)  # buys at 100; closes 101, 105, 110, 94, 95
    response = await desk.client.get(f"{API}/portfolios/{pid}/performance", headers=user.headers)
    body = response.json()
    assert [p["equity_minor"] for p in body["equity_curve"]] == [
        10_010_000, 10_050_000, 10_100_000, 9_940_000, 9_950_000,
    ]  # fmt: skip
    # Drawdown from the 101,000.00 peak to 99,400.00.
    assert body["max_drawdown_pct"] == pytest.approx(100 * 1_600 / 101_000)
    assert body["equity_curve"][3]["drawdown_pct"] == pytest.approx(100 * 1_600 / 101_000)
    assert body["sharpe"] is not None
    assert body["open_positions"][0]["qty"] == 100
    assert body["open_positions"][0]["unrealized_pnl_minor"] == -50_000
    other = await make_user()
    hidden = await desk.client.get(f"{API}/portfolios/{pid}/performance", headers=other.headers)
    assert hidden.status_code == 403


async def test_fills_and_equity_are_published_on_the_portfolio_stream(
    desk: Desk, make_user: MakeUser
) -> None:
    await desk.tick()
    user, pid = await ready_trader(desk, make_user)
    await desk.placed(user, pid, side="buy", kind="market", qty=1)
    await desk.tick()
    caught = await desk.platform.streams.catch_up(f"portfolio:{pid}", 0)
    kinds = [msgspec.json.decode(frame)["data"]["type"] for _, frame in caught.frames]
    assert "paper.order" in kinds
    assert "paper.fill" in kinds
    assert "paper.equity" in kinds
    market = await desk.platform.streams.catch_up("market:XYZ", 0)
    assert len(market.frames) == 2


async def test_leaderboards_rank_portfolios_by_sharpe_and_publish(
    desk: Desk, make_user: MakeUser
) -> None:
    await desk.tick()
    steady, steady_pid = await ready_trader(desk, make_user, preset="frictionless")
    idle, idle_pid = await ready_trader(desk, make_user, preset="frictionless")
    await desk.placed(steady, steady_pid, side="buy", kind="market", qty=100)
    await desk.placed(idle, idle_pid, side="buy", kind="limit", qty=1, limit_price=1)
    await desk.run(3)
    response = await desk.client.get(
        f"{API}/leaderboards/portfolios?period=all", headers=steady.headers
    )
    entries = response.json()["entries"]
    assert [e["id"] for e in entries] == [steady_pid, idle_pid]
    assert entries[0]["sharpe"] > 0
    assert entries[1]["sharpe"] is None
    await publish_leaderboards(desk.platform)
    caught = await desk.platform.streams.catch_up("leaderboard:portfolios-all", 0)
    assert len(caught.frames) == 1
    bad = await desk.client.get(
        f"{API}/leaderboards/portfolios?period=year", headers=steady.headers
    )
    assert bad.status_code == 422


async def test_mentor_sees_a_shared_portfolio_others_do_not(
    desk: Desk, make_user: MakeUser
) -> None:
    owner, pid = await ready_trader(desk, make_user)
    mentor = await make_user(role=Role.MENTOR)
    stranger = await make_user()
    shared = await desk.client.put(
        f"{API}/portfolios/{pid}/sharing",
        json={"mentor_ids": [str(mentor.id)]},
        headers=owner.headers,
    )
    assert shared.status_code == 200
    assert (
        await desk.client.get(f"{API}/portfolios/{pid}", headers=mentor.headers)
    ).status_code == 200
    assert (
        await desk.client.get(f"{API}/portfolios/{pid}", headers=stranger.headers)
    ).status_code == 403
    not_mentor = await desk.client.put(
        f"{API}/portfolios/{pid}/sharing",
        json={"mentor_ids": [str(stranger.id)]},
        headers=owner.headers,
    )
    assert not_mentor.status_code == 422


async def test_concurrent_orders_cannot_together_exceed_the_leverage_limit(
    desk: Desk, make_user: MakeUser
) -> None:
    await desk.tick()  # price 100
    user, pid = await ready_trader(desk, make_user, starting_cash_minor=100_000)
    trader = CurrentUser(id=user.id, role=Role.MENTEE, session_id=user.session_id)
    body = OrderInput(symbol="XYZ", side=Side.BUY, kind=OrderKind.MARKET, qty=3)

    async def place() -> bool:
        try:
            await service.submit_order(desk.platform, trader, uuid.UUID(pid), body)
        except Forbidden:
            return False
        return True

    outcomes = await asyncio.gather(*(place() for _ in range(20)))
    # 1,000.00 of equity at 1×: three orders of 3 units (900.00), never a fourth.
    assert outcomes.count(True) == 3
    [total] = await desk.fetch("SELECT sum(qty) AS units FROM paper_orders")
    assert float(total["units"]) == 9


async def test_day_order_placed_before_the_feed_starts_lives_through_the_first_day(
    desk: Desk, make_user: MakeUser
) -> None:
    user, pid = await ready_trader(desk, make_user)
    placed = await desk.placed(
        user, pid, side="buy", kind="limit", qty=1, limit_price=90, tif="day"
    )
    await desk.tick()
    [order] = await desk.fetch("SELECT * FROM paper_orders WHERE id = $1", _uuid(placed))
    assert order["status"] == "working"
    assert order["day_ends_at"] == datetime(2026, 1, 2, tzinfo=UTC)
    await desk.tick()
    [order] = await desk.fetch("SELECT * FROM paper_orders WHERE id = $1", _uuid(placed))
    assert order["status"] == "expired"


async def test_a_short_flipped_long_books_the_closed_part_and_reopens_at_the_fill(
    desk: Desk, make_user: MakeUser, experienced: Mark
) -> None:
    await desk.tick()
    user, pid = await ready_trader(desk, make_user, preset="frictionless")
    await experienced(user)
    await desk.placed(user, pid, side="sell", kind="market", qty=10)
    await desk.tick()  # short 10 at 100
    await desk.placed(user, pid, side="buy", kind="market", qty=15)
    await desk.tick()  # buys 15 at 101: closes the short at a loss, then long 5
    [position] = await desk.fetch("SELECT * FROM paper_positions")
    assert float(position["qty"]) == 5
    assert float(position["avg_price"]) == 101
    assert position["realized_pnl_minor"] == -1_000
    [portfolio] = await desk.fetch("SELECT cash_minor FROM paper_portfolios")
    assert portfolio["cash_minor"] == 10_000_000 + 100_000 - 151_500


# Minor units per major unit (ISO 4217), written out rather than asked of dracarys.money.
MINOR_PER_MAJOR = {"JPY": 1, "USD": 100, "BHD": 1_000}


@pytest.mark.parametrize("currency", ["JPY", "USD", "BHD"])
async def test_cash_equity_and_pnl_are_kept_in_the_portfolios_own_minor_units(
    desk: Desk, make_user: MakeUser, currency: str
) -> None:
    """A price is in the portfolio's currency: 100 units at 100 cost 10,000 of it, which
    is ¥10,000 (10,000 minor units) in yen and BHD 10,000 (10,000,000 fils) in dinars."""
    per = MINOR_PER_MAJOR[currency]
    await desk.tick()  # day 1 closes at 100
    user, pid = await ready_trader(
        desk, make_user, currency=currency, starting_cash_minor=20_000 * per, preset="frictionless"
    )
    await desk.placed(user, pid, side="buy", kind="market", qty=100)
    await desk.run(2)  # buys 100 at the open, 100; closes 101 and 105
    [portfolio] = await desk.fetch("SELECT cash_minor FROM paper_portfolios")
    assert portfolio["cash_minor"] == (20_000 - 100 * 100) * per
    performance = (
        await desk.client.get(f"{API}/portfolios/{pid}/performance", headers=user.headers)
    ).json()
    assert [p["equity_minor"] for p in performance["equity_curve"]] == [
        (10_000 + 100 * 101) * per,
        (10_000 + 100 * 105) * per,
    ]
    assert performance["equity_minor"] == (10_000 + 100 * 105) * per
    assert performance["open_positions"][0]["unrealized_pnl_minor"] == 100 * 5 * per

    await desk.placed(user, pid, side="sell", kind="market", qty=100)
    await desk.tick()  # sells 100 at the open, 105
    [position] = await desk.fetch("SELECT qty, realized_pnl_minor FROM paper_positions")
    assert (float(position["qty"]), position["realized_pnl_minor"]) == (0.0, 100 * 5 * per)
    [portfolio] = await desk.fetch("SELECT cash_minor FROM paper_portfolios")
    assert portfolio["cash_minor"] == (20_000 + 100 * 5) * per


async def test_a_portfolio_in_a_currency_iso_4217_does_not_know_is_refused(
    desk: Desk, make_user: MakeUser
) -> None:
    user = await make_user()
    response = await desk.client.post(
        f"{API}/portfolios", json={"name": "Main", "currency": "XYZ"}, headers=user.headers
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "currency"
    assert await desk.fetch("SELECT 1 FROM paper_portfolios") == []
