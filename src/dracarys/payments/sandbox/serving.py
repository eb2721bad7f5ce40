"""What both sandboxed providers share: JSON and HTML answers, calls held open while a
test kills the caller, the background delivery of their asynchronous messages (Stripe's
signed events, Daraja's callbacks) with retries, and a server on a free local port."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx
import jinja2
import msgspec
import structlog
import uvicorn
from litestar import Litestar, Response

log = structlog.get_logger("dracarys.payments.sandbox")

_templates = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).resolve().parent / "templates"),
    autoescape=jinja2.select_autoescape(default=True),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def json_response(body: Any, status: int = 200) -> Response[bytes]:
    return Response(msgspec.json.encode(body), status_code=status, media_type="application/json")


def html_response(
    template: str, *, status: int = 200, form_targets: tuple[str, ...] = (), **context: Any
) -> Response[str]:
    """A sandbox page: no script at all, styles inline, and forms that may post only to the
    sandbox (and redirect to `form_targets`: the origins a checkout returns to)."""
    targets = " ".join(("'self'", *form_targets))
    return Response(
        _templates.get_template(template).render(**context),
        status_code=status,
        media_type="text/html",
        headers={
            "Content-Security-Policy": (
                "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
                f"form-action {targets}; frame-ancestors 'none'; base-uri 'none'"
            ),
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin",
            "Cache-Control": "no-store",
        },
    )


def see_other(location: str) -> Response[str]:
    """The answer to a form post: the browser GETs `location` next."""
    return Response("", status_code=303, headers={"Location": location})


@dataclass
class HeldCall:
    """The next call to one path, held: the simulator does what `act` says with it, tells
    the test it `arrived`, and keeps the caller waiting for an answer until `released`
    (a killed caller never gets one). act: "nothing" (as if the request never reached
    the provider), "accept" (taken in, not yet processed) or "pay" (taken in and paid)."""

    act: Literal["nothing", "accept", "pay"]
    arrived: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)


async def keep_waiting(held: HeldCall) -> None:
    held.arrived.set()
    deadline = time.monotonic() + 120
    # Released from another thread (the test's), so a threading.Event, polled.
    while not held.released.is_set() and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.01)


@dataclass(frozen=True, slots=True)
class DeliveryAttempt:
    """One post of a message: what it was, where it went, and the status code it got (None
    when no answer came, or when the answer was lost on purpose)."""

    label: str
    url: str
    status: int | None


# Waits between the attempts to deliver one message: Stripe retries a failed webhook
# with exponential back-off (over days; a sandbox gives up after a few minutes).
RETRY_DELAYS_S = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0)


class Deliveries:
    """Posts the messages a provider sends on its own (a webhook, a callback) in the
    background, retrying until a 2xx, as the providers do. `answers_to_lose` makes the
    next answers count as lost after the receiver acted, so the message comes again."""

    def __init__(self, retry_delays_s: tuple[float, ...] = RETRY_DELAYS_S) -> None:
        self.retry_delays_s = retry_delays_s
        self.attempts: list[DeliveryAttempt] = []
        self.answers_to_lose = 0
        self._tasks: set[asyncio.Task[None]] = set()

    def send(self, label: str, url: str, body: Callable[[], tuple[bytes, dict[str, str]]]) -> None:
        """Post `body()` (made again for each attempt: a signature carries its time) to
        `url` until it is taken."""
        task = asyncio.get_running_loop().create_task(self._deliver(label, url, body))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def made_to(self, label: str) -> list[DeliveryAttempt]:
        return [a for a in self.attempts if a.label == label]

    async def _deliver(
        self, label: str, url: str, body: Callable[[], tuple[bytes, dict[str, str]]]
    ) -> None:
        for delay in (*self.retry_delays_s, None):
            status = await self._post(url, *body())
            if status is not None and self.answers_to_lose > 0:
                self.answers_to_lose -= 1
                status = None
            self.attempts.append(DeliveryAttempt(label, url, status))
            if status is not None and 200 <= status < 300:
                return
            if delay is None:
                log.warning("sandbox_delivery_abandoned", label=label, url=url)
                return
            await asyncio.sleep(delay)

    @staticmethod
    async def _post(url: str, content: bytes, headers: dict[str, str]) -> int | None:
        try:
            async with httpx.AsyncClient(timeout=30) as client:
                response = await client.post(url, content=content, headers=headers)
        except httpx.HTTPError as exc:
            log.info("sandbox_delivery_failed", url=url, error=repr(exc))
            return None
        return response.status_code

    async def close(self) -> None:
        """Stop delivering (the process is stopping; the providers would try again)."""
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)


@contextlib.contextmanager
def serve(app: Litestar) -> Iterator[str]:
    """Run `app` on a free local port in a thread with its own event loop (the app calling
    it may block its own loop while it waits for an answer); yields the base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
