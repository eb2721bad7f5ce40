"""The server side of a stream connection: handshake (Origin, token), subscriptions with
resume, back-pressure, limits and liveness. Framework-neutral about *who* may do what:
the platform passes a `Gatekeeper` that authenticates tokens, authorizes channels and
reports ended sessions. Whole on purpose (over 600 lines): the connection's state, its
send queue and the one flush loop are shaped together for speed and read best in one place.

Per connection the server keeps a bounded queue of outgoing frames. Delivery to a
connection is a non-blocking append; once per event-loop turn the server writes every
queue that has something to its socket, one after the other, and only a socket that
cannot take more right now gets a task of its own to finish the write. A connection
whose queue overflows (it reads slower than its channels publish) is closed with
`CLOSE_SLOW_CONSUMER`, so it neither slows the others down nor grows the server's
memory. One watcher task per process sends heartbeats, closes connections that are
idle, unauthenticated for too long, holding an expired token or a revoked session, and
re-checks subscriptions whose access can end (a lapsed paid feed, an unshared
portfolio)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Collection, Coroutine, Generator
from typing import Any, Protocol, cast

import msgspec
from litestar import WebSocket
from litestar.exceptions import WebSocketDisconnect
from litestar.types import Message, Send
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.frames import Frame, Opcode
from websockets.protocol import State

from streams.channels import Channel, InvalidChannel, parse_channel
from streams.hub import StreamHub
from streams.protocol import (
    BEARER_SUBPROTOCOL_PREFIX,
    CLOSE_GOING_AWAY,
    CLOSE_INTERNAL_ERROR,
    CLOSE_POLICY,
    CLOSE_PROTOCOL_ERROR,
    CLOSE_RATE_LIMITED,
    CLOSE_SLOW_CONSUMER,
    CLOSE_TIMEOUT,
    CLOSE_TOO_BIG,
    CLOSE_UNAUTHORIZED,
    SUBPROTOCOL,
    Auth,
    ClientPing,
    ClientPong,
    Error,
    Ping,
    Pong,
    Resync,
    ServerFrame,
    Subscribe,
    Subscribed,
    Unsubscribe,
    Unsubscribed,
    Welcome,
    client_decoder,
    encode,
)

log = logging.getLogger("streams.server")

# Upper bound of one batched WebSocket frame (a single larger message still goes whole).
BATCH_BYTES = 64 * 1024


class StreamSocket(WebSocket[Any, Any, Any]):
    """The WebSocket of a stream route (`websocket_class=StreamSocket`): its `send` is the
    ASGI server's own, without Litestar's per-message check of the connection state.
    Every message to every subscriber goes through it, and `ClientSession` already knows
    when its connection has closed (a send after that raises, and closes the session)."""

    def send_wrapper(self, send: Send) -> Send:
        return send


def direct_connection(send: Send) -> WebSocketsSansIOProtocol | None:
    """The uvicorn connection behind an ASGI `send`, when whole frames may be written to
    its transport directly: uvicorn's websockets-sansio protocol (`dracarys serve` runs
    it) with no extension negotiated. A connection with permessage-deflate (browsers
    offer it) compresses each frame in its own context, so it keeps the ASGI path.

    Litestar hands a route its exception middleware's wrapper of the server's send, a
    closure over a variable named `send`; those closures are followed (a few at most)
    to uvicorn's bound method. If either library changes shape, this finds nothing and
    every frame takes the ASGI send: slower, never wrong (a test says which path runs)."""
    current: Any = send
    for _ in range(4):
        owner = getattr(current, "__self__", None)
        if isinstance(owner, WebSocketsSansIOProtocol):
            return None if owner.conn.extensions else owner
        code = getattr(current, "__code__", None)
        if code is None or "send" not in code.co_freevars:
            return None
        current = current.__closure__[code.co_freevars.index("send")].cell_contents
    return None


class AuthenticationFailed(Exception):
    """The token is missing, invalid or expired, or its session has ended."""


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    subject: str  # the user id
    session: str  # the login session the token belongs to
    expires_at: float  # epoch seconds, by the gatekeeper's clock
    identity: Any = None  # the platform's own view of the caller, for `authorize`


class Gatekeeper(Protocol):
    def now(self) -> float:
        """Epoch seconds by the platform's clock (token expiry is judged by it)."""

    async def authenticate(self, token: str) -> Principal: ...

    async def authorize(self, principal: Principal, channel: Channel) -> str | None:
        """None when `principal` may watch `channel`, else the reason it may not."""

    async def ended_sessions(self, sessions: Collection[str]) -> set[str]:
        """Which of `sessions` were revoked (or whose user may no longer sign in)."""

    async def revoked(self, channel: Channel, subjects: Collection[str]) -> tuple[set[str], str]:
        """Which of `subjects`, watching `channel`, may no longer (a subscription lapsed,
        a portfolio was unshared), and why; one call for all of a channel's watchers."""


class StreamLimits(msgspec.Struct, frozen=True, kw_only=True):
    send_queue_frames: int = 1024
    send_queue_bytes: int = 4 * 1024 * 1024
    max_frame_bytes: int = 4096
    messages_per_s: float = 20.0
    burst: int = 40
    heartbeat_s: float = 15.0
    idle_timeout_s: float = 45.0
    auth_timeout_s: float = 10.0
    session_check_s: float = 1.0
    max_channels: int = 64
    close_timeout_s: float = 2.0
    reauthorize_s: float = 5.0  # open subscriptions re-checked this often


class _ChannelState:
    __slots__ = ("buffer", "buffered_bytes", "last")

    def __init__(self) -> None:
        self.last = 0
        # While a catch-up is running, live frames wait here instead of being sent,
        # bounded like the send queue (frames and bytes).
        self.buffer: list[tuple[int, str]] | None = []
        self.buffered_bytes = 0


class _Resume:
    """Await the rest of a coroutine that was started by hand (`coro.send(None)`) and
    suspended on `waiting_on`: what `await` would have done had it been awaited."""

    __slots__ = ("coro", "waiting_on")

    def __init__(self, coro: Coroutine[Any, Any, None], waiting_on: Any) -> None:
        self.coro = coro
        self.waiting_on = waiting_on

    def __await__(self) -> Generator[Any, Any, None]:
        coro, waiting_on = self.coro, self.waiting_on
        while True:
            try:
                sent = yield waiting_on
            except BaseException as exc:
                try:
                    waiting_on = coro.throw(exc)
                except StopIteration:
                    return
            else:
                try:
                    waiting_on = coro.send(sent)
                except StopIteration:
                    return


class ClientSession:
    """One WebSocket connection."""

    # Every broadcast touches every session: slots keep each one small and its fields
    # close together (thousands of them do not fit in the CPU's caches otherwise).
    __slots__ = (
        "_max_bytes",
        "_max_frames",
        "_send",
        "channels",
        "closing",
        "direct",
        "draining",
        "id",
        "last_heard",
        "last_ping",
        "limits",
        "opened_at",
        "peer_gone",
        "principal",
        "queue",
        "queued_bytes",
        "reader",
        "repairs",
        "scheduled",
        "sender",
        "server",
        "socket",
        "tokens",
        "tokens_at",
    )

    def __init__(self, server: StreamServer, socket: WebSocket[Any, Any, Any]) -> None:
        self.id = uuid.uuid4().hex
        self.server = server
        self.socket = socket
        self.limits = server.limits
        self.principal: Principal | None = None
        self.channels: dict[str, _ChannelState] = {}
        self.queue: deque[str] = deque()
        self.queued_bytes = 0
        self.scheduled = False  # waiting for the server's next flush
        self.draining = False  # a task is finishing a write the socket could not take
        self._send = cast(Callable[[Message], Coroutine[Any, Any, None]], socket.send)
        self.direct = direct_connection(socket.send)
        self._max_frames = self.limits.send_queue_frames
        self._max_bytes = self.limits.send_queue_bytes
        self.closing: tuple[int, str] | None = None
        self.peer_gone = False
        loop = asyncio.get_running_loop()
        self.opened_at = self.last_heard = self.last_ping = loop.time()
        self.tokens = float(self.limits.burst)
        self.tokens_at = self.opened_at
        self.reader: asyncio.Task[None] | None = None
        self.sender: asyncio.Task[None] | None = None
        self.repairs: set[asyncio.Task[None]] = set()

    # -- outgoing --------------------------------------------------------------------

    def push(self, channel: str, seq: int, frame: str) -> None:
        """Called by the hub for every message on a channel this session watches."""
        state = self.channels.get(channel)
        if state is None or self.closing is not None:
            return
        if state.buffer is None and seq == state.last + 1:  # the common case: next in line
            state.last = seq
            self.enqueue(frame)
            return
        if state.buffer is not None:
            buffered = state.buffered_bytes + len(frame)
            if len(state.buffer) >= self._max_frames or buffered > self._max_bytes:
                self.close(CLOSE_SLOW_CONSUMER, "send queue overflow")
            else:
                state.buffer.append((seq, frame))
                state.buffered_bytes = buffered
            return
        if seq <= state.last:
            return  # already delivered (a replay overlapping live delivery)
        # Something was lost between Redis and this process: fetch it from history.
        state.buffer = [(seq, frame)]
        state.buffered_bytes = len(frame)
        task = asyncio.create_task(self._catch_up(channel, state, state.last, first=False))
        self.repairs.add(task)
        task.add_done_callback(self.repairs.discard)

    def enqueue(self, frame: str) -> None:
        if self.closing is not None:
            return
        queue = self.queue
        queued = self.queued_bytes + len(frame)
        if len(queue) >= self._max_frames or queued > self._max_bytes:
            self.close(CLOSE_SLOW_CONSUMER, "send queue overflow: reading too slowly")
            return
        queue.append(frame)
        self.queued_bytes = queued
        server = self.server
        if queued > server.peak_queue_bytes:
            server.peak_queue_bytes = queued
        if not self.scheduled and not self.draining:
            self.scheduled = True
            server.schedule_flush(self)

    def send_frame(self, frame: ServerFrame) -> None:
        self.enqueue(encode(frame))

    def _take(self) -> tuple[str, int]:
        """The next text frame: what queued up while the socket was busy goes out together,
        one WebSocket frame of newline-separated messages, so a client that falls behind
        costs fewer sends, not more."""
        queue = self.queue
        text = queue.popleft()
        size = len(text)
        if queue:
            batch = [text]
            while queue and size < BATCH_BYTES:
                frame = queue.popleft()
                batch.append(frame)
                size += len(frame)
            text = "\n".join(batch)
        self.queued_bytes -= size
        return text, size

    def flush(self) -> None:
        """Write the queue now. On uvicorn's connection, while its socket takes bytes, the
        frame goes straight to the transport: a broadcast is framed once for all its
        subscribers (`StreamServer.wire_frame`), and each delivery is one write. Otherwise
        the ASGI send: one that completes without waiting costs no task switch; one that
        has to wait for the socket to drain is finished by a task, which then drains the
        rest."""
        self.scheduled = False
        queue = self.queue
        direct = self.direct
        while queue and self.closing is None and not self.draining:
            if len(queue) == 1:  # the common case: one message since the last flush
                text = queue.popleft()
                self.queued_bytes -= len(text)
            else:
                text, _ = self._take()
            if (
                direct is not None
                and direct.writable.is_set()  # not paused: the socket takes more
                and not direct.close_sent
                and not direct.disconnected
                and direct.conn.state is State.OPEN
            ):
                direct.transport.write(self.server.wire_frame(text))
                self.server.direct_writes += 1
                continue
            # The ASGI send is an `async def`: calling it gives a coroutine.
            sending = self._send({"type": "websocket.send", "bytes": None, "text": text})
            try:
                waiting_on = sending.send(None)
            except StopIteration:
                continue
            except Exception:
                self.close(CLOSE_GOING_AWAY, "connection lost", peer_gone=True)
                return
            self.draining = True
            self.sender = asyncio.create_task(self._drain(sending, waiting_on))

    async def _drain(self, sending: Coroutine[Any, Any, None], waiting_on: Any) -> None:
        try:
            await _Resume(sending, waiting_on)
            while self.queue and self.closing is None:
                text, _ = self._take()
                await self._send({"type": "websocket.send", "bytes": None, "text": text})
        except asyncio.CancelledError:
            raise
        except Exception:  # the peer went away mid-send
            self.close(CLOSE_GOING_AWAY, "connection lost", peer_gone=True)
        finally:
            self.draining = False

    def close(self, code: int, reason: str, *, peer_gone: bool = False) -> None:
        """Stop this session; unless the peer is already gone, `serve` then sends the
        close frame with `code` (bounded by `close_timeout_s`, as a slow consumer may
        not be reading at all)."""
        if self.closing is not None:
            return
        self.closing = (code, reason)
        self.peer_gone = peer_gone
        if not peer_gone:
            self.server.closed_by_reason[reason.split(":")[0]] += 1
        self.queue.clear()
        self.queued_bytes = 0
        for task in (self.sender, self.reader, *self.repairs):
            if task is not None and task is not asyncio.current_task():
                task.cancel()

    # -- incoming --------------------------------------------------------------------

    def _within_rate(self, now: float) -> bool:
        rate, burst = self.limits.messages_per_s, self.limits.burst
        self.tokens = min(burst, self.tokens + (now - self.tokens_at) * rate)
        self.tokens_at = now
        if self.tokens < 1.0:
            return False
        self.tokens -= 1.0
        return True

    async def read_loop(self) -> None:
        try:
            await self._read_frames()
        except WebSocketDisconnect:
            return
        except Exception:
            log.exception("stream connection failed")
            self.close(CLOSE_INTERNAL_ERROR, "internal error")

    async def _read_frames(self) -> None:
        receive = self.socket.receive
        loop = asyncio.get_running_loop()
        while True:
            event = await receive()
            if event["type"] != "websocket.receive":
                return
            raw = event.get("text")
            if raw is None:
                raw = (event.get("bytes") or b"").decode("utf-8", "replace")
            if len(raw) > self.limits.max_frame_bytes or (
                len(raw) * 4 > self.limits.max_frame_bytes
                and len(raw.encode()) > self.limits.max_frame_bytes
            ):
                self.close(CLOSE_TOO_BIG, f"frame larger than {self.limits.max_frame_bytes} bytes")
                return
            now = loop.time()
            if not self._within_rate(now):
                self.close(CLOSE_RATE_LIMITED, "too many messages")
                return
            self.last_heard = now
            try:
                frame = client_decoder.decode(raw)
            except msgspec.DecodeError as exc:
                self.close(CLOSE_PROTOCOL_ERROR, f"malformed frame: {exc}"[:120])
                return
            if isinstance(frame, Auth):
                await self._authenticate(frame.token)
            elif self.principal is None:
                self.close(CLOSE_UNAUTHORIZED, "authenticate first")
            elif isinstance(frame, Subscribe):
                await self._subscribe(frame.channel, frame.after_seq)
            elif isinstance(frame, Unsubscribe):
                self._unsubscribe(frame.channel)
            elif isinstance(frame, ClientPing):
                self.send_frame(Pong())
            else:
                assert isinstance(frame, ClientPong)
            if self.closing is not None:
                return

    async def _authenticate(self, token: str) -> None:
        try:
            principal = await self.server.gatekeeper.authenticate(token)
        except AuthenticationFailed as exc:
            self.close(CLOSE_UNAUTHORIZED, f"unauthorized: {exc}"[:120])
            return
        if self.principal is not None and principal.subject != self.principal.subject:
            self.close(CLOSE_UNAUTHORIZED, "unauthorized: a connection cannot change user")
            return
        self.principal = principal
        self.send_frame(
            Welcome(
                connection_id=self.id,
                subject=principal.subject,
                heartbeat_s=self.limits.heartbeat_s,
                idle_timeout_s=self.limits.idle_timeout_s,
                expires_at=principal.expires_at,
            )
        )

    async def _subscribe(self, name: str, after_seq: int | None) -> None:
        try:
            channel = parse_channel(name)
        except InvalidChannel as exc:
            self.send_frame(Error(code="invalid_channel", detail=str(exc), channel=name))
            return
        if after_seq is not None and after_seq < 0:
            self.send_frame(Error(code="invalid_seq", detail="after_seq must be ≥ 0", channel=name))
            return
        if channel.name not in self.channels and len(self.channels) >= self.limits.max_channels:
            detail = f"at most {self.limits.max_channels} channels per connection"
            self.send_frame(Error(code="too_many_channels", detail=detail, channel=name))
            return
        assert self.principal is not None
        denied = await self.server.gatekeeper.authorize(self.principal, channel)
        if denied is not None:
            self.send_frame(Error(code="forbidden", detail=denied, channel=channel.name))
            return
        state = _ChannelState()
        self.channels[channel.name] = state
        self.server.hub.attach(channel.name, self)
        await self._catch_up(channel.name, state, after_seq, first=True)

    async def _catch_up(
        self, name: str, state: _ChannelState, after_seq: int | None, *, first: bool
    ) -> None:
        try:
            result = await self.server.hub.catch_up(name, after_seq)
        except Exception:
            log.exception("stream catch-up failed for %s", name)
            if self.channels.get(name) is state:
                self._unsubscribe(name, reply=False)
            self.send_frame(
                Error(code="unavailable", detail="history is unavailable; retry", channel=name)
            )
            return
        if self.channels.get(name) is not state or self.closing is not None:
            return  # unsubscribed (or closed) meanwhile
        if result.complete and after_seq is not None:
            state.last = after_seq
        else:
            state.last = result.last_seq
        if first and result.complete:
            self.send_frame(Subscribed(channel=name, seq=state.last, replayed=len(result.frames)))
        elif not result.complete:
            self.send_frame(Resync(channel=name, seq=result.last_seq))
        for seq, frame in result.frames:
            state.last = seq
            self.enqueue(frame)
        buffered, state.buffer, state.buffered_bytes = state.buffer or [], None, 0
        for seq, frame in buffered:
            self.push(name, seq, frame)

    def _unsubscribe(self, name: str, *, reply: bool = True) -> None:
        if self.channels.pop(name, None) is not None:
            self.server.hub.detach(name, self)
        if reply:
            self.send_frame(Unsubscribed(channel=name))

    def detach_all(self) -> None:
        for name in list(self.channels):
            self.server.hub.detach(name, self)
        self.channels.clear()


class StreamServer:
    """All stream connections of one process."""

    def __init__(
        self,
        hub: StreamHub,
        gatekeeper: Gatekeeper,
        *,
        limits: StreamLimits,
        allowed_origins: Collection[str],
    ) -> None:
        self.hub = hub
        self.gatekeeper = gatekeeper
        self.limits = limits
        self.allowed_origins = frozenset(o.rstrip("/") for o in allowed_origins)
        self.sessions: set[ClientSession] = set()
        self.closed_by_reason: Counter[str] = Counter()
        self.peak_queue_bytes = 0
        self._watcher: asyncio.Task[None] | None = None
        self._ready: list[ClientSession] = []
        self._flush_handle: asyncio.Handle | None = None
        self.direct_writes = 0  # frames written straight to a uvicorn transport
        self._reauthorizing: asyncio.Task[None] | None = None
        self._framed_text: str | None = None
        self._framed = b""

    def wire_frame(self, text: str) -> bytes:
        """`text` as one unmasked WebSocket text frame. A broadcast hands every session
        the same string object, so it is framed once, not once per subscriber (the
        identity check is safe: the cached string is held, so its id cannot be reused)."""
        if text is not self._framed_text:
            self._framed = Frame(Opcode.TEXT, text.encode()).serialize(mask=False)
            self._framed_text = text
        return self._framed

    def schedule_flush(self, session: ClientSession) -> None:
        self._ready.append(session)
        if self._flush_handle is None:
            self._flush_handle = asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_handle = None
        ready, self._ready = self._ready, []
        for session in ready:
            session.flush()

    async def start(self) -> None:
        self._watcher = asyncio.create_task(self._watch(), name="streams-watcher")

    async def stop(self) -> None:
        for task in (self._watcher, self._reauthorizing):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        for session in list(self.sessions):
            session.close(CLOSE_GOING_AWAY, "server shutting down")

    def origin_allowed(self, origin: str | None) -> bool:
        # Browsers always send Origin; its absence means a non-browser client (our Python
        # client, a notebook), which cannot be the victim of cross-site WebSocket hijacking.
        return origin is None or origin.rstrip("/") in self.allowed_origins

    async def serve(self, socket: WebSocket[Any, Any, Any]) -> None:
        """Run one connection from handshake to close."""
        if not self.origin_allowed(socket.headers.get("origin")):
            await socket.close(code=CLOSE_POLICY, reason="origin not allowed")
            return
        offered: list[str] = list(socket.scope.get("subprotocols") or [])
        token = next(
            (
                p[len(BEARER_SUBPROTOCOL_PREFIX) :]
                for p in offered
                if p.startswith(BEARER_SUBPROTOCOL_PREFIX)
            ),
            None,
        )
        # Echo only the protocol name, never the token.
        await socket.accept(subprotocols=SUBPROTOCOL if SUBPROTOCOL in offered else None)
        session = ClientSession(self, socket)
        self.sessions.add(session)
        try:
            if token is not None:
                await session._authenticate(token)
            if session.closing is None:
                session.reader = asyncio.create_task(session.read_loop())
                await asyncio.wait([session.reader])
                if session.closing is None:
                    session.close(CLOSE_GOING_AWAY, "client disconnected", peer_gone=True)
        finally:
            self.sessions.discard(session)
            session.detach_all()
            for task in (session.sender, *session.repairs):
                if task is not None:
                    task.cancel()
            if session.closing is not None and not session.peer_gone:
                code, reason = session.closing
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(
                        socket.close(code=code, reason=reason[:120]),
                        self.limits.close_timeout_s,
                    )

    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        limits = self.limits
        reauthorized_at = loop.time()
        while True:
            await asyncio.sleep(limits.session_check_s)
            mono = loop.time()
            now = self.gatekeeper.now()
            # Each connection is pinged on its own schedule (from when it opened), so
            # 10,000 connections cost a steady trickle of pings, not a burst.
            ping = encode(Ping(ts_ms=int(time.time() * 1000)))
            live: dict[str, list[ClientSession]] = {}
            for session in list(self.sessions):
                if session.closing is not None:
                    continue
                principal = session.principal
                if principal is None:
                    if mono - session.opened_at > limits.auth_timeout_s:
                        session.close(CLOSE_TIMEOUT, "authentication timed out")
                    continue
                if mono - session.last_heard > limits.idle_timeout_s:
                    session.close(CLOSE_TIMEOUT, "idle timeout")
                elif principal.expires_at <= now:
                    session.close(CLOSE_UNAUTHORIZED, "token expired")
                else:
                    live.setdefault(principal.session, []).append(session)
                    if mono - session.last_ping >= limits.heartbeat_s:
                        session.last_ping = mono
                        session.enqueue(ping)
            if not live:
                continue
            try:
                ended = await self.gatekeeper.ended_sessions(live.keys())
            except Exception:
                log.exception("stream session check failed")
                continue
            for session_id in ended:
                for session in live.get(session_id, ()):
                    session.close(CLOSE_UNAUTHORIZED, "session ended")
            if mono - reauthorized_at >= limits.reauthorize_s and (
                self._reauthorizing is None or self._reauthorizing.done()
            ):
                # A task of its own: many channels' queries must not delay the session
                # checks above (a revoked session goes within 5 s, whatever else runs).
                reauthorized_at = mono
                self._reauthorizing = asyncio.create_task(self._reauthorize())

    async def _reauthorize(self) -> None:
        """Re-check every open subscription whose access can end while it is watched (a
        subscription lapsed, a portfolio was unshared): one gatekeeper call per channel.
        A watcher no longer allowed gets an error frame naming the channel, and nothing
        more from it; the connection and its other channels go on."""
        watchers: dict[str, dict[str, list[ClientSession]]] = {}
        for session in self.sessions:
            principal = session.principal
            if principal is None or session.closing is not None:
                continue
            for name in session.channels:
                watchers.setdefault(name, {}).setdefault(principal.subject, []).append(session)
        for name, by_subject in watchers.items():
            try:
                revoked, reason = await self.gatekeeper.revoked(parse_channel(name), by_subject)
            except Exception:
                log.exception("stream re-authorization failed for %s", name)
                continue
            for subject in revoked:
                for session in by_subject[subject]:
                    if name in session.channels:
                        session._unsubscribe(name, reply=False)
                        session.send_frame(Error(code="forbidden", detail=reason, channel=name))
