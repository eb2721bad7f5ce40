"""The wire protocol of `/api/v1/stream`: JSON text frames tagged by `op`, and the close
codes the server uses. Client and server both decode with the unions below.

Client → server
    {"op": "auth", "token": "<access token>"}      the first frame, unless the token came in
                                                   the `Sec-WebSocket-Protocol` header as
                                                   `dracarys.v1, bearer.<token>`; sent again
                                                   later, it refreshes the token
    {"op": "subscribe", "channel": "market:BTC-USD", "after_seq": 41}
                                                   `after_seq` (optional) resumes after that seq
    {"op": "unsubscribe", "channel": "market:BTC-USD"}
    {"op": "pong"}  /  {"op": "ping"}

Server → client
    {"op": "welcome", ...}                          authenticated
    {"op": "subscribed", "channel": c, "seq": n, "replayed": k}
                                                   position after subscribing: without `after_seq`
                                                   live messages start at n+1; with it, k missed
                                                   messages follow, then live ones
    {"op": "resync", "channel": c, "seq": n}        the missed messages are no longer in the history
                                                   (or the channel was reset): reload state from the
                                                   REST API; live messages continue from n+1
    {"op": "message", "seq": n, "channel": c, "data": {"type": "<tag>", ...}}
    {"op": "unsubscribed", "channel": c}
    {"op": "error", "code": "forbidden", "detail": "...", "channel": c}
    {"op": "ping", "ts_ms": ...}  /  {"op": "pong"}

A server text frame carries one message or several separated by "\n" (JSON text never
contains a raw newline): when messages queue up for a connection they are sent together.

Sequence numbers are per channel, start at 1, and grow by exactly one per message, so a
client detects a gap or a duplicate by comparing with the last seq it saw.

An error frame naming a channel ends that subscription only (a refused subscribe, or
access that ended while watching: a lapsed paid feed, an unshared portfolio); the
connection and its other channels go on.

Close codes (what a client should do)
    1000  normal close
    1001  server shutting down                           reconnect and resume
    1008  Origin not allowed (HTTP 403 at the handshake)  fix the page's origin
    1009  a client frame over the size limit              send smaller frames
    1011  internal error                                  reconnect and resume
    4400  malformed or unexpected client frame            fix the client
    4401  bad or expired token, session revoked           sign in again, then reconnect
    4408  no auth frame in time, or idle (no pong)        reconnect; answer pings
    4429  client frames faster than the rate limit        reconnect after a pause
    4490  slow consumer: its send queue overflowed        reconnect and resume, read faster"""

from __future__ import annotations

from typing import Any

import msgspec

SUBPROTOCOL = "dracarys.v1"
BEARER_SUBPROTOCOL_PREFIX = "bearer."

# Close codes (RFC 6455 leaves 4000–4999 to applications).
CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001  # server shutting down: reconnect and resume
CLOSE_POLICY = 1008  # Origin not allowed (sent as HTTP 403 before the handshake completes)
CLOSE_TOO_BIG = 1009  # a client frame larger than the configured limit
CLOSE_INTERNAL_ERROR = 1011  # a bug on our side: reconnect and resume
CLOSE_PROTOCOL_ERROR = 4400  # malformed or unexpected client frame
CLOSE_UNAUTHORIZED = 4401  # bad token, token expired, session revoked, user banned
CLOSE_TIMEOUT = 4408  # no auth frame in time, or nothing heard from the client (idle)
CLOSE_RATE_LIMITED = 4429  # the client sent frames faster than allowed
CLOSE_SLOW_CONSUMER = 4490  # the client read too slowly: its send queue overflowed

# Close codes after which reconnecting with the same credentials is pointless.
FATAL_CLOSE_CODES = frozenset({CLOSE_POLICY, CLOSE_UNAUTHORIZED, CLOSE_PROTOCOL_ERROR})


class ClientFrame(msgspec.Struct, tag_field="op", forbid_unknown_fields=True, kw_only=True):
    pass


class Auth(ClientFrame, tag="auth"):
    token: str


class Subscribe(ClientFrame, tag="subscribe"):
    channel: str
    after_seq: int | None = None


class Unsubscribe(ClientFrame, tag="unsubscribe"):
    channel: str


class ClientPing(ClientFrame, tag="ping"):
    pass


class ClientPong(ClientFrame, tag="pong"):
    pass


ClientMessage = Auth | Subscribe | Unsubscribe | ClientPing | ClientPong


class ServerFrame(msgspec.Struct, tag_field="op", kw_only=True, omit_defaults=True):
    pass


class Welcome(ServerFrame, tag="welcome"):
    connection_id: str
    subject: str
    heartbeat_s: float
    idle_timeout_s: float
    expires_at: float


class Subscribed(ServerFrame, tag="subscribed"):
    channel: str
    seq: int
    replayed: int = 0


class Resync(ServerFrame, tag="resync"):
    channel: str
    seq: int


class Unsubscribed(ServerFrame, tag="unsubscribed"):
    channel: str


class Error(ServerFrame, tag="error"):
    code: str
    detail: str
    channel: str | None = None


class Ping(ServerFrame, tag="ping"):
    ts_ms: int


class Pong(ServerFrame, tag="pong"):
    pass


class Message(ServerFrame, tag="message"):
    seq: int
    channel: str
    data: Any


ServerMessage = Welcome | Subscribed | Resync | Unsubscribed | Error | Ping | Pong | Message

_encoder = msgspec.json.Encoder()
client_decoder = msgspec.json.Decoder(ClientMessage)
server_decoder = msgspec.json.Decoder(ServerMessage)


def encode(frame: ServerFrame | ClientFrame) -> str:
    return _encoder.encode(frame).decode()


def message_frame_parts(channel: str, data: bytes) -> tuple[str, str]:
    """A message frame split around its sequence number, so the backend that assigns the
    number (atomically, in Redis) can complete it without decoding anything."""
    return '{"op":"message","seq":', f',"channel":"{channel}","data":{data.decode()}}}'


_SEQ_START = len('{"op":"message","seq":')


def seq_of(frame: str) -> int:
    """The sequence number of a frame built by `message_frame_parts`."""
    return int(frame[_SEQ_START : frame.index(",", _SEQ_START)])
