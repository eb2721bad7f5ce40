"""Database access: the asyncpg pool, the one transaction helper (with its after-commit hook),
advisory locks, rows read into structs, and migrations."""

from dracarys.db.pool import Database, open_database
from dracarys.db.rows import record, record_or_none, records
from dracarys.db.tx import (
    Connection,
    after_commit,
    named_session_lock,
    serializable,
    session_lock,
    transaction,
    xact_lock,
)

__all__ = [
    "Connection",
    "Database",
    "after_commit",
    "named_session_lock",
    "open_database",
    "record",
    "record_or_none",
    "records",
    "serializable",
    "session_lock",
    "transaction",
    "xact_lock",
]
