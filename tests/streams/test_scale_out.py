"""Scale-out proof: two real API processes (`dracarys serve`) against the real Redis and
the test database; what is published through either reaches clients on both, in order,
without gaps."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from dracarys.identity import Role, issue_access_token
from dracarys.platform import build_hub
from dracarys.realtime import NotificationFrame
from dracarys.settings import Settings
from streams import channels
from streams.client import StreamClient, StreamEvent
from streams.protocol import CLOSE_TOO_BIG
from tests.support import TestUser

REPO = Path(__file__).resolve().parents[2]
# The project's own program, installed beside the interpreter running the tests: no `uv`
# (or anything else) needs to be on PATH.
DRACARYS = str(Path(sys.executable).with_name("dracarys"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
async def two_api_processes(redis_settings: Settings, tmp_path: Path) -> AsyncIterator[list[str]]:
    assert redis_settings.database_url
    assert redis_settings.redis_url
    env = {
        **os.environ,
        "DATABASE_URL": redis_settings.database_url,
        "REDIS_URL": redis_settings.redis_url,
        "DRACARYS_REDIS_PREFIX": redis_settings.redis_prefix,
        "DRACARYS_SECRET_KEY": redis_settings.secret_key,
        "DRACARYS_ENV": "test",
        "DRACARYS_DATA_DIR": str(tmp_path),
        "DRACARYS_LOG_LEVEL": "WARNING",
        "DRACARYS_SEED_DEMO": "false",
    }
    ports = [free_port(), free_port()]
    processes = [
        await asyncio.create_subprocess_exec(
            # One process each: the test is about two servers linked by Redis.
            *(DRACARYS, "serve", "--port", str(port)),
            *("--workers", "1"),
            cwd=REPO,
            env=env,
        )
        for port in ports
    ]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        async with httpx.AsyncClient() as http:
            # A boot imports the engine's compiler: on a busy 2-core machine (the suite
            # runs in parallel) that has taken over 30 s, so allow two minutes.
            deadline = asyncio.get_running_loop().time() + 120
            for url in urls:
                while True:
                    try:
                        if (await http.get(f"{url}/health")).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    if asyncio.get_running_loop().time() > deadline:
                        pytest.fail(f"{url} did not start within two minutes")
                    await asyncio.sleep(0.1)
        yield urls
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            await asyncio.wait_for(process.wait(), 20)


def live_token(settings: Settings, user: TestUser) -> str:
    """The API processes run on the wall clock, not the tests' manual clock."""
    return issue_access_token(
        settings,
        user_id=user.id,
        role=user.role,
        session_id=user.session_id,
        now=datetime.now(UTC),
    )


async def test_client_on_one_process_receives_in_order_what_the_other_publishes(
    two_api_processes: list[str],
    redis_settings: Settings,
    make_user: Callable[..., Awaitable[TestUser]],
) -> None:
    api_a, api_b = two_api_processes
    user, admin = await make_user(), await make_user(role=Role.ADMIN)
    channel = channels.notifications(user.id)
    ws_a = api_a.replace("http", "ws") + "/api/v1/stream"
    ws_b = api_b.replace("http", "ws") + "/api/v1/stream"
    token = live_token(redis_settings, user)
    admin_headers = {"Authorization": f"Bearer {live_token(redis_settings, admin)}"}
    redis = Redis.from_url(redis_settings.redis_url or "")
    worker_hub = build_hub(redis_settings, redis)  # a third process's view, e.g. a worker

    async with StreamClient(ws_a, token) as on_a, StreamClient(ws_b, token) as on_b:
        await on_a.subscribe(channel)
        await on_b.subscribe(channel)

        async def post(http: httpx.AsyncClient, i: int) -> None:
            reply = await http.post(
                f"/api/v1/stream/notifications/{user.id}",
                json={"title": f"via B #{i}", "body": "scale-out"},
                headers=admin_headers,
            )
            assert reply.status_code == 202, reply.text

        async def direct(i: int) -> None:
            frame = NotificationFrame(
                id=user.id, kind="test", title=f"direct #{i}", body="", created_at=datetime.now(UTC)
            )
            await worker_hub.publish(channel, frame)

        async with httpx.AsyncClient(base_url=api_b) as http:
            # Concurrent publishers through process B and a third process, interleaved.
            await asyncio.gather(
                *(post(http, i) for i in range(25)), *(direct(i) for i in range(25))
            )

        received: dict[str, list[StreamEvent]] = {"a": [], "b": []}

        async def drain(name: str, client: StreamClient) -> None:
            while len(received[name]) < 50:
                item = await client.next(10)
                if isinstance(item, StreamEvent):
                    received[name].append(item)

        await asyncio.gather(drain("a", on_a), drain("b", on_b))
    await redis.aclose()

    for events in received.values():
        assert [e.seq for e in events] == list(range(1, 51))
        titles: list[Any] = sorted(e.data["title"] for e in events)
        assert titles == sorted(
            [f"via B #{i}" for i in range(25)] + [f"direct #{i}" for i in range(25)]
        )
    assert [e.data["title"] for e in received["a"]] == [e.data["title"] for e in received["b"]]

    # `dracarys serve` refuses an oversize frame at the server, before buffering it.
    async with connect(ws_a) as ws:
        await ws.send("x" * (redis_settings.stream_max_frame_bytes + 1))
        with pytest.raises(ConnectionClosed) as info:
            await ws.recv()
    assert info.value.rcvd is not None
    assert info.value.rcvd.code == CLOSE_TOO_BIG
