"""A Python client for `/api/v1/stream`, on `websockets`: it authenticates, keeps the
last sequence number of every channel, answers heartbeats, and after a dropped
connection reconnects (with backoff) and resumes every channel where it left off, so the
messages it hands out have no gap and no duplicate.

    async with StreamClient("ws://127.0.0.1:8000/api/v1/stream", token) as client:
        await client.subscribe("market:BTC-USD")
        async for event in client:
            if isinstance(event, StreamEvent):
                print(event.channel, event.seq, event.data)
            elif isinstance(event, Resync):
                ...  # reload that channel's state from the REST API

`token` may be a callable returning a fresh access token (sync or async); it is called on
every (re)connection."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Literal

import msgspec
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from streams.protocol import (
    BEARER_SUBPROTOCOL_PREFIX,
    FATAL_CLOSE_CODES,
    SUBPROTOCOL,
    Auth,
    ClientFrame,
    ClientPong,
    Error,
    Message,
    Ping,
    Resync,
    Subscribe,
    Subscribed,
    Unsubscribe,
    Welcome,
    encode,
    server_decoder,
)

TokenSource = str | Callable[[], str | Awaitable[str]]


class StreamEvent(msgspec.Struct, frozen=True):
    channel: str
    seq: int
    type: str
    data: dict[str, Any]


class StreamClosed(Exception):
    """The connection ended for good (a fatal close code, or reconnecting is off)."""

    def __init__(self, code: int | None, reason: str) -> None:
        super().__init__(f"stream closed ({code}): {reason}")
        self.code = code
        self.reason = reason


class SubscriptionDenied(Exception):
    def __init__(self, error: Error) -> None:
        super().__init__(f"{error.channel}: {error.code}: {error.detail}")
        self.error = error


Notice = StreamEvent | Resync | Error


class StreamClient:
    def __init__(
        self,
        url: str,
        token: TokenSource,
        *,
        origin: str | None = None,
        auth_via: Literal["message", "subprotocol"] = "message",
        reconnect: bool = True,
        max_backoff_s: float = 5.0,
        open_timeout_s: float = 10.0,
        answer_pings: bool = True,
        on_event: Callable[[StreamEvent], None] | None = None,
        **connect_options: Any,
    ) -> None:
        """`on_event`, when given, is called with each message as it arrives (no queue,
        no task switch: for high-rate consumers) instead of queueing it for `next()`;
        resyncs, errors and the close still go to `next()`. `connect_options` go to
        `websockets.connect` as they are (e.g. `local_addr`)."""
        self.url = url
        self._token = token
        self._origin = origin
        self._auth_via = auth_via
        self._reconnect = reconnect
        self._max_backoff_s = max_backoff_s
        self._open_timeout_s = open_timeout_s
        self._answer_pings = answer_pings
        self._connect_options = connect_options
        self._on_event = on_event
        # The last sequence number handed out (or the position told by the server) per
        # channel: what a reconnection resumes from.
        self.positions: dict[str, int] = {}
        self._wanted: set[str] = set()
        self._acks: dict[str, asyncio.Future[Subscribed | Resync]] = {}
        self._events: asyncio.Queue[Notice | StreamClosed] = asyncio.Queue()
        self._ws: ClientConnection | None = None
        self._ready = asyncio.Event()
        self._runner: asyncio.Task[None] | None = None
        self.closed: StreamClosed | None = None
        self.welcome: Welcome | None = None
        self.connections = 0

    async def __aenter__(self) -> StreamClient:
        await self.connect()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def connect(self) -> None:
        """Open the connection and wait until it is authenticated."""
        self._runner = asyncio.create_task(self._run(), name="stream-client")
        ready = asyncio.create_task(self._ready.wait())
        await asyncio.wait([ready, self._runner], return_when=asyncio.FIRST_COMPLETED)
        ready.cancel()
        if not self._ready.is_set():
            raise self.closed or StreamClosed(None, "could not connect")

    async def close(self) -> None:
        self._reconnect = False
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner
        if self._ws is not None:
            await self._ws.close()

    async def subscribe(
        self, channel: str, after_seq: int | None = None, *, timeout_s: float = 10.0
    ) -> Subscribed | Resync:
        """Watch `channel`; with `after_seq`, first receive what came after it. Raises
        `SubscriptionDenied` on an error frame."""
        if after_seq is not None:
            self.positions[channel] = after_seq
        self._wanted.add(channel)
        future = self._acks[channel] = asyncio.get_running_loop().create_future()
        if self._ready.is_set():
            await self._send(Subscribe(channel=channel, after_seq=self.positions.get(channel)))
        return await asyncio.wait_for(future, timeout_s)

    async def unsubscribe(self, channel: str) -> None:
        self._wanted.discard(channel)
        self.positions.pop(channel, None)
        if self._ready.is_set():
            await self._send(Unsubscribe(channel=channel))

    async def refresh_token(self) -> None:
        """Hand the server a fresh token (from the token source) before the current one
        expires; the connection, its subscriptions and positions stay as they are."""
        await self._send(Auth(token=await self._token_value()))

    async def send_raw(self, text: str | bytes) -> None:
        """Send a frame as is (for tests of the server's limits)."""
        assert self._ws is not None
        await self._ws.send(text)

    async def drop_connection(self) -> None:
        """Cut the TCP connection without a closing handshake, as a network failure
        would; the client then reconnects and resumes (for tests and chaos drills)."""
        if self._ws is not None:
            self._ws.transport.abort()

    async def next(self, timeout_s: float | None = None) -> Notice:
        item = await asyncio.wait_for(self._events.get(), timeout_s)
        if isinstance(item, StreamClosed):
            self._events.put_nowait(item)  # every later call sees it too
            raise item
        return item

    async def __aiter__(self) -> AsyncIterator[Notice]:
        while True:
            try:
                yield await self.next()
            except StreamClosed:
                return

    # -- internals -------------------------------------------------------------------

    async def _token_value(self) -> str:
        value = self._token() if callable(self._token) else self._token
        if inspect.isawaitable(value):
            value = await value
        return str(value)

    async def _send(self, frame: ClientFrame) -> None:
        if self._ws is not None:
            with contextlib.suppress(ConnectionClosed):
                await self._ws.send(encode(frame))

    async def _run(self) -> None:
        backoff = 0.1
        while True:
            code: int | None = None
            reason = ""
            try:
                await self._session()
                backoff = 0.1
            except ConnectionClosed as exc:
                if exc.rcvd is not None:
                    code, reason = exc.rcvd.code, exc.rcvd.reason
                else:
                    code, reason = 1006, "connection lost"
                if self.welcome is not None:
                    backoff = 0.1  # it had worked: retry promptly
            except InvalidStatus as exc:
                code, reason = exc.response.status_code, "handshake refused"
                self._finish(StreamClosed(code, reason))
                return
            except (OSError, TimeoutError) as exc:
                code, reason = None, f"cannot connect: {exc}"
            self._ready.clear()
            self._ws = None
            fatal = code in FATAL_CLOSE_CODES and not (code == 4401 and callable(self._token))
            if not self._reconnect or fatal or (code == 4401 and self.welcome is None):
                self._finish(StreamClosed(code, reason))
                return
            self.welcome = None
            await asyncio.sleep(backoff * (1 + random.random() / 2))  # noqa: S311 - jitter
            backoff = min(backoff * 2, self._max_backoff_s)

    def _finish(self, closed: StreamClosed) -> None:
        self.closed = closed
        for future in self._acks.values():
            if not future.done():
                future.set_exception(closed)
        self._events.put_nowait(closed)

    async def _session(self) -> None:
        token = await self._token_value()
        subprotocols = [SUBPROTOCOL]
        if self._auth_via == "subprotocol":
            subprotocols.append(BEARER_SUBPROTOCOL_PREFIX + token)
        async with connect(
            self.url,
            subprotocols=subprotocols,  # type: ignore[arg-type]
            origin=self._origin,  # type: ignore[arg-type]
            compression=None,  # per-message deflate defeats sending one frame to many
            open_timeout=self._open_timeout_s,
            max_queue=None,
            ping_interval=None,  # the server's heartbeat frames do this job
            **self._connect_options,
        ) as ws:
            self._ws = ws
            self.connections += 1
            if self._auth_via == "message":
                await ws.send(encode(Auth(token=token)))
            async for raw in ws:
                if isinstance(raw, bytes):
                    raw = raw.decode()
                for line in raw.split("\n") if "\n" in raw else (raw,):
                    await self._handle(server_decoder.decode(line), ws)

    async def _handle(self, frame: Any, ws: ClientConnection) -> None:
        if isinstance(frame, Message):
            last = self.positions.get(frame.channel)
            if frame.channel not in self._wanted or (last is not None and frame.seq <= last):
                return
            self.positions[frame.channel] = frame.seq
            data = frame.data if isinstance(frame.data, dict) else {"value": frame.data}
            event = StreamEvent(frame.channel, frame.seq, str(data.get("type", "")), data)
            if self._on_event is not None:
                self._on_event(event)
            else:
                self._events.put_nowait(event)
        elif isinstance(frame, Ping):
            if self._answer_pings:
                await ws.send(encode(ClientPong()))
        elif isinstance(frame, Welcome):
            first = self.welcome is None
            self.welcome = frame
            if first:
                for channel in self._wanted:
                    sub = Subscribe(channel=channel, after_seq=self.positions.get(channel))
                    await ws.send(encode(sub))
            self._ready.set()
        elif isinstance(frame, Subscribed | Resync):
            self.positions[frame.channel] = frame.seq
            if isinstance(frame, Resync):
                self._events.put_nowait(frame)
            future = self._acks.pop(frame.channel, None)
            if future is not None and not future.done():
                future.set_result(frame)
        elif isinstance(frame, Error):
            if frame.channel is not None:
                self._wanted.discard(frame.channel)
                future = self._acks.pop(frame.channel, None)
                if future is not None and not future.done():
                    future.set_exception(SubscriptionDenied(frame))
            self._events.put_nowait(frame)
