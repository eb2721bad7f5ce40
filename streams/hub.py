"""The publisher every module uses, and the transport under it.

`StreamHub.publish(channel, message)` gives the message the channel's next sequence
number, keeps it in the channel's history (for resume) and delivers it to every
subscriber in every API process. Two transports, chosen by the platform's settings:

- `MemoryBackend`: one process (the embedded mode); numbers, history and delivery in memory.
- `RedisBackend`: any number of processes. One Lua script does INCR (the number), XADD (the
  history, a Redis Stream whose entry ids are `<seq>-0`) and PUBLISH (live delivery)
  atomically, so numbers are gap-free and every process sees them in order whatever
  process published them. Each API process holds one pattern subscription for all
  channels and fans out locally.

Why not Litestar's `ChannelsPlugin` backends: they publish and keep history without
sequence numbers (history is "the last N", not "after seq n"), and their Redis script
does XADD + PUBLISH without a counter, so two publishers cannot agree on gap-free
numbers. The WebSocket route itself is Litestar's (its WebSocket handler, routing, the
app's settings and lifespan); `benchmarks/streams_fanout.py` measures Litestar's plain
channels route beside ours on the same Redis (p99 600 ms against 204 ms for 10,000
subscribers).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, Protocol

import msgspec
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from streams.channels import parse_channel
from streams.protocol import message_frame_parts, seq_of

log = logging.getLogger("streams.hub")

Deliver = Callable[[str, int, str], None]


class Sink(Protocol):
    """A local subscriber (one WebSocket connection). `push` must not block."""

    def push(self, channel: str, seq: int, frame: str) -> None: ...


class CatchUp(NamedTuple):
    """The channel's position, and the messages after `after_seq` when asked for."""

    last_seq: int
    frames: list[tuple[int, str]]
    # False when what was asked for is no longer (or never was) in the history.
    complete: bool


def _catch_up(last_seq: int, after_seq: int | None, frames: list[tuple[int, str]]) -> CatchUp:
    if after_seq is None or after_seq == last_seq:
        return CatchUp(last_seq, [], True)
    if after_seq > last_seq:  # the channel was reset (its history expired): start over
        return CatchUp(last_seq, [], False)
    frames = [(seq, frame) for seq, frame in frames if after_seq < seq <= last_seq]
    complete = bool(frames) and frames[0][0] == after_seq + 1 and frames[-1][0] == last_seq
    return CatchUp(last_seq, frames if complete else [], complete)


class StreamBackend(ABC):
    def __init__(self) -> None:
        self._deliver: Deliver = lambda channel, seq, frame: None

    def bind(self, deliver: Deliver) -> None:
        self._deliver = deliver

    async def start(self) -> None:  # noqa: B027 - optional hook
        """Begin receiving what other processes publish."""

    async def stop(self) -> None:  # noqa: B027 - optional hook
        """Stop receiving."""

    @abstractmethod
    async def append(self, channel: str, head: str, tail: str) -> int:
        """Number the frame `head + seq + tail`, keep it in history, deliver it; → seq."""

    async def append_many(self, frames: Sequence[tuple[str, str, str]]) -> list[int]:
        """`append` for each (channel, head, tail), in order; a backend may batch them."""
        return [await self.append(channel, head, tail) for channel, head, tail in frames]

    @abstractmethod
    async def catch_up(self, channel: str, after_seq: int | None) -> CatchUp: ...


class _MemoryLog:
    __slots__ = ("history", "seq")

    def __init__(self, size: int) -> None:
        self.seq = 0
        self.history: deque[tuple[int, str]] = deque(maxlen=size)


class MemoryBackend(StreamBackend):
    def __init__(self, *, history_size: int) -> None:
        super().__init__()
        self._history_size = history_size
        self._logs: dict[str, _MemoryLog] = {}

    async def append(self, channel: str, head: str, tail: str) -> int:
        log_ = self._logs.get(channel)
        if log_ is None:
            log_ = self._logs[channel] = _MemoryLog(self._history_size)
        log_.seq += 1
        frame = f"{head}{log_.seq}{tail}"
        log_.history.append((log_.seq, frame))
        self._deliver(channel, log_.seq, frame)
        return log_.seq

    async def catch_up(self, channel: str, after_seq: int | None) -> CatchUp:
        log_ = self._logs.get(channel)
        if log_ is None:
            return _catch_up(0, after_seq, [])
        return _catch_up(log_.seq, after_seq, list(log_.history))


# KEYS: seq counter, history stream. ARGV: frame head, frame tail, history size,
# ttl seconds (0 = keep), pubsub channel. A counter that restarts (its key expired or was
# lost) starts a new history too, since stream ids must keep growing.
_APPEND_LUA = """
local seq = redis.call('INCR', KEYS[1])
if seq == 1 then redis.call('DEL', KEYS[2]) end
local frame = ARGV[1] .. seq .. ARGV[2]
redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[3], seq .. '-0', 'f', frame)
local ttl = tonumber(ARGV[4])
if ttl > 0 then
  redis.call('EXPIRE', KEYS[1], ttl)
  redis.call('EXPIRE', KEYS[2], ttl)
end
redis.call('PUBLISH', ARGV[5], frame)
return seq
"""


# Commands this backend keeps in flight at once, well under redis-py's default pool of 100.
REDIS_CONCURRENCY = 32
# Frames per pipeline in `append_many`.
APPEND_BATCH = 1_000


class RedisBackend(StreamBackend):
    def __init__(self, redis: Redis, *, prefix: str, history_size: int, history_ttl_s: int) -> None:
        super().__init__()
        self._redis = redis
        self._prefix = f"{prefix}:stream"
        self._history_size = history_size
        self._ttl_s = history_ttl_s
        self._append = redis.register_script(_APPEND_LUA)
        self._live_prefix = f"{self._prefix}:live:"
        self._listener: asyncio.Task[None] | None = None
        self._pubsub: Any = None
        self._live = asyncio.Event()
        # The Redis client's pool is shared and bounded: a reconnect storm (thousands of
        # clients resuming at once after a deploy) waits its turn instead of failing.
        self._in_flight = asyncio.Semaphore(REDIS_CONCURRENCY)

    def _keys(self, channel: str) -> tuple[str, str]:
        return f"{self._prefix}:seq:{channel}", f"{self._prefix}:log:{channel}"

    async def append(self, channel: str, head: str, tail: str) -> int:
        seq_key, log_key = self._keys(channel)
        async with self._in_flight:
            seq = await self._append(
                keys=[seq_key, log_key],
                args=[head, tail, self._history_size, self._ttl_s, self._live_prefix + channel],
            )
        return int(seq)

    async def append_many(self, frames: Sequence[tuple[str, str, str]]) -> list[int]:
        """One round trip per `APPEND_BATCH` frames (a pipeline of the same script): a
        fan-out to thousands of channels (one notification per follower) is not
        thousands of round trips. Order within a channel is kept: a pipeline runs its
        commands in order."""
        seqs: list[int] = []
        for start in range(0, len(frames), APPEND_BATCH):
            async with self._in_flight:
                pipe = self._redis.pipeline(transaction=False)
                for channel, head, tail in frames[start : start + APPEND_BATCH]:
                    seq_key, log_key = self._keys(channel)
                    await self._append(
                        keys=[seq_key, log_key],
                        args=[
                            head,
                            tail,
                            self._history_size,
                            self._ttl_s,
                            self._live_prefix + channel,
                        ],
                        client=pipe,
                    )
                seqs.extend(int(seq) for seq in await pipe.execute())
        return seqs

    async def catch_up(self, channel: str, after_seq: int | None) -> CatchUp:
        if self._listener is not None:  # serving subscribers: live delivery must be on
            await asyncio.wait_for(self._live.wait(), 5.0)
        seq_key, log_key = self._keys(channel)
        async with self._in_flight, self._redis.pipeline(transaction=True) as pipe:
            pipe.get(seq_key)
            if after_seq is not None:
                pipe.xrange(log_key, min=f"{after_seq + 1}-0", max="+")
            replies = await pipe.execute()
        last_seq = int(replies[0] or 0)
        frames: list[tuple[int, str]] = []
        if after_seq is not None:
            for entry_id, fields in replies[1]:
                frames.append((int(entry_id.split(b"-", 1)[0]), fields[b"f"].decode()))
        return _catch_up(last_seq, after_seq, frames)

    async def start(self) -> None:
        # Redis may be down at start: the app still starts (readiness says so) and the
        # listener keeps trying; subscriptions wait until it is live.
        self._listener = asyncio.create_task(self._listen(), name="streams-redis-listener")

    async def _subscribe_all(self) -> None:
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()
        self._pubsub = self._redis.pubsub()
        await self._pubsub.psubscribe(f"{self._live_prefix}*")
        # Only once the subscription is confirmed may a catch-up rely on it: from then
        # on every PUBLISH reaches this process.
        while True:
            reply = await self._pubsub.get_message(timeout=5.0)
            if reply is not None and reply["type"] == "psubscribe":
                break
        self._live.set()

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None
        if self._pubsub is not None:
            await self._pubsub.aclose()
            self._pubsub = None
        self._live.clear()

    async def _listen(self) -> None:
        cut = len(self._live_prefix)
        while True:
            try:
                if not self._live.is_set():
                    await self._subscribe_all()
                reply = await self._pubsub.get_message(timeout=30.0)
            except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
                # Anything published while the subscription was down is recovered by the
                # sessions' gap repair (from the history) on the channel's next message.
                self._live.clear()
                log.warning("streams listener cannot reach Redis: %s", exc)
                await asyncio.sleep(1.0)
                continue
            if reply is None or reply["type"] != "pmessage":
                continue
            frame = reply["data"].decode()
            try:
                self._deliver(reply["channel"][cut:].decode(), seq_of(frame), frame)
            except Exception:  # one bad sink must not stop delivery to the others
                log.exception("streams delivery failed")


class StreamHub:
    """Publish to channels; local subscribers attach here.

    Usage from any domain service::

        from streams import StreamHub, channels
        await platform.streams.publish(channels.portfolio(account.id), FillFrame(...))

    `message` must be a tagged msgspec Struct (`class FillFrame(FillRead, tag="fill",
    tag_field="type")`): the tag is the message's `type` on the wire.
    """

    def __init__(self, backend: StreamBackend) -> None:
        self._backend = backend
        self._sinks: dict[str, set[Sink]] = {}
        self._encoder = msgspec.json.Encoder()
        self.published = 0
        backend.bind(self._dispatch)

    @property
    def backend(self) -> StreamBackend:
        return self._backend

    async def start(self) -> None:
        await self._backend.start()

    async def stop(self) -> None:
        await self._backend.stop()

    async def publish(self, channel: str, message: msgspec.Struct) -> int:
        """Publish `message` on `channel`; returns the sequence number it got."""
        name = parse_channel(channel).name
        if type(message).__struct_config__.tag is None:
            raise TypeError(
                f"{type(message).__name__} has no type tag: declare it with "
                '`tag="...", tag_field="type"` so clients can tell messages apart'
            )
        head, tail = message_frame_parts(name, self._encoder.encode(message))
        seq = await self._backend.append(name, head, tail)
        self.published += 1
        return seq

    async def publish_many(self, messages: Sequence[tuple[str, msgspec.Struct]]) -> list[int]:
        """`publish` each (channel, message), in order, batched by the backend (one Redis
        round trip per thousand): for fan-outs."""
        frames = []
        for channel, message in messages:
            name = parse_channel(channel).name
            if type(message).__struct_config__.tag is None:
                raise TypeError(f"{type(message).__name__} has no type tag")
            frames.append((name, *message_frame_parts(name, self._encoder.encode(message))))
        seqs = await self._backend.append_many(frames)
        self.published += len(seqs)
        return seqs

    async def catch_up(self, channel: str, after_seq: int | None) -> CatchUp:
        return await self._backend.catch_up(channel, after_seq)

    def attach(self, channel: str, sink: Sink) -> None:
        self._sinks.setdefault(channel, set()).add(sink)

    def detach(self, channel: str, sink: Sink) -> None:
        sinks = self._sinks.get(channel)
        if sinks is not None:
            sinks.discard(sink)
            if not sinks:
                del self._sinks[channel]

    def _dispatch(self, channel: str, seq: int, frame: str) -> None:
        sinks = self._sinks.get(channel)
        if sinks:
            for sink in tuple(sinks):
                sink.push(channel, seq, frame)
