"""Stream fixtures: the real app served by uvicorn on a loopback port (real WebSockets,
real TCP back-pressure), with short limits so timeouts show up in milliseconds."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import msgspec
import pytest
import uvicorn
from litestar import Litestar

from dracarys.app import create_app
from dracarys.clock import ManualClock
from dracarys.platform import Platform
from dracarys.realtime import ChannelPolicy
from dracarys.settings import Settings
from streams.channels import ChannelKind
from streams.client import StreamClient
from streams.server import StreamServer

ALLOWED_ORIGIN = "http://127.0.0.1:8000"


@dataclass
class RunningApp:
    app: Litestar
    url: str  # ws://host:port/api/v1/stream
    http: str  # http://host:port

    @property
    def platform(self) -> Platform:
        platform: Platform = self.app.state.platform
        return platform

    @property
    def server(self) -> StreamServer:
        server: StreamServer = self.app.state.streams
        return server

    def client(self, token: Any, **kwargs: Any) -> StreamClient:
        return StreamClient(self.url, token, **kwargs)


def fast_limits(settings: Settings, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "stream_session_check_s": 0.2,
        "stream_auth_timeout_s": 1.0,
        "stream_heartbeat_s": 0.5,
        "stream_idle_timeout_s": 5.0,
        "stream_history_size": 50,
        "stream_reauthorize_s": 0.3,
        **overrides,
    }
    return msgspec.structs.replace(settings, **values)


class Serve(Protocol):
    def __call__(
        self,
        settings: Settings,
        channel_policies: Mapping[ChannelKind, ChannelPolicy] | None = None,
    ) -> Awaitable[RunningApp]: ...


@pytest.fixture
async def serve(clock: ManualClock) -> AsyncIterator[Serve]:
    """`await serve(settings)` → the app listening on a loopback port, stopped after; with
    `channel_policies`, watching channels by those instead of the platform's."""
    running: list[tuple[uvicorn.Server, asyncio.Task[None]]] = []

    async def start(
        settings: Settings, channel_policies: Mapping[ChannelKind, ChannelPolicy] | None = None
    ) -> RunningApp:
        app = create_app(settings, clock=clock, channel_policies=channel_policies)
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning")
        server = uvicorn.Server(config)
        task = asyncio.create_task(server._serve())
        running.append((server, task))
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("server stopped before it started")
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        return RunningApp(app, f"ws://127.0.0.1:{port}/api/v1/stream", f"http://127.0.0.1:{port}")

    yield start
    for server, _ in running:
        server.should_exit = True
    await asyncio.wait_for(asyncio.gather(*(task for _, task in running)), 30)


@pytest.fixture
async def running(settings: Settings, serve: Serve) -> RunningApp:
    return await serve(fast_limits(settings))
