"""What an export wrote."""

from __future__ import annotations

from datetime import date

from dracarys.wire import Schema


class ExportedTable(Schema):
    table: str
    path: str
    rows: int


class ExportedDay(Schema):
    """One day's partition (`dt=YYYY-MM-DD/`) of every warehouse table."""

    day: date
    tables: list[ExportedTable]
