"""The browser stream client (static/js/stream.js) against a scripted server: it hands a
page every message once and in order — a duplicate is dropped, a gap makes it ask again
from the last message it delivered, a resync hands control back to the page — and after
a drop it resumes every channel after its last sequence number. Runs the real module in
Chromium with the WebSocket replaced by a scripted one."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from dracarys.web.pages import STATIC_DIR

pytestmark = pytest.mark.browser

# A WebSocket stand-in: records what the client sends; `window.__serve(i, frame)` delivers
# a server frame on socket i, `window.__drop(i)` closes it as a lost connection would.
SCRIPTED_SOCKET = """
window.__sockets = [];
class ScriptedSocket extends EventTarget {
  constructor(url, protocols) {
    super();
    this.url = url; this.protocols = protocols; this.sent = []; this.readyState = 0;
    window.__sockets.push(this);
    setTimeout(() => { this.readyState = 1; this.dispatchEvent(new Event('open')); }, 0);
  }
  send(data) { this.sent.push(JSON.parse(data)); }
  close(code = 1000, reason = '') {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.dispatchEvent(Object.assign(new Event('close'), { code, reason }));
  }
}
ScriptedSocket.OPEN = 1;
window.WebSocket = ScriptedSocket;
window.__serve = (i, frames) => window.__sockets[i].dispatchEvent(
  new MessageEvent('message', { data: frames.map(f => JSON.stringify(f)).join('\\n') }));
window.__drop = (i) => window.__sockets[i].close(1006, 'lost');
localStorage.setItem('dracarys.session', JSON.stringify({
  access_token: 'token-1', refresh_token: 'r', user_id: 'u', role: 'mentee',
  expires_at: Date.now() + 600000 }));
"""

START = """async () => {
  const { LiveStream } = await import('/js/stream.js');
  const stream = new LiveStream('ws://scripted/api/v1/stream');
  window.__delivered = [];
  window.__resyncs = [];
  const handlers = (name) => ({
    onMessage: (data, seq) => window.__delivered.push([name, seq, data.n]),
    onResync: (seq) => window.__resyncs.push([name, seq]),
  });
  stream.subscribe('portfolio:a', handlers('a'));
  stream.subscribe('market:X', handlers('x'), { afterSeq: 10 });
  stream.start();
  window.__stream = stream;
  await new Promise((resolve) => setTimeout(resolve, 50));
}"""


def msg(channel: str, seq: int) -> dict[str, Any]:
    return {"op": "message", "channel": channel, "seq": seq, "data": {"n": seq}}


@pytest.fixture(scope="module")
def static_server() -> Iterator[str]:
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(STATIC_DIR))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


async def test_stream_client_delivers_once_in_order_across_gaps_duplicates_and_drops(
    context: Any, static_server: str
) -> None:
    page = await context.new_page()
    await page.add_init_script(SCRIPTED_SOCKET)
    await page.goto(f"{static_server}/favicon.svg")
    await page.evaluate(START)

    async def serve(i: int, *frames: dict[str, Any]) -> None:
        await page.evaluate("([i, f]) => window.__serve(i, f)", [i, list(frames)])

    async def sent(i: int) -> list[dict[str, Any]]:
        frames: list[dict[str, Any]] = await page.evaluate("(i) => window.__sockets[i].sent", i)
        return frames

    # Authenticates in the first frame, then subscribes once welcomed.
    assert await sent(0) == [{"op": "auth", "token": "token-1"}]
    await serve(0, {"op": "welcome", "expires_at": 4102444800})
    assert (await sent(0))[1:] == [
        {"op": "subscribe", "channel": "portfolio:a"},
        {"op": "subscribe", "channel": "market:X", "after_seq": 10},
    ]
    await serve(0, {"op": "subscribed", "channel": "portfolio:a", "seq": 4})
    # Live messages, a duplicate, and a gap (7 missing) in one batch.
    await serve(0, msg("portfolio:a", 5), msg("portfolio:a", 6), msg("portfolio:a", 6))
    await serve(0, msg("portfolio:a", 8))
    assert (await sent(0))[-1] == {"op": "subscribe", "channel": "portfolio:a", "after_seq": 6}
    await serve(0, {"op": "subscribed", "channel": "portfolio:a", "seq": 6, "replayed": 2})
    await serve(0, msg("portfolio:a", 7), msg("portfolio:a", 8), msg("portfolio:a", 9))
    await serve(0, {"op": "ping", "ts_ms": 1})
    assert (await sent(0))[-1] == {"op": "pong"}

    # The connection drops: a new one resumes each channel after what was delivered.
    await page.evaluate("window.__drop(0)")
    assert await page.evaluate("window.__stream.state") == "reconnecting"
    await page.wait_for_function("() => window.__sockets.length === 2", timeout=5000)
    await page.wait_for_function("() => window.__sockets[1].readyState === 1")
    await serve(1, {"op": "welcome", "expires_at": 4102444800})
    assert (await sent(1))[1:] == [
        {"op": "subscribe", "channel": "portfolio:a", "after_seq": 9},
        {"op": "subscribe", "channel": "market:X", "after_seq": 10},
    ]
    assert await page.evaluate("window.__stream.state") == "live"
    # Replayed and live messages overlap with what the page saw: only new ones pass.
    await serve(1, msg("portfolio:a", 9), msg("portfolio:a", 10), msg("market:X", 11))
    # History gone for the market channel: the page is told to reload, live goes on.
    await serve(1, {"op": "resync", "channel": "market:X", "seq": 40}, msg("market:X", 41))

    delivered = await page.evaluate("window.__delivered")
    assert [tuple(d) for d in delivered] == [
        ("a", 5, 5),
        ("a", 6, 6),
        ("a", 7, 7),
        ("a", 8, 8),
        ("a", 9, 9),
        ("a", 10, 10),
        ("x", 11, 11),
        ("x", 41, 41),
    ]
    assert await page.evaluate("window.__resyncs") == [["x", 40]]
