"""Database access: the asyncpg pool, the one transaction helper, and migrations."""

from dracarys.db.pool import Database, open_database
from dracarys.db.tx import Connection, serializable, session_lock, transaction

__all__ = ["Connection", "Database", "open_database", "serializable", "session_lock", "transaction"]
