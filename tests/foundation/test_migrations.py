from __future__ import annotations

import asyncio

import asyncpg
import pytest

from dracarys.db.migrate import Migration, MigrationError, discover_migrations, migrate


def test_migration_files_are_numbered_uniquely_and_in_order() -> None:
    migrations = discover_migrations()
    versions = [m.version for m in migrations]
    assert versions == sorted(set(versions))
    assert versions[0] == 1


async def test_migrating_twice_applies_nothing_the_second_time(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        # The template already holds every migration.
        assert await migrate(conn) == []
        count = await conn.fetchval("SELECT count(*) FROM schema_migrations")
        assert count == len(discover_migrations())
    finally:
        await conn.close()


async def test_concurrent_migrators_apply_each_migration_exactly_once(database_url: str) -> None:
    extra = [
        Migration(
            9990 + i, f"probe_{i}", f"CREATE TABLE probe_{i} (id int); SELECT pg_sleep(0.05);"
        )
        for i in range(3)
    ]
    full = discover_migrations() + extra
    conns = [await asyncpg.connect(database_url) for _ in range(6)]
    try:
        results = await asyncio.gather(*(migrate(c, full) for c in conns))
        applied = sorted(v for result in results for v in result)
        assert applied == [9990, 9991, 9992]
        assert results.count([]) == 5
        assert (
            await conns[0].fetchval("SELECT count(*) FROM schema_migrations WHERE version >= 9990")
            == 3
        )
    finally:
        for c in conns:
            await c.close()


async def test_an_applied_migration_that_was_edited_stops_the_migrator(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await migrate(conn, [*discover_migrations(), Migration(9980, "probe", "SELECT 1;")])
        with pytest.raises(MigrationError, match="edited"):
            await migrate(conn, [*discover_migrations(), Migration(9980, "probe", "SELECT 2;")])
    finally:
        await conn.close()


async def test_a_failing_migration_leaves_no_trace(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    broken = Migration(9970, "broken", "CREATE TABLE half_done (id int); SELECT * FROM nowhere;")
    try:
        with pytest.raises(asyncpg.UndefinedTableError):
            await migrate(conn, [*discover_migrations(), broken])
        assert await conn.fetchval("SELECT to_regclass('half_done')") is None
        assert (
            await conn.fetchval("SELECT count(*) FROM schema_migrations WHERE version = 9970") == 0
        )
    finally:
        await conn.close()
