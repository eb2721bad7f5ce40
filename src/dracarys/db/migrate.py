"""Numbered plain-SQL migrations (`migrations/NNNN_name.sql`), applied in order, each in
its own transaction, under a PostgreSQL advisory lock so concurrent migrators queue
instead of colliding. Applying twice is a no-op; an edited, already-applied file is an
error rather than a silent drift.

Numbers are grouped by owner so domains can add files without renumbering each other:
0001–0099 platform core, 0100 identity, 0200 backtests, 0300 streams, 0400 trading,
0500 points, 0600 wallet, 0700 mentorship, 0800 community and messaging, 0900 admin."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources

from dracarys.db.tx import Connection, session_lock

# Any constant works; it only has to be the same for every migrator of this schema.
_MIGRATION_LOCK_KEY = 0x44524143_4D494752  # "DRACMIGR"
_FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


class MigrationError(RuntimeError):
    pass


def discover_migrations() -> list[Migration]:
    found: list[Migration] = []
    for entry in resources.files("dracarys.db.migrations").iterdir():
        match = _FILE_NAME.match(entry.name)
        if match is None:
            continue
        found.append(Migration(int(match.group(1)), match.group(2), entry.read_text()))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(versions) != len(set(versions)):
        raise MigrationError(f"two migration files share a number: {versions}")
    return found


async def migrate(conn: Connection, migrations: list[Migration] | None = None) -> list[int]:
    """Apply what is missing; returns the versions applied by this call."""
    todo = discover_migrations() if migrations is None else migrations
    applied_now: list[int] = []
    async with session_lock(conn, _MIGRATION_LOCK_KEY):
        await conn.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                   version integer PRIMARY KEY,
                   name text NOT NULL,
                   checksum text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        rows = await conn.fetch("SELECT version, name, checksum FROM schema_migrations")
        applied = {row["version"]: row for row in rows}
        for migration in todo:
            row = applied.get(migration.version)
            if row is not None:
                if row["checksum"] != migration.checksum:
                    raise MigrationError(
                        f"migration {migration.version:04d}_{row['name']} was edited after it "
                        "was applied; add a new migration instead"
                    )
                continue
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                    migration.version,
                    migration.name,
                    migration.checksum,
                )
            applied_now.append(migration.version)
    return applied_now


async def pending_migrations(conn: Connection) -> list[int]:
    """The versions not yet applied to this database (all of them on an empty one)."""
    exists = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
    applied = (
        {row["version"] for row in await conn.fetch("SELECT version FROM schema_migrations")}
        if exists
        else set()
    )
    return [m.version for m in discover_migrations() if m.version not in applied]
