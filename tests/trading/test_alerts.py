"""TradingView alerts in: the mentor's secret webhook (shown once, stored hashed,
rotated and revoked), alerts read as JSON whatever their content type and turned into
signal broadcasts that reach subscribers, duplicates answered with the first receipt
(also when sent twenty times at once), refusals naming the field, the per-mentor rate
limit, and the alert-to-broadcast latency in the track record."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import msgspec
import pytest

from dracarys.app import create_app
from dracarys.clock import ManualClock
from dracarys.identity import Role
from dracarys.platform import Platform
from tests.conftest import make_settings
from tests.support import AppClient, TestUser
from tests.trading.conftest import API, Desk
from tests.trading.test_signals import wait_for_mirrors
from workers.runtime import Worker

MakeUser = Callable[..., Awaitable[TestUser]]


def alert(**fields: Any) -> dict[str, Any]:
    return {"symbol": "XYZ", "side": "buy", "price": 100.0, **fields}


def stamp(moment: datetime) -> str:
    """As TradingView writes {{timenow}}: UTC to the second, with a Z."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


async def issue(client: AppClient, mentor: TestUser) -> dict[str, Any]:
    response = await client.post(f"{API}/alert-webhook", headers=mentor.headers)
    assert response.status_code == 201, response.text
    issued: dict[str, Any] = response.json()
    return issued


async def send(client: AppClient, url: str, body: Any, content_type: str = "text/plain") -> Any:
    """Post as TradingView does: the message as the body, `text/plain` unless told."""
    content = body if isinstance(body, bytes) else msgspec.json.encode(body)
    return await client.post(url, content=content, headers={"Content-Type": content_type})


def path_of(url: str) -> str:
    return url[url.index("/hooks/tv/") :]


async def received(client: AppClient, mentor: TestUser) -> list[dict[str, Any]]:
    response = await client.get(f"{API}/alerts", headers=mentor.headers)
    assert response.status_code == 200, response.text
    alerts: list[dict[str, Any]] = response.json()
    return alerts


async def test_a_valid_alert_is_broadcast_to_a_subscriber_in_either_content_type(
    desk: Desk, make_user: MakeUser
) -> None:
    await desk.tick()  # XYZ closes at 100
    mentor = await make_user(role=Role.MENTOR)
    subscriber = await make_user()
    await desk.acknowledge(subscriber)
    subscribed = await desk.client.post(
        f"{API}/mentors/{mentor.id}/subscriptions",
        json={},
        headers={**subscriber.headers, "Idempotency-Key": f"sub-{uuid.uuid4()}"},
    )
    assert subscribed.status_code == 201, subscribed.text
    issued = await issue(desk.client, mentor)
    assert issued["url"].endswith("/hooks/tv/" + issued["token"])
    assert '"side": "{{strategy.order.action}}"' in issued["template"]
    hook = path_of(issued["url"])

    first = await send(
        desk.client, hook, alert(stop_loss=95, take_profit=110, alert_id="a-1", side="BUY")
    )
    assert first.status_code == 201, first.text
    receipt = first.json()
    assert (receipt["outcome"], receipt["duplicate"]) == ("broadcast", False)
    second = await send(
        desk.client,
        hook,
        alert(side="sell", price="101.5", comment="Lower high at resistance"),
        content_type="application/json",
    )
    assert second.status_code == 201, second.text

    # The subscriber reads both as the mentor's signals, and both went out live.
    listed = await desk.client.get(f"{API}/mentors/{mentor.id}/signals", headers=subscriber.headers)
    signals = {s["id"]: s for s in listed.json()["signals"]}
    broadcast = signals[receipt["signal_id"]]
    assert (broadcast["side"], broadcast["stop_loss"], broadcast["take_profit"]) == (
        "buy",
        95.0,
        110.0,
    )
    assert broadcast["rationale"] == "TradingView alert: buy XYZ at 100"
    assert signals[second.json()["signal_id"]]["rationale"] == "Lower high at resistance"
    hub = desk.client.app.state.platform.streams
    frames = (await hub.catch_up(f"signals:{mentor.id}", 0)).frames
    assert [receipt["signal_id"] in frame for _, frame in frames] == [True, False]
    # Traded on the signal book as a typed-in signal is.
    orders = await desk.fetch("SELECT signal_id FROM paper_orders WHERE role = 'entry'")
    assert {str(o["signal_id"]) for o in orders} == set(signals)
    assert [a["outcome"] for a in await received(desk.client, mentor)] == ["broadcast"] * 2


async def test_the_token_is_stored_hashed_shown_once_and_rotation_or_revocation_retires_it(
    desk: Desk, make_user: MakeUser
) -> None:
    await desk.tick()
    mentor = await make_user(role=Role.MENTOR)
    mentee = await make_user()
    assert (
        await desk.client.post(f"{API}/alert-webhook", headers=mentee.headers)
    ).status_code == 403
    unknown = await send(desk.client, f"/hooks/tv/{'x' * 43}", alert())
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("application/problem+json")

    issued = await issue(desk.client, mentor)
    [row] = await desk.fetch("SELECT token_hash, token_hint FROM alert_webhooks")
    assert bytes(row["token_hash"]) == hashlib.sha256(issued["token"].encode()).digest()
    assert row["token_hint"] == issued["token"][-4:]
    shown = (await desk.client.get(f"{API}/alert-webhook", headers=mentor.headers)).json()
    assert shown["active"] is True
    assert issued["token"] not in msgspec.json.encode(shown).decode()

    rotated = await issue(desk.client, mentor)
    assert rotated["token"] != issued["token"]
    assert (await send(desk.client, path_of(issued["url"]), alert())).status_code == 404
    assert (await send(desk.client, path_of(rotated["url"]), alert())).status_code == 201

    revoked = await desk.client.delete(f"{API}/alert-webhook", headers=mentor.headers)
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["active"] is False
    gone = await send(desk.client, path_of(rotated["url"]), alert(price=101))
    assert gone.status_code == 404
    assert len(await desk.fetch("SELECT id FROM signals")) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (alert(side="hold"), "side"),
        (alert(symbol="NOPE"), "symbol"),
        (alert(price=-3), "price"),
        (alert(price="cheap"), "price"),
        ({"symbol": "XYZ", "side": "buy"}, "price"),
        (alert(stop_loss=120), "stop_loss"),
        (alert(stoploss=95), "stoploss"),
        (alert(time="2020-01-01T00:00:00Z"), "time"),
        ([1, 2], "body"),
        (b"{not json", "body"),
    ],
)
async def test_a_bad_field_is_refused_naming_it_and_listed_with_the_reason(
    desk: Desk, make_user: MakeUser, body: Any, field: str
) -> None:
    await desk.tick()
    mentor = await make_user(role=Role.MENTOR)
    hook = path_of((await issue(desk.client, mentor))["url"])
    response = await send(desk.client, hook, body)
    assert response.status_code in (400, 422), response.text
    problem = response.json()
    assert problem["errors"][0]["field"] == field
    assert "$." not in problem["detail"]
    assert await desk.fetch("SELECT id FROM signals") == []
    [listed] = await received(desk.client, mentor)
    assert (listed["outcome"], listed["signal_id"]) == ("refused", None)
    assert listed["reason"] == problem["detail"]


async def test_an_oversized_body_is_refused_with_413_and_nothing_is_stored(
    desk: Desk, make_user: MakeUser
) -> None:
    mentor = await make_user(role=Role.MENTOR)
    hook = path_of((await issue(desk.client, mentor))["url"])
    response = await send(desk.client, hook, alert(comment="x" * 5000))
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/problem+json")
    assert await desk.fetch("SELECT id FROM signals") == []


async def test_the_same_alert_sent_twenty_times_at_once_is_broadcast_once(
    desk: Desk, make_user: MakeUser
) -> None:
    await desk.tick()
    mentor = await make_user(role=Role.MENTOR)
    hook = path_of((await issue(desk.client, mentor))["url"])
    body = alert(alert_id="strategy-7-entry")
    responses = await asyncio.gather(*(send(desk.client, hook, body) for _ in range(20)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 19 + [201], [r.text for r in responses]
    assert {r.json()["signal_id"] for r in responses} == {
        r.json()["signal_id"] for r in responses if r.status_code == 201
    }
    assert len(await desk.fetch("SELECT id FROM signals")) == 1
    hub = desk.client.app.state.platform.streams
    assert len((await hub.catch_up(f"signals:{mentor.id}", 0)).frames) == 1
    outcomes = [a["outcome"] for a in await received(desk.client, mentor)]
    assert sorted(outcomes) == ["broadcast"] + ["duplicate"] * 19

    # Without an alert_id the payload is the key: the same one again is a duplicate,
    # a different price is a new signal, and after the window the same one is new.
    plain = alert(price=100.25)
    assert (await send(desk.client, hook, plain)).status_code == 201
    again = await send(desk.client, hook, plain)
    assert (again.status_code, again.json()["duplicate"]) == (200, True)
    assert (await send(desk.client, hook, alert(price=100.5))).status_code == 201
    desk.clock.advance(timedelta(seconds=desk.platform.settings.alert_dedupe_window_s + 1))
    assert (await send(desk.client, hook, plain)).status_code == 201
    assert len(await desk.fetch("SELECT id FROM signals")) == 4


async def test_alerts_over_the_mentors_limit_are_refused_with_429(
    desk: Desk, make_user: MakeUser, database_url: str, tmp_path: Any, clock: ManualClock
) -> None:
    await desk.tick()
    mentor = await make_user(role=Role.MENTOR)
    other = await make_user(role=Role.MENTOR)
    settings = make_settings(database_url, tmp_path, DRACARYS_ALERTS_PER_MINUTE="3")
    async with AppClient(create_app(settings, clock=clock)) as client:
        hook = path_of((await issue(client, mentor))["url"])
        other_hook = path_of((await issue(client, other))["url"])
        for n in range(3):
            assert (await send(client, hook, alert(price=100 + n))).status_code == 201
        refused = await send(client, hook, alert(price=110))
        assert refused.status_code == 429, refused.text
        assert int(refused.headers["Retry-After"]) > 0
        assert "alerts a minute" in refused.json()["detail"]
        # A duplicate of a broadcast still gets its receipt; another mentor is unaffected.
        assert (await send(client, hook, alert(price=100))).status_code == 200
        assert (await send(client, other_hook, alert())).status_code == 201
        outcomes = [a["outcome"] for a in await received(client, mentor)]
    assert outcomes == ["duplicate", "refused", "broadcast", "broadcast", "broadcast"]
    assert len(await desk.fetch("SELECT id FROM signals")) == 4


async def test_the_alert_to_broadcast_latency_is_recorded_and_summarised_in_the_track_record(
    desk: Desk, make_user: MakeUser
) -> None:
    await desk.tick()
    mentor = await make_user(role=Role.MENTOR)
    hook = path_of((await issue(desk.client, mentor))["url"])
    now = desk.clock.now().replace(microsecond=0)
    desk.clock.set(now)
    lags_s = [2, 1, 4, 3, 30]
    for n, lag in enumerate(lags_s):
        response = await send(
            desk.client, hook, alert(price=100 + n, time=stamp(now - timedelta(seconds=lag)))
        )
        assert response.status_code == 201, response.text
        assert response.json()["latency_ms"] == lag * 1000
    # No time of its own: timed from its arrival (0 on this clock).
    assert (await send(desk.client, hook, alert(price=99))).json()["latency_ms"] == 0
    rows = await desk.fetch("SELECT latency_ms FROM signal_alert_latencies ORDER BY latency_ms")
    assert [r["latency_ms"] for r in rows] == [0, 1000, 2000, 3000, 4000, 30000]
    assert [a["latency_ms"] for a in await received(desk.client, mentor)] == [
        0,
        30000,
        3000,
        4000,
        1000,
        2000,
    ]
    record = (
        await desk.client.get(f"{API}/mentors/{mentor.id}/track-record", headers=mentor.headers)
    ).json()
    assert record["alert_signals"] == 6
    assert record["median_alert_latency_ms"] == 2500.0
    assert record["p95_alert_latency_ms"] == 30000.0
    # A manual signal adds nothing to the alert latency figures.
    manual = await desk.client.post(
        f"{API}/signals",
        json={"symbol": "XYZ", "side": "buy", "rationale": "By hand."},
        headers=mentor.headers,
    )
    assert manual.status_code == 201
    record = (
        await desk.client.get(f"{API}/mentors/{mentor.id}/track-record", headers=mentor.headers)
    ).json()
    assert (record["signals"], record["alert_signals"]) == (7, 6)


async def test_a_mentor_who_is_no_longer_one_has_no_webhook(
    desk: Desk, make_user: MakeUser, platform: Platform
) -> None:
    await desk.tick()
    mentor = await make_user(role=Role.MENTOR)
    hook = path_of((await issue(desk.client, mentor))["url"])
    async with platform.pool.acquire() as conn:
        await conn.execute("UPDATE users SET role = 'mentee' WHERE id = $1", mentor.id)
    assert (await send(desk.client, hook, alert())).status_code == 404


async def test_an_alert_signal_is_mirrored_into_a_subscribers_portfolio_like_a_typed_one(
    desk: Desk, make_user: MakeUser
) -> None:
    await desk.tick()  # XYZ closes at 100
    mentor = await make_user(role=Role.MENTOR)
    subscriber = await make_user()
    await desk.acknowledge(subscriber)
    portfolio = await desk.portfolio(subscriber)
    subscribed = await desk.client.post(
        f"{API}/mentors/{mentor.id}/subscriptions",
        json={
            "mirror": {
                "portfolio_id": portfolio["id"],
                "scaling": "fixed_units",
                "scaling_value": 3,
            }
        },
        headers={**subscriber.headers, "Idempotency-Key": f"sub-{uuid.uuid4()}"},
    )
    assert subscribed.status_code == 201, subscribed.text
    hook = path_of((await issue(desk.client, mentor))["url"])
    sent = await send(desk.client, hook, alert(stop_loss=95, take_profit=110))
    assert sent.status_code == 201, sent.text

    worker = Worker(desk.platform)
    await worker.start()
    try:
        [mirror] = await wait_for_mirrors(desk.platform, 1)
    finally:
        await worker.stop()
    assert str(mirror["signal_id"]) == sent.json()["signal_id"]
    assert (float(mirror["qty"]), mirror["skipped_reason"]) == (3.0, None)
    legs = await desk.fetch(
        "SELECT role FROM paper_orders WHERE portfolio_id = $1 ORDER BY role",
        uuid.UUID(portfolio["id"]),
    )
    assert [leg["role"] for leg in legs] == ["entry", "stop_loss", "take_profit"]
