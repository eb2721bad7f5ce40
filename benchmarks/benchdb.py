"""The throwaway databases the benchmarks run in: made on the local PostgreSQL, migrated as
the app migrates them (or only below a version, to time one migration step), filled with
accounts as identity writes them, and dropped with everything in them afterwards.

The server is `BENCH_ADMIN_DSN` (or the tests' `TEST_DATABASE_URL`), by default the local
PostgreSQL's `postgres` database with trust authentication."""

from __future__ import annotations

import os
import uuid

import asyncpg

from dracarys.db.migrate import discover_migrations, migrate
from dracarys.identity.personal import personal_data_cipher
from dracarys.settings import Settings

ADMIN_DSN = os.environ.get("BENCH_ADMIN_DSN") or os.environ.get(
    "TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def dsn_for(name: str) -> str:
    return ADMIN_DSN.rsplit("/", 1)[0] + "/" + name


async def create_database(*, migrated: bool = True, below: int | None = None) -> str:
    """A new, empty database's name; migrated unless the server under test migrates it
    itself, and then only up to (not including) migration `below` when one is given."""
    name = f"dracarys_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(ADMIN_DSN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    if migrated:
        conn = await asyncpg.connect(dsn_for(name))
        try:
            migrations = discover_migrations()
            await migrate(conn, [m for m in migrations if below is None or m.version < below])
        finally:
            await conn.close()
    return name


async def drop_database(name: str) -> None:
    admin = await asyncpg.connect(ADMIN_DSN)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def insert_users(pool: asyncpg.Pool, settings: Settings, ids: list[uuid.UUID]) -> None:
    """Accounts as identity writes them (e-mail and name sealed, e-mail blind-indexed),
    copied in at once."""
    cipher = personal_data_cipher(settings)
    records = []
    for user_id in ids:
        contact = cipher.seal_contact(user_id, email=f"{user_id}@bench.local", name="", phone=None)
        records.append((user_id, contact.email_sealed, contact.email_index, contact.name_sealed))
    await pool.copy_records_to_table(
        "users", records=records, columns=["id", "email_sealed", "email_index", "name_sealed"]
    )
