"""The `/api/v1/stream` WebSocket against the real app on a loopback port: handshake,
authorization per channel, subscriptions, resume, back-pressure, limits and liveness."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta

import asyncpg
import httpx
import msgspec
import pytest
import uvloop
from redis.asyncio import Redis
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from dracarys.app import platform_channel_policies
from dracarys.clock import ManualClock
from dracarys.db import Connection
from dracarys.identity import Role, issue_access_token
from dracarys.realtime import ChannelPolicy, portfolio_policy, signal_feed_policy
from dracarys.settings import Settings
from dracarys.trading import Signal
from streams import channels
from streams.channels import ChannelKind
from streams.client import StreamClient, StreamClosed, StreamEvent, SubscriptionDenied
from streams.protocol import (
    CLOSE_RATE_LIMITED,
    CLOSE_SLOW_CONSUMER,
    CLOSE_TIMEOUT,
    CLOSE_TOO_BIG,
    CLOSE_UNAUTHORIZED,
    SUBPROTOCOL,
    Error,
    Resync,
    Subscribed,
)
from tests.streams.conftest import ALLOWED_ORIGIN, RunningApp, Serve, fast_limits
from tests.support import TestUser, add_instrument, audit_trail

MakeUser = Callable[..., Awaitable[TestUser]]


class Tick(msgspec.Struct, tag="market.tick", tag_field="type"):
    price_minor: int
    note: str = ""


async def events(client: StreamClient, count: int, timeout_s: float = 5.0) -> list[StreamEvent]:
    got: list[StreamEvent] = []
    while len(got) < count:
        item = await client.next(timeout_s)
        if isinstance(item, StreamEvent):
            got.append(item)
    return got


async def closed_code(client: StreamClient, timeout_s: float = 5.0) -> int | None:
    with pytest.raises(StreamClosed) as info:
        while True:
            await client.next(timeout_s)
    return info.value.code


async def test_token_in_first_message_subscribes_and_receives_in_order(
    running: RunningApp, make_user: MakeUser
) -> None:
    user = await make_user()
    async with running.client(user.token) as client:
        assert client.welcome is not None
        assert client.welcome.subject == str(user.id)
        ack = await client.subscribe("market:BTC-USD")
        assert ack.seq == 0
        for price in (100, 101, 102):
            await running.platform.streams.publish("market:BTC-USD", Tick(price_minor=price))
        got = await events(client, 3)
    assert [(e.seq, e.type, e.data["price_minor"]) for e in got] == [
        (1, "market.tick", 100),
        (2, "market.tick", 101),
        (3, "market.tick", 102),
    ]


async def test_token_in_subprotocol_header_is_accepted_and_not_echoed(
    running: RunningApp, make_user: MakeUser
) -> None:
    user = await make_user()
    async with connect(
        running.url,
        subprotocols=[SUBPROTOCOL, f"bearer.{user.token}"],  # type: ignore[list-item]
    ) as ws:
        assert ws.subprotocol == SUBPROTOCOL
        welcome = msgspec.json.decode(await ws.recv())
        assert welcome["op"] == "welcome"
        assert welcome["subject"] == str(user.id)


async def test_bad_token_is_closed_unauthorized(running: RunningApp, make_user: MakeUser) -> None:
    user = await make_user()
    tampered = user.token[:-4] + ("AAAA" if not user.token.endswith("AAAA") else "BBBB")
    for token in (tampered, "not-a-jwt"):
        client = running.client(token)
        with pytest.raises(StreamClosed) as info:
            await client.connect()
        assert info.value.code == CLOSE_UNAUTHORIZED


async def test_token_in_query_string_is_ignored(running: RunningApp, make_user: MakeUser) -> None:
    user = await make_user()
    async with connect(f"{running.url}?token={user.token}") as ws:
        await ws.send(msgspec.json.encode({"op": "subscribe", "channel": "market:X"}))
        with pytest.raises(ConnectionClosed) as info:
            await ws.recv()
    assert info.value.rcvd is not None
    assert info.value.rcvd.code == CLOSE_UNAUTHORIZED


async def test_no_authentication_in_time_is_closed(running: RunningApp) -> None:
    async with connect(running.url) as ws:
        started = time.monotonic()
        with pytest.raises(ConnectionClosed) as info:
            await ws.recv()
    assert info.value.rcvd is not None
    assert info.value.rcvd.code == CLOSE_TIMEOUT
    assert time.monotonic() - started < 3


async def test_foreign_origin_is_refused_at_the_handshake(
    running: RunningApp, make_user: MakeUser
) -> None:
    user = await make_user()
    with pytest.raises(InvalidStatus) as info:
        async with connect(running.url, origin="https://evil.example"):  # type: ignore[arg-type]
            pass
    assert info.value.response.status_code == 403
    async with running.client(user.token, origin=ALLOWED_ORIGIN) as client:
        assert client.welcome is not None


async def test_notifications_are_for_their_recipient_only(
    running: RunningApp, make_user: MakeUser, pool: asyncpg.Pool
) -> None:
    alice, bob = await make_user(), await make_user()
    admin = await make_user(role=Role.ADMIN)
    async with running.client(bob.token) as snoop:
        with pytest.raises(SubscriptionDenied) as denied:
            await snoop.subscribe(channels.notifications(alice.id))
        assert denied.value.error.code == "forbidden"
    async with running.client(alice.token) as client:
        await client.subscribe(channels.notifications(alice.id))
        async with httpx.AsyncClient(base_url=running.http) as http:
            reply = await http.post(
                f"/api/v1/stream/notifications/{alice.id}",
                json={"title": "Payout delayed", "body": "Your payout is on hold for review."},
                headers=admin.headers,
            )
            assert reply.status_code == 202, reply.text
            assert reply.json() == {"channel": channels.notifications(alice.id), "seq": 1}
            refused = await http.post(
                f"/api/v1/stream/notifications/{alice.id}",
                json={"title": "x", "body": "y"},
                headers=bob.headers,
            )
            assert refused.status_code == 403
        (event,) = await events(client, 1)
    assert event.type == "notification"
    assert event.data["title"] == "Payout delayed"
    assert event.data["kind"] == "staff_notice"
    assert await audit_trail(pool, "stream.staff_notice_sent") == [
        (admin.id, f"user:{alice.id}", {"title": "Payout delayed"})
    ]


async def serve_with(
    serve: Serve, settings: Settings, kind: ChannelKind, policy: ChannelPolicy
) -> RunningApp:
    """The app watching channels by the platform's policies, but `policy` for `kind`."""
    return await serve(fast_limits(settings), {**platform_channel_policies(), kind: policy})


async def test_paid_signal_feed_is_refused_to_non_subscribers(
    serve: Serve, settings: Settings, make_user: MakeUser, pool: asyncpg.Pool
) -> None:
    mentor = await make_user(role=Role.MENTOR)
    subscriber, stranger = await make_user(), await make_user()
    feed = channels.signals(mentor.id)
    # Without a subscription query, only the mentor may watch their own feed.
    own_only = await serve_with(serve, settings, ChannelKind.SIGNALS, signal_feed_policy(None))
    async with own_only.client(subscriber.token) as client:
        with pytest.raises(SubscriptionDenied):
            await client.subscribe(feed)

    # Trading's query, stood in for by a table of this test's own.
    await pool.execute(
        "CREATE TABLE test_signal_subscriptions (user_id uuid, mentor_id uuid, active bool)"
    )
    await pool.execute(
        "INSERT INTO test_signal_subscriptions VALUES ($1, $2, true), ($3, $2, false)",
        subscriber.id,
        mentor.id,
        stranger.id,
    )

    async def is_active_subscriber(
        conn: Connection, user_ids: Sequence[uuid.UUID], mentor_id: uuid.UUID
    ) -> set[uuid.UUID]:
        rows = await conn.fetch(
            """SELECT user_id FROM test_signal_subscriptions
               WHERE user_id = ANY($1::uuid[]) AND mentor_id = $2 AND active""",
            list(user_ids),
            mentor_id,
        )
        return {r["user_id"] for r in rows}

    running = await serve_with(
        serve, settings, ChannelKind.SIGNALS, signal_feed_policy(is_active_subscriber)
    )
    async with (
        running.client(subscriber.token) as paid,
        running.client(stranger.token) as lapsed,
        running.client(mentor.token) as own,
    ):
        await paid.subscribe(feed)
        await own.subscribe(feed)
        with pytest.raises(SubscriptionDenied) as denied:
            await lapsed.subscribe(feed)
        assert denied.value.error.code == "forbidden"
        assert "subscribers" in denied.value.error.detail
        await running.platform.streams.publish(feed, Tick(price_minor=1, note="BUY"))
        assert [e.data["note"] for e in await events(paid, 1)] == ["BUY"]
        assert [e.data["note"] for e in await events(own, 1)] == ["BUY"]
        await paid.subscribe("market:OTHER")

        # The subscription lapses while the connection is open: within the re-check
        # interval the feed is taken away with an error frame naming it; the
        # connection and its other channel go on.
        await pool.execute(
            "UPDATE test_signal_subscriptions SET active = false WHERE user_id = $1",
            subscriber.id,
        )
        notice = await paid.next(3)
        assert isinstance(notice, Error)
        assert (notice.channel, notice.code) == (feed, "forbidden")
        assert "subscribers" in notice.detail
        await running.platform.streams.publish(feed, Tick(price_minor=2, note="SELL"))
        await running.platform.streams.publish("market:OTHER", Tick(price_minor=3))
        assert [e.data["note"] for e in await events(own, 1)] == ["SELL"]
        assert [(e.channel, e.data["price_minor"]) for e in await events(paid, 1)] == [
            ("market:OTHER", 3)
        ]


async def test_a_signal_published_through_the_api_reaches_its_mentors_feed_with_public_fields(
    running: RunningApp, make_user: MakeUser, pool: asyncpg.Pool
) -> None:
    await add_instrument(pool)  # "XYZ": a signal must name a listed instrument
    mentor = await make_user(role=Role.MENTOR)
    follower = await make_user()  # no plan: a free feed, open to any signed-in user
    feed = channels.signals(mentor.id)
    published = {
        "symbol": "XYZ",
        "side": "buy",
        "order_type": "limit",
        "entry_price": 100.0,
        "stop_loss": 95.0,
        "take_profit": 110.0,
        "size_hint_pct": 2.5,
        "rationale": "Support held twice.",
    }
    async with running.client(follower.token) as client:
        await client.subscribe(feed)
        async with httpx.AsyncClient(base_url=running.http) as http:
            reply = await http.post(
                "/api/v1/trading/signals", json=published, headers=mentor.headers
            )
        assert reply.status_code == 201, reply.text
        (event,) = await events(client, 1)
    signal = reply.json()
    assert (event.channel, event.seq, event.type) == (feed, 1, "signal")
    assert {k: event.data[k] for k in published} == published
    assert event.data["mentor_id"] == str(mentor.id)
    # Exactly the public read schema (what the REST API answers), nothing more: no
    # signal-book order, quantity or portfolio rides along on the feed.
    public_fields = {f.encode_name for f in msgspec.structs.fields(Signal)}
    assert set(event.data) == public_fields | {"type"}
    assert {k: v for k, v in event.data.items() if k != "type"} == signal


async def test_portfolio_is_visible_to_owner_and_shared_mentors_only(
    serve: Serve, settings: Settings, make_user: MakeUser
) -> None:
    owner, mentor, other = await make_user(), await make_user(role=Role.MENTOR), await make_user()
    portfolio_id = uuid.uuid4()
    viewers = {owner.id, mentor.id}

    async def may_view(
        _: Connection, user_ids: Sequence[uuid.UUID], pid: uuid.UUID
    ) -> set[uuid.UUID]:
        return {u for u in user_ids if pid == portfolio_id and u in viewers}

    no_query = await serve_with(serve, settings, ChannelKind.PORTFOLIO, portfolio_policy(None))
    async with no_query.client(owner.token) as client:
        with pytest.raises(SubscriptionDenied):  # no ownership query: refused
            await client.subscribe(channels.portfolio(portfolio_id))
    running = await serve_with(serve, settings, ChannelKind.PORTFOLIO, portfolio_policy(may_view))
    for user, allowed in ((owner, True), (mentor, True), (other, False)):
        async with running.client(user.token) as client:
            if allowed:
                await client.subscribe(channels.portfolio(portfolio_id))
            else:
                with pytest.raises(SubscriptionDenied):
                    await client.subscribe(channels.portfolio(portfolio_id))
    # The owner stops sharing with the mentor: the mentor's open subscription ends.
    async with running.client(owner.token) as own, running.client(mentor.token) as shared:
        await own.subscribe(channels.portfolio(portfolio_id))
        await shared.subscribe(channels.portfolio(portfolio_id))
        viewers.discard(mentor.id)
        notice = await shared.next(3)
        assert isinstance(notice, Error)
        assert (notice.channel, notice.code) == (channels.portfolio(portfolio_id), "forbidden")
        await running.platform.streams.publish(
            channels.portfolio(portfolio_id), Tick(price_minor=5)
        )
        assert [e.data["price_minor"] for e in await events(own, 1)] == [5]
        with pytest.raises(TimeoutError):
            await shared.next(0.5)


async def test_invalid_channel_gets_an_error_frame(
    running: RunningApp, make_user: MakeUser
) -> None:
    user = await make_user()
    async with running.client(user.token) as client:
        for name in ("nonsense", "weather:today", "signals:not-a-uuid", "market:lower case"):
            with pytest.raises(SubscriptionDenied) as denied:
                await client.subscribe(name)
            assert denied.value.error.code == "invalid_channel"


async def test_many_channels_on_one_connection_and_unsubscribe_stops_delivery(
    running: RunningApp, make_user: MakeUser
) -> None:
    user = await make_user()
    publish = running.platform.streams.publish
    async with running.client(user.token) as client:
        await client.subscribe("market:AAA")
        await client.subscribe("leaderboard:weekly")
        await client.subscribe(channels.notifications(user.id))
        await publish("market:AAA", Tick(price_minor=1))
        await publish("leaderboard:weekly", Tick(price_minor=2))
        await publish(channels.notifications(user.id), Tick(price_minor=3))
        got = await events(client, 3)
        assert sorted(e.data["price_minor"] for e in got) == [1, 2, 3]
        await client.unsubscribe("market:AAA")
        await asyncio.sleep(0.1)
        await publish("market:AAA", Tick(price_minor=4))
        await publish("leaderboard:weekly", Tick(price_minor=5))
        (event,) = await events(client, 1)
        assert (event.channel, event.data["price_minor"]) == ("leaderboard:weekly", 5)
        await client.subscribe("market:AAA")  # and back again, later
        await publish("market:AAA", Tick(price_minor=6))
        (event,) = await events(client, 1)
        assert (event.channel, event.seq, event.data["price_minor"]) == ("market:AAA", 3, 6)


async def test_resume_after_dropped_connection_has_no_gap_and_no_duplicate(
    running: RunningApp, make_user: MakeUser
) -> None:
    user = await make_user()
    publish = running.platform.streams.publish
    async with running.client(user.token) as client:
        await client.subscribe("market:ETH-USD")
        for i in range(1, 6):
            await publish("market:ETH-USD", Tick(price_minor=i))
        first = await events(client, 5)
        await client.drop_connection()
        # Published while the client is away; it must get these on reconnecting.
        for i in range(6, 11):
            await publish("market:ETH-USD", Tick(price_minor=i))
        rest = await events(client, 5)
        for i in range(11, 13):
            await publish("market:ETH-USD", Tick(price_minor=i))
        rest += await events(client, 2)
        assert client.connections == 2
        # The client drops repeats silently; the server must not have sent any.
        assert client.duplicates_dropped == 0
    seqs = [e.seq for e in first + rest]
    assert seqs == list(range(1, 13))
    assert [e.data["price_minor"] for e in first + rest] == list(range(1, 13))


async def test_resume_beyond_history_is_told_to_resync(
    settings: Settings, serve: Serve, make_user: MakeUser
) -> None:
    running = await serve(fast_limits(settings, stream_history_size=5))
    user = await make_user()
    publish = running.platform.streams.publish
    for i in range(1, 21):
        await publish("market:SOL-USD", Tick(price_minor=i))
    async with running.client(user.token) as client:
        # Seq 3 is long gone from a 5-message history.
        ack = await client.subscribe("market:SOL-USD", after_seq=3)
        assert isinstance(ack, Resync)
        assert ack.seq == 20
        notice = await client.next(2)
        assert isinstance(notice, Resync)
        await publish("market:SOL-USD", Tick(price_minor=21))
        (event,) = await events(client, 1)
        assert event.seq == 21
        # Within the history, the missed ones are replayed instead.
    async with running.client(user.token) as client:
        ack = await client.subscribe("market:SOL-USD", after_seq=18)
        assert isinstance(ack, Subscribed)
        assert ack.seq == 18
        assert ack.replayed == 3
        assert [e.seq for e in await events(client, 3)] == [19, 20, 21]


async def test_slow_consumer_is_disconnected_with_bounded_queue_while_others_keep_up(
    settings: Settings, serve: Serve, make_user: MakeUser
) -> None:
    queue_bytes = 256 * 1024
    running = await serve(
        fast_limits(settings, stream_send_queue_frames=64, stream_send_queue_bytes=queue_bytes)
    )
    user = await make_user()
    publish = running.platform.streams.publish
    total = 3000
    note = "x" * 8000  # 3000 × 8 kB = 24 MB: far beyond the kernel's socket buffers
    async with running.client(user.token) as fast:
        await fast.subscribe("market:FLOOD")
        # A client that stops reading: websockets stops reading the socket once 4 frames
        # wait unread, so TCP pushes back on the server.
        slow = await connect(running.url, max_queue=4, compression=None)
        await slow.send(msgspec.json.encode({"op": "auth", "token": user.token}))
        await slow.send(msgspec.json.encode({"op": "subscribe", "channel": "market:FLOOD"}))
        await asyncio.sleep(0.2)
        received: list[int] = []

        async def read_fast() -> None:
            while len(received) < total:
                item = await fast.next(10)
                if isinstance(item, StreamEvent):
                    received.append(item.seq)

        reader = asyncio.create_task(read_fast())
        for i in range(total):
            await publish("market:FLOOD", Tick(price_minor=i, note=note))
            if i % 10 == 9:
                await asyncio.sleep(0.002)
        await reader
        assert received == list(range(1, total + 1))
        assert running.server.closed_by_reason["send queue overflow"] == 1
        assert running.server.peak_queue_bytes <= queue_bytes
        got = 0
        with pytest.raises(ConnectionClosed) as info:
            while True:
                await asyncio.wait_for(slow.recv(), 5)
                got += 1
        assert got < total
        assert info.value.rcvd is not None
        assert info.value.rcvd.code == CLOSE_SLOW_CONSUMER


async def test_oversize_frame_is_closed_with_1009(running: RunningApp, make_user: MakeUser) -> None:
    user = await make_user()
    client = running.client(user.token, reconnect=False)
    await client.connect()
    limit = running.platform.settings.stream_max_frame_bytes
    await client.send_raw('{"op":"ping","pad":"' + "x" * limit + '"}')
    assert await closed_code(client) == CLOSE_TOO_BIG


async def test_message_flood_is_closed_rate_limited(
    running: RunningApp, make_user: MakeUser
) -> None:
    user = await make_user()
    client = running.client(user.token, reconnect=False)
    await client.connect()
    for _ in range(200):
        await client.send_raw('{"op":"ping"}')
    assert await closed_code(client) == CLOSE_RATE_LIMITED


async def test_expired_token_is_disconnected_within_5_seconds(
    running: RunningApp, make_user: MakeUser, clock: ManualClock
) -> None:
    user = await make_user()
    async with running.client(user.token) as client:
        await client.subscribe("market:BTC-USD")
        clock.advance(timedelta(minutes=16))
        started = time.monotonic()
        assert await closed_code(client, 5) == CLOSE_UNAUTHORIZED
        assert time.monotonic() - started < 5
    assert running.server.closed_by_reason["token expired"] == 1


async def test_revoked_session_is_disconnected_within_5_seconds(
    running: RunningApp, make_user: MakeUser, pool: asyncpg.Pool
) -> None:
    user = await make_user()
    async with running.client(user.token) as client:
        await client.subscribe("market:BTC-USD")
        await pool.execute(
            "UPDATE auth_sessions SET revoked_at = now() WHERE id = $1", user.session_id
        )
        started = time.monotonic()
        assert await closed_code(client, 5) == CLOSE_UNAUTHORIZED
        assert time.monotonic() - started < 5
    assert running.server.closed_by_reason["session ended"] == 1
    # And the revoked session cannot connect again.
    with pytest.raises(StreamClosed) as info:
        await running.client(user.token).connect()
    assert info.value.code == CLOSE_UNAUTHORIZED


async def test_silent_client_is_closed_after_idle_timeout(
    settings: Settings, serve: Serve, make_user: MakeUser
) -> None:
    idle_timeout_s = 0.8
    running = await serve(
        fast_limits(settings, stream_heartbeat_s=0.2, stream_idle_timeout_s=idle_timeout_s)
    )
    user = await make_user()
    quiet = running.client(user.token, reconnect=False, answer_pings=False)
    await quiet.connect()
    async with running.client(user.token) as chatty:  # answers heartbeats: stays
        assert await closed_code(quiet, 5) == CLOSE_TIMEOUT
        assert quiet.pings_received >= 1  # it was pinged, and closed for not answering
        # The chatty client connected just after the quiet one, so it has not yet been
        # silent for a whole idle timeout: wait out two more before judging it.
        pinged_before = chatty.pings_received
        await asyncio.sleep(2 * idle_timeout_s)
        await chatty.subscribe("market:BTC-USD")
        await running.platform.streams.publish("market:BTC-USD", Tick(price_minor=1))
        assert len(await events(chatty, 1)) == 1
        # Heartbeats, not auto-reconnect, kept it: pinged and answered all along, on the
        # one connection it opened, and only the quiet client was closed as idle.
        assert pinged_before >= 1
        assert chatty.pings_received > pinged_before
        assert chatty.connections == 1
    assert running.server.closed_by_reason["idle timeout"] == 1


async def test_untagged_messages_are_refused_by_the_publisher(running: RunningApp) -> None:
    class Untagged(msgspec.Struct):
        value: int

    with pytest.raises(TypeError, match="type tag"):
        await running.platform.streams.publish("market:BTC-USD", Untagged(value=1))


async def test_error_frames_name_the_channel(running: RunningApp, make_user: MakeUser) -> None:
    user, other = await make_user(), await make_user()
    async with running.client(user.token) as client:
        with pytest.raises(SubscriptionDenied):
            await client.subscribe(channels.notifications(other.id))
        notice = await client.next(2)
        assert isinstance(notice, Error)
        assert notice.channel == channels.notifications(other.id)


async def test_messages_queued_for_a_connection_go_out_batched_in_one_frame(
    running: RunningApp, make_user: MakeUser
) -> None:
    user = await make_user()
    async with connect(running.url, subprotocols=[SUBPROTOCOL, f"bearer.{user.token}"]) as ws:  # type: ignore[list-item]
        assert msgspec.json.decode(await ws.recv())["op"] == "welcome"
        await ws.send(msgspec.json.encode({"op": "subscribe", "channel": "market:BATCH"}))
        assert msgspec.json.decode(await ws.recv())["op"] == "subscribed"
        for i in range(50):  # all queued before the connection's sender gets to run
            await running.platform.streams.publish("market:BATCH", Tick(price_minor=i))
        frames = 0
        seqs: list[int] = []
        while len(seqs) < 50:
            raw = await asyncio.wait_for(ws.recv(), 5)
            frames += 1
            seqs += [msgspec.json.decode(line)["seq"] for line in str(raw).split("\n")]
    assert seqs == list(range(1, 51))
    assert frames < 50


async def test_a_broadcast_is_framed_once_and_written_straight_to_plain_connections_only(
    running: RunningApp, make_user: MakeUser
) -> None:
    """Connections without extensions (our client) get the broadcast's one frame written
    to their transport; a connection that negotiated permessage-deflate (as browsers do)
    gets it compressed through the ASGI send. Both receive the same messages in order."""
    user = await make_user()
    server = running.server
    async with contextlib.AsyncExitStack() as stack:
        plain = [await stack.enter_async_context(running.client(user.token)) for _ in range(3)]
        for client in plain:
            await client.subscribe("market:WIRE")
        deflated = await stack.enter_async_context(
            connect(
                running.url,
                subprotocols=[SUBPROTOCOL, f"bearer.{user.token}"],  # type: ignore[list-item]
                compression="deflate",
            )
        )
        assert deflated.protocol.extensions, "the server negotiated no compression"
        assert msgspec.json.decode(await deflated.recv())["op"] == "welcome"
        await deflated.send(msgspec.json.encode({"op": "subscribe", "channel": "market:WIRE"}))
        assert msgspec.json.decode(await deflated.recv())["op"] == "subscribed"
        framed_before = server.direct_writes
        for price in (7, 8, 9):
            await running.platform.streams.publish("market:WIRE", Tick(price_minor=price))
            await asyncio.sleep(0.05)  # one frame per message, not a batch
        compressed = [msgspec.json.decode(await deflated.recv()) for _ in range(3)]
        got = [await events(client, 3) for client in plain]
    assert [(m["seq"], m["data"]["price_minor"]) for m in compressed] == [(1, 7), (2, 8), (3, 9)]
    for received in got:
        assert [(e.seq, e.data["price_minor"]) for e in received] == [(1, 7), (2, 8), (3, 9)]
    assert server.direct_writes - framed_before == 3 * len(plain)


async def test_token_refreshed_in_band_keeps_the_connection_past_the_first_expiry(
    running: RunningApp, make_user: MakeUser, clock: ManualClock
) -> None:
    user = await make_user()

    def fresh_token() -> str:
        return issue_access_token(
            running.platform.settings,
            user_id=user.id,
            role=user.role,
            session_id=user.session_id,
            now=clock.now(),
        )

    async with running.client(fresh_token) as client:
        await client.subscribe("market:BTC-USD")
        clock.advance(timedelta(minutes=10))
        await client.refresh_token()
        await asyncio.sleep(0.3)
        clock.advance(timedelta(minutes=10))  # past the first token's 15 minutes
        await asyncio.sleep(1.0)  # several session checks
        await running.platform.streams.publish("market:BTC-USD", Tick(price_minor=7))
        (event,) = await events(client, 1)
        assert event.data["price_minor"] == 7
        assert client.connections == 1
        assert running.server.closed_by_reason["token expired"] == 0
        # Another user's token cannot take the connection over: it is closed (and this
        # client, holding a token source, reconnects as itself).
        other = await make_user()
        await client.send_raw(msgspec.json.encode({"op": "auth", "token": other.token}))
        for _ in range(100):
            if client.connections == 2 and client.welcome is not None:
                break
            await asyncio.sleep(0.05)
        assert running.server.closed_by_reason["unauthorized"] == 1
        assert client.welcome is not None
        assert client.welcome.subject == str(user.id)


async def test_over_redis_resume_and_lost_message_repair_keep_order(
    redis_settings: Settings, serve: Serve, make_user: MakeUser
) -> None:
    running = await serve(fast_limits(redis_settings))
    user = await make_user()
    publish = running.platform.streams.publish
    channel = "market:REDIS"
    async with running.client(user.token) as client:
        await client.subscribe(channel)
        for i in range(1, 4):
            await publish(channel, Tick(price_minor=i))
        got = await events(client, 3)
        await client.drop_connection()
        for i in range(4, 7):
            await publish(channel, Tick(price_minor=i))
        got += await events(client, 3)
        # A message that reached the history but whose live delivery was lost (as when
        # the pub/sub connection drops): the next message reveals the gap, and the server
        # fills it from the history before going on.
        redis = Redis.from_url(redis_settings.redis_url or "")
        prefix = f"{redis_settings.redis_prefix}:stream"
        seq = await redis.incr(f"{prefix}:seq:{channel}")
        frame = (
            f'{{"op":"message","seq":{seq},"channel":"{channel}",'
            f'"data":{{"type":"market.tick","price_minor":7,"note":""}}}}'
        )
        await redis.xadd(f"{prefix}:log:{channel}", {"f": frame}, id=f"{seq}-0")
        await redis.aclose()
        await publish(channel, Tick(price_minor=8))
        got += await events(client, 2)
        assert client.connections == 2  # the drop was resumed on a second connection
        # The client drops repeats silently; the server must not have sent any (neither
        # the replay after reconnecting nor the repair overlaps live delivery).
        assert client.duplicates_dropped == 0
    assert [e.seq for e in got] == list(range(1, 9))
    assert [e.data["price_minor"] for e in got] == list(range(1, 9))


async def test_client_callback_receives_messages_inline_in_order(
    running: RunningApp, make_user: MakeUser
) -> None:
    user = await make_user()
    seen: list[int] = []
    async with running.client(user.token, on_event=lambda e: seen.append(e.seq)) as client:
        await client.subscribe("market:CB")
        for i in range(20):
            await running.platform.streams.publish("market:CB", Tick(price_minor=i))
        for _ in range(100):
            if len(seen) == 20:
                break
            await asyncio.sleep(0.02)
    assert seen == list(range(1, 21))


async def test_client_runs_on_uvloop_as_on_asyncio(
    running: RunningApp, make_user: MakeUser
) -> None:
    # uvloop's transports are not `asyncio.Transport` subclasses; the benchmark's client
    # processes run on uvloop.
    user = await make_user()
    subscribed = threading.Event()
    channel = "market:UVLOOP"

    async def follow() -> list[int]:
        async with StreamClient(running.url, user.token) as client:
            await client.subscribe(channel)
            subscribed.set()
            return [e.seq for e in await events(client, 3)]

    following = asyncio.create_task(asyncio.to_thread(uvloop.run, follow()))
    assert await asyncio.to_thread(subscribed.wait, 5)
    for i in range(3):
        await running.platform.streams.publish(channel, Tick(price_minor=i))
    assert await asyncio.wait_for(following, 10) == [1, 2, 3]


async def test_client_callback_that_raises_ends_the_client_with_the_cause(
    running: RunningApp, make_user: MakeUser
) -> None:
    user = await make_user()

    def failing_consumer(event: StreamEvent) -> None:
        raise ValueError(f"cannot handle seq {event.seq}")

    client = running.client(user.token, on_event=failing_consumer)
    await client.connect()
    await client.subscribe("market:BOOM")
    await running.platform.streams.publish("market:BOOM", Tick(price_minor=1))
    with pytest.raises(StreamClosed) as info:
        await client.next(5)
    assert isinstance(info.value.__cause__, ValueError)
    assert "cannot handle seq 1" in info.value.reason
    assert client.connections == 1  # ended, not reconnected
