"""The one way to write CSV: RFC 4180 lines (CRLF, quoted where needed), every text cell
made safe to open in a spreadsheet, and the response that hands it over as a download.

A cell a spreadsheet would run as a formula (text starting with `=`, `+`, `-`, `@`, a tab
or a carriage return: OWASP's "CSV injection") gets a leading `'`, so a member who names
themselves `=HYPERLINK(...)` is shown, not executed, when staff open the export. Numbers
stay numbers: an int, a float, or text that is a plain decimal number (`-12.50`) is
written as it is.

Lists of records (the msgspec structs a list route returns) become one row each, with a
column per field; a nested struct's fields become `outer.inner` columns, and lists and
mappings a JSON cell, so the CSV of a console table has the same rows as its JSON.

`download_route` makes a console table's CSV route out of its list route, so the two
share one guard, one set of filters and one call and cannot drift apart."""

from __future__ import annotations

import csv
import inspect
import io
import re
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Mapping, Sequence
from typing import Any

import msgspec
from litestar import Response, get
from litestar.handlers import HTTPRouteHandler
from litestar.response import Stream

MEDIA_TYPE = "text/csv"
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")
_FILENAME_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")

Cell = str | int | float


def cell(value: object) -> Cell:
    """One value as a CSV cell: None is empty, booleans `true`/`false`, dates ISO 8601,
    lists and mappings JSON, and text that would start a formula quoted with `'`."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        text = value
    elif isinstance(value, list | tuple | dict | msgspec.Struct):
        text = msgspec.json.encode(value).decode()
    else:
        built = msgspec.to_builtins(value)
        text = built if isinstance(built, str) else msgspec.json.encode(built).decode()
    if text.startswith(FORMULA_PREFIXES) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def lines(rows: Iterable[Sequence[object]]) -> bytes:
    """Rows as CSV lines (UTF-8, CRLF), every cell through `cell`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows([cell(value) for value in row] for row in rows)
    return buffer.getvalue().encode()


async def stream(
    header: Sequence[str], batches: AsyncIterable[Iterable[Sequence[object]]]
) -> AsyncIterator[bytes]:
    """The header, then a chunk of lines per batch: for tables read from a cursor."""
    yield lines([header])
    async for batch in batches:
        chunk = lines(batch)
        if chunk:
            yield chunk


# ---- records: a list route's structs, a row each -------------------------------------


def _struct_of(info: msgspec.inspect.Type) -> msgspec.inspect.StructType | None:
    if isinstance(info, msgspec.inspect.StructType):
        return info
    if isinstance(info, msgspec.inspect.UnionType):
        structs = [t for t in info.types if isinstance(t, msgspec.inspect.StructType)]
        others = [t for t in info.types if not isinstance(t, msgspec.inspect.NoneType)]
        if len(structs) == 1 and len(others) == 1:
            return structs[0]
    return None


def _columns(info: msgspec.inspect.StructType, prefix: tuple[str, ...]) -> list[tuple[str, ...]]:
    columns: list[tuple[str, ...]] = []
    for field in info.fields:
        path = (*prefix, field.encode_name)
        nested = _struct_of(field.type)
        columns.extend(_columns(nested, path) if nested else [path])
    return columns


def columns_of(record_type: type[msgspec.Struct]) -> list[tuple[str, ...]]:
    """The columns of a struct type, nested structs flattened, as key paths."""
    info = msgspec.inspect.type_info(record_type)
    assert isinstance(info, msgspec.inspect.StructType)
    return _columns(info, ())


def _at(record: Mapping[str, Any], path: tuple[str, ...]) -> object:
    value: object = record
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def records(record_type: type[msgspec.Struct], items: Iterable[msgspec.Struct]) -> bytes:
    """Structs of one type as CSV: a header of their (flattened) fields, a row each."""
    columns = columns_of(record_type)
    built = (msgspec.to_builtins(item) for item in items)
    return lines([[".".join(c) for c in columns], *([_at(b, c) for c in columns] for b in built)])


# ---- the download --------------------------------------------------------------------


def disposition(filename: str) -> dict[str, str]:
    """Headers that make a browser save the body as `filename` (made header-safe)."""
    safe = _FILENAME_UNSAFE.sub("-", filename).strip("-.") or "export.csv"
    return {"Content-Disposition": f'attachment; filename="{safe}"', "Cache-Control": "no-store"}


def response(body: bytes, filename: str) -> Response[bytes]:
    return Response(body, media_type=MEDIA_TYPE, headers=disposition(filename))


def streamed(chunks: AsyncIterable[bytes], filename: str) -> Stream:
    return Stream(chunks, media_type=MEDIA_TYPE, headers=disposition(filename))


# ---- a console table's CSV route -----------------------------------------------------


def download_route(
    list_route: HTTPRouteHandler,
    record_type: type[msgspec.Struct],
    filename: str,
    *,
    path: str | None = None,
    operation_id: str | None = None,
    rows: Callable[[Any], Iterable[msgspec.Struct]] | None = None,
) -> HTTPRouteHandler:
    """The CSV download of a console table, made from the table's list route.

    It takes the list route's guards, tags, query parameters and dependencies (its
    signature), calls the list route's own function with them and writes what it returns
    (or `rows` of it, for a table inside a larger answer) as `record_type` records. It
    sits beside the list route (in the same controller, so under the same controller
    guards) at `path`, by default the list route's path with `.csv` added, so the file
    holds exactly the rows the table shows, refused to exactly the callers it refuses."""
    list_function = list_route.fn
    [list_path] = list_route.paths

    async def download(*args: Any, **kwargs: Any) -> Response[bytes]:
        listed = await list_function(*args, **kwargs)
        return response(records(record_type, rows(listed) if rows else listed), filename)

    # Litestar reads the parameters it injects from the signature and its type hints,
    # resolved in the list route's module: hand it the list route's, answering bytes.
    signature = inspect.signature(list_function).replace(return_annotation=Response[bytes])
    download.__signature__ = signature  # type: ignore[attr-defined]
    download.__annotations__ = {**list_function.__annotations__, "return": Response[bytes]}
    download.__module__ = list_function.__module__
    download.__name__ = download.__qualname__ = f"{list_function.__name__}_csv"
    summary = list_route.summary or list_function.__name__
    return get(
        path or f"{list_path.rstrip('/')}.csv",
        operation_id=operation_id or f"{list_route.operation_id}Csv",
        summary=f"{summary}, as CSV",
        guards=list(list_route.guards or ()),
        tags=list(list_route.tags or ()) or None,
        media_type=MEDIA_TYPE,
    )(download)
