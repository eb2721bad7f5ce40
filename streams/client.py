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
every (re)connection.

The connection is websockets' Sans-I/O protocol (`websockets.client.ClientProtocol`)
inside a plain `asyncio.Protocol`: bytes from the socket are parsed and each message is
handled right there, in `data_received`, with no reader task and no queue in between.
One process can so follow thousands of connections (the fan-out benchmark does)."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import random
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Literal, cast

import msgspec
from websockets.client import ClientProtocol
from websockets.exceptions import InvalidStatus
from websockets.frames import Frame, Opcode
from websockets.protocol import State
from websockets.typing import Origin, Subprotocol
from websockets.uri import parse_uri

from streams.protocol import (
    BEARER_SUBPROTOCOL_PREFIX,
    CLOSE_NORMAL,
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

CLOSE_ABNORMAL = 1006  # the connection ended without a close frame (RFC 6455 §7.1.5)


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

_TEXT, _BINARY, _CONT = Opcode.TEXT, Opcode.BINARY, Opcode.CONT


class _Link(asyncio.Protocol):
    """One TCP connection: websockets' Sans-I/O protocol fed from `data_received`, each
    complete text message handed to the client before `data_received` returns."""

    def __init__(self, client: StreamClient, protocol: ClientProtocol) -> None:
        self.client = client
        self.protocol = protocol
        self.transport: asyncio.Transport | None = None
        loop = asyncio.get_running_loop()
        self.opened: asyncio.Future[None] = loop.create_future()  # the handshake's outcome
        self.ended: asyncio.Future[tuple[int, str]] = loop.create_future()  # close code
        self.failure: BaseException | None = None  # raised by a message handler
        self._fragments: list[bytes] = []
        self._close_timer: asyncio.TimerHandle | None = None

    # -- asyncio.Protocol ----------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not `asyncio.Transport` subclasses, hence the cast.
        self.transport = cast(asyncio.Transport, transport)
        self.protocol.send_request(self.protocol.connect())
        self._write()

    def data_received(self, data: bytes) -> None:
        protocol = self.protocol
        protocol.receive_data(data)
        control = False  # anything the protocol may have answered (ping, close, error)
        try:
            for event in protocol.events_received():
                if not isinstance(event, Frame):  # the handshake response
                    self._handshake_done()
                    control = True
                    continue
                opcode = event.opcode
                if opcode is _TEXT or opcode is _BINARY:  # the server sends text; both decode
                    if event.fin:
                        self.client._receive(self, event.data)
                    else:
                        self._fragments = [bytes(event.data)]
                elif opcode is _CONT:
                    self._fragments.append(bytes(event.data))
                    if event.fin:
                        whole, self._fragments = b"".join(self._fragments), []
                        self.client._receive(self, whole)
                else:  # ping, pong, close: the protocol answers them itself
                    control = True
        except Exception as exc:  # a bad frame from the server, or a failing callback
            self.failure = exc
            if self.transport is not None:
                self.transport.abort()
            return
        if control or protocol.parser_exc is not None:
            self._write()
            if protocol.close_expected():
                self._expect_close()

    def eof_received(self) -> bool:
        self.protocol.receive_eof()
        self._write()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        if self._close_timer is not None:
            self._close_timer.cancel()
        protocol = self.protocol
        if protocol.state is not State.CLOSED:
            protocol.receive_eof()  # moves the protocol to CLOSED
        if not self.opened.done():
            failed = protocol.handshake_exc or exc or ConnectionResetError("connection lost")
            self.opened.set_exception(failed)
            self.opened.exception()  # retrieved here: `_session` may no longer be waiting
        close = protocol.close_rcvd
        if close is not None:
            self.ended.set_result((close.code, close.reason))
        else:
            self.ended.set_result((CLOSE_ABNORMAL, "connection lost"))

    # -- used by the client ----------------------------------------------------------

    def send_text(self, text: str) -> None:
        if self.protocol.state is State.OPEN:
            self.protocol.send_text(text.encode())
            self._write()

    def send_binary(self, data: bytes) -> None:
        if self.protocol.state is State.OPEN:
            self.protocol.send_binary(data)
            self._write()

    def close(self, code: int) -> None:
        """Start the closing handshake (the server then closes the TCP connection)."""
        if self.protocol.state is State.OPEN:
            self.protocol.send_close(code)
            self._write()
            self._expect_close()
        elif self.transport is not None:
            self.transport.abort()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    # -- internals -------------------------------------------------------------------

    def _handshake_done(self) -> None:
        if self.opened.done():
            return
        if self.protocol.handshake_exc is not None:
            self.opened.set_exception(self.protocol.handshake_exc)
        else:
            self.opened.set_result(None)

    def _write(self) -> None:
        transport = self.transport
        if transport is None:
            return
        for data in self.protocol.data_to_send():
            if data:
                transport.write(data)
            elif transport.can_write_eof():  # the protocol's signal to half-close
                transport.write_eof()

    def _expect_close(self) -> None:
        # The server closes the TCP connection after the closing handshake; a server
        # that does not is cut off after a while.
        if self._close_timer is None and self.transport is not None:
            loop = asyncio.get_running_loop()
            self._close_timer = loop.call_later(self.client.close_timeout_s, self.abort)


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
        close_timeout_s: float = 2.0,
        answer_pings: bool = True,
        max_message_bytes: int | None = 1024 * 1024,
        on_event: Callable[[StreamEvent], None] | None = None,
        **connect_options: Any,
    ) -> None:
        """`on_event`, when given, is called with each message as it arrives (no queue,
        no task switch: for high-rate consumers) instead of queueing it for `next()`;
        resyncs, errors and the close still go to `next()`; an exception it raises ends
        the client. `connect_options` go to `loop.create_connection` as they are (e.g.
        `local_addr`, or `ssl` for a custom TLS context with `wss://`)."""
        self.url = url
        self._uri = parse_uri(url)
        self._token = token
        self._origin = origin
        self._auth_via = auth_via
        self._reconnect = reconnect
        self._max_backoff_s = max_backoff_s
        self._open_timeout_s = open_timeout_s
        self.close_timeout_s = close_timeout_s
        self._answer_pings = answer_pings
        self._max_message_bytes = max_message_bytes
        self._connect_options = connect_options
        self._on_event = on_event
        # The last sequence number handed out (or the position told by the server) per
        # channel: what a reconnection resumes from.
        self.positions: dict[str, int] = {}
        self._wanted: set[str] = set()
        self._acks: dict[str, asyncio.Future[Subscribed | Resync]] = {}
        self._events: asyncio.Queue[Notice | StreamClosed] = asyncio.Queue()
        self._link: _Link | None = None
        self._ready = asyncio.Event()
        self._runner: asyncio.Task[None] | None = None
        self.closed: StreamClosed | None = None
        self.welcome: Welcome | None = None
        self.connections = 0  # links opened (handshake done): more than 1 means it reconnected
        self.pings_received = 0  # server heartbeats, answered or not
        # Messages the server sent again (seq not after the channel's last): dropped here,
        # counted so that tests can tell a server that repeats itself from one that does not.
        self.duplicates_dropped = 0

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
        """Close the connection with a closing handshake; no reconnection follows."""
        self._reconnect = False
        link = self._link
        if link is not None and not link.ended.done():
            link.close(CLOSE_NORMAL)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(link.ended), self.close_timeout_s)
            link.abort()
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner

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
            self._send(Subscribe(channel=channel, after_seq=self.positions.get(channel)))
        return await asyncio.wait_for(future, timeout_s)

    async def unsubscribe(self, channel: str) -> None:
        self._wanted.discard(channel)
        self.positions.pop(channel, None)
        if self._ready.is_set():
            self._send(Unsubscribe(channel=channel))

    async def refresh_token(self) -> None:
        """Hand the server a fresh token (from the token source) before the current one
        expires; the connection, its subscriptions and positions stay as they are."""
        self._send(Auth(token=await self._token_value()))

    async def send_raw(self, text: str | bytes) -> None:
        """Send a frame as is (for tests of the server's limits)."""
        assert self._link is not None
        if isinstance(text, str):
            self._link.send_text(text)
        else:
            self._link.send_binary(text)

    async def drop_connection(self) -> None:
        """Cut the TCP connection without a closing handshake, as a network failure
        would; the client then reconnects and resumes (for tests and chaos drills)."""
        if self._link is not None:
            self._link.abort()

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

    def _send(self, frame: ClientFrame) -> None:
        if self._link is not None:
            self._link.send_text(encode(frame))

    async def _run(self) -> None:
        backoff = 0.1
        while True:
            code: int | None
            try:
                code, reason = await self._session()
                if self.welcome is not None:
                    backoff = 0.1  # it had worked: retry promptly
            except InvalidStatus as exc:
                self._finish(StreamClosed(exc.response.status_code, "handshake refused"))
                return
            except (OSError, TimeoutError) as exc:
                code, reason = None, f"cannot connect: {exc}"
            except Exception as exc:  # a malformed server frame, or on_event failed
                closed = StreamClosed(None, f"client failed: {exc!r}")
                closed.__cause__ = exc
                self._finish(closed)
                return
            self._ready.clear()
            self._link = None
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

    async def _session(self) -> tuple[int, str]:
        """One connection, from opening to its end → the close code and reason."""
        token = await self._token_value()
        subprotocols = [Subprotocol(SUBPROTOCOL)]
        if self._auth_via == "subprotocol":
            subprotocols.append(Subprotocol(BEARER_SUBPROTOCOL_PREFIX + token))
        protocol = ClientProtocol(
            self._uri,
            origin=Origin(self._origin) if self._origin is not None else None,
            subprotocols=subprotocols,
            extensions=None,  # no per-message deflate: one frame is sent to many
            max_size=self._max_message_bytes,
        )
        link = _Link(self, protocol)
        options = dict(self._connect_options)
        if self._uri.secure:
            options.setdefault("ssl", ssl.create_default_context())
            options.setdefault("server_hostname", self._uri.host)
        loop = asyncio.get_running_loop()
        self._link = link  # `drop_connection` and `close` reach it from now on
        try:
            async with asyncio.timeout(self._open_timeout_s):
                await loop.create_connection(
                    lambda: link, self._uri.host, self._uri.port, **options
                )
                await link.opened
            self.connections += 1
            if self._auth_via == "message":
                link.send_text(encode(Auth(token=token)))
            ended = await asyncio.shield(link.ended)
        finally:
            link.abort()  # a no-op once the connection is gone
        if link.failure is not None:
            raise link.failure
        return ended

    def _receive(self, link: _Link, data: Any) -> None:
        """One text message from the server: a frame, or several separated by newlines."""
        if b"\n" in data:
            for line in bytes(data).split(b"\n"):
                self._handle(link, server_decoder.decode(line))
        else:
            self._handle(link, server_decoder.decode(data))

    def _handle(self, link: _Link, frame: Any) -> None:
        if type(frame) is Message:
            channel = frame.channel
            if channel not in self._wanted:
                return
            last = self.positions.get(channel)
            if last is not None and frame.seq <= last:
                self.duplicates_dropped += 1
                return
            self.positions[channel] = frame.seq
            data = frame.data if isinstance(frame.data, dict) else {"value": frame.data}
            event = StreamEvent(channel, frame.seq, str(data.get("type", "")), data)
            if self._on_event is not None:
                self._on_event(event)
            else:
                self._events.put_nowait(event)
        elif isinstance(frame, Ping):
            self.pings_received += 1
            if self._answer_pings:
                link.send_text(encode(ClientPong()))
        elif isinstance(frame, Welcome):
            first = self.welcome is None
            self.welcome = frame
            if first:
                for channel in self._wanted:
                    sub = Subscribe(channel=channel, after_seq=self.positions.get(channel))
                    link.send_text(encode(sub))
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
