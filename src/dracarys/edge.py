"""The input guards every route shares, decided at the edge before any handler runs: a JSON
body is UTF-8, nests at most `MAX_JSON_DEPTH` levels and holds no integer beyond what
PostgreSQL's `bigint` stores; no text carrying NUL (U+0000), which PostgreSQL refuses in
`text`, enters through a body, a form, the query, the path or a header. Each refusal is a
4xx problem naming the field, where it would otherwise surface as a 500 from the decoder
or the database. Also what every handler reads of the client: its address (`source_ip`);
and, for the plain ASGI layers, whether a request's path is one they leave alone."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

from litestar import Request
from litestar.datastructures import FormMultiDict
from litestar.enums import ScopeType
from litestar.exceptions import SerializationException, WebSocketException
from litestar.types import Scope

from dracarys.errors import InvalidInput, MalformedBody, field_label
from dracarys.wire import BIGINT_MAX, BIGINT_MIN
from streams.protocol import CLOSE_PROTOCOL_ERROR

# No input of this API nests deeper than a strategy spec's few levels; the bound keeps
# hostile bodies well inside what the decoder, PostgreSQL's jsonb and our own encoder
# handle without exhausting their stacks.
MAX_JSON_DEPTH = 32

# The cheap look at the raw bytes that lets most bodies skip the walk over their values:
# JSON can only carry NUL escaped, a bigint has at most 19 digits, and a body with no more
# brackets than the bound cannot nest past it.
_NUL_ESCAPE = b"\\u0000"
_LONG_DIGIT_RUN = re.compile(rb"\d{19}")


def path_excluded(scope: Scope, exclude: re.Pattern[str] | None) -> bool:
    """Whether `exclude` matches the request's path as Litestar matches it for a layer's
    exclude list: on the raw path for a mount, on the routed path otherwise."""
    if exclude is None:
        return False
    is_mount = getattr(scope.get("route_handler"), "is_mount", False)
    path = scope["raw_path"].decode() if is_mount else scope["path"]
    return exclude.search(path) is not None


def _nul_message(where: str) -> str:
    return f"{where} contains the NUL character (U+0000), which no text here may hold."


def _json_field(path: str) -> str:
    return path or "body"


def check_json_value(raw: bytes, value: Any) -> None:
    """Refuse a decoded JSON body that nests too deep, holds a NUL in a string or a key, or
    an integer outside bigint, naming the first offending field (`a.b[2].c`)."""
    if (
        _NUL_ESCAPE not in raw
        and raw.count(b"[") + raw.count(b"{") <= MAX_JSON_DEPTH
        and _LONG_DIGIT_RUN.search(raw) is None
    ):
        return
    pending: list[tuple[Any, str, int]] = [(value, "", 0)]
    while pending:
        node, path, depth = pending.pop()
        if isinstance(node, dict | list):
            if depth >= MAX_JSON_DEPTH:
                raise MalformedBody(
                    f"The request body nests deeper than {MAX_JSON_DEPTH} levels.", field="body"
                )
            if isinstance(node, dict):
                for key, item in node.items():
                    child = f"{path}.{key}" if path else key
                    if "\x00" in key:
                        message = _nul_message(f"The name of {field_label(child)}")
                        raise InvalidInput(message, field=child)
                    pending.append((item, child, depth + 1))
            else:
                pending.extend((item, f"{path}[{k}]", depth + 1) for k, item in enumerate(node))
        elif isinstance(node, str):
            if "\x00" in node:
                field = _json_field(path)
                raise InvalidInput(_nul_message(field_label(field)), field=field)
        elif isinstance(node, int) and not BIGINT_MIN <= node <= BIGINT_MAX:
            field = _json_field(path)
            raise InvalidInput(
                f"{field_label(field)} is too large: whole numbers here lie within ±9.2 × 10^18.",
                field=field,
            )


class EdgeRequest(Request[Any, Any, Any]):
    """The app's request class: bodies are decoded here for every handler, so the guards
    hold for every route."""

    async def json(self) -> Any:
        try:
            value = await super().json()
        except SerializationException as exc:
            detail = f"The request body is not valid JSON: {exc}"
            raise MalformedBody(detail, field="body") from None
        except UnicodeDecodeError:
            raise MalformedBody("The request body is not valid UTF-8 text.", field="body") from None
        except RecursionError:
            raise MalformedBody(
                f"The request body nests deeper than {MAX_JSON_DEPTH} levels.", field="body"
            ) from None
        check_json_value(await self.body(), value)
        return value

    async def form(self) -> FormMultiDict:
        form = await super().form()
        for name, value in form.multi_items():
            if isinstance(value, str) and "\x00" in value:
                raise InvalidInput(_nul_message(field_label(name)), field=name)
        return form


def _refuse_nul_outside_body(scope: Scope) -> None:
    for raw_name, raw_value in scope["headers"]:
        if b"\x00" in raw_value:
            header = raw_name.decode("latin-1")
            raise InvalidInput(_nul_message(f"The `{header}` header"), field=header)
    query: bytes = scope["query_string"]
    if b"%00" in query or b"\x00" in query:
        for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
            if "\x00" in name or "\x00" in value:
                parameter = name.replace("\x00", "\\0")
                message = _nul_message(f"The query parameter `{parameter}`")
                raise InvalidInput(message, field=parameter)
    if "\x00" in scope["path"]:
        params: dict[str, Any] = scope.get("path_params") or {}
        held_by = (k for k, v in params.items() if isinstance(v, str) and "\x00" in v)
        parameter = next(held_by, "path")
        raise InvalidInput(_nul_message(f"The path parameter `{parameter}`"), field=parameter)


def refuse_malformed_request(scope: Scope) -> None:
    """Refuses NUL in headers, query and path for every HTTP route and WebSocket
    handshake (bodies are guarded by `EdgeRequest` as they are decoded); run by the
    request layer (`observability.request_middleware`) before anything else reads them."""
    if scope["type"] == ScopeType.HTTP:
        _refuse_nul_outside_body(scope)
    elif scope["type"] == ScopeType.WEBSOCKET:
        try:
            _refuse_nul_outside_body(scope)
        except InvalidInput as refusal:
            # A handshake answer carries no problem document; the stream protocol's
            # code for a malformed request (fix the client) says it, with the reason.
            raise WebSocketException(detail=refusal.detail, code=CLOSE_PROTOCOL_ERROR) from None


def source_ip(request: Request[Any, Any, Any]) -> str | None:
    """The client's address, for audit logs, throttles and attribution; behind a trusted
    proxy, the one it forwarded (the app's proxy middleware puts it here, see app.py)."""
    return request.client.host if request.client else None
