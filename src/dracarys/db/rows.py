"""The one way a store turns rows into structs: each column fills the field of the same
name, typed and checked by msgspec (a store never hands a raw record to a service)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

import asyncpg
import msgspec

T = TypeVar("T")


def record(struct: type[T], row: asyncpg.Record) -> T:
    """The struct a row describes; a column the struct does not name is ignored."""
    return msgspec.convert(dict(row.items()), struct)


def record_or_none(struct: type[T], row: asyncpg.Record | None) -> T | None:
    return None if row is None else record(struct, row)


def records(struct: type[T], rows: Iterable[asyncpg.Record]) -> list[T]:
    return [record(struct, row) for row in rows]
