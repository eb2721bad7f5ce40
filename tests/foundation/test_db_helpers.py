"""The shared database words: rows read into structs, transaction advisory locks, and what
waits for a transaction's commit."""

from __future__ import annotations

import asyncio
import itertools
import random
import uuid
from datetime import datetime

import asyncpg
import msgspec
import pytest

from dracarys.db import (
    after_commit,
    named_session_lock,
    record,
    record_or_none,
    records,
    serializable,
    transaction,
    xact_lock,
)
from dracarys.db.pool import create_pool


class Thing(msgspec.Struct, kw_only=True, frozen=True):
    id: uuid.UUID
    name: str
    price: float
    made_at: datetime
    tags: list[str] = []


async def test_rows_fill_the_struct_fields_of_the_same_name(pool: asyncpg.Pool) -> None:
    rows = await pool.fetch(
        """SELECT gen_random_uuid() AS id, 'bolt' AS name, 2.50::numeric AS price,
                  now() AS made_at, ARRAY['a', 'b'] AS tags, 42 AS not_a_field
           UNION ALL
           SELECT gen_random_uuid(), 'nut', 1, now(), '{}', 0"""
    )
    bolt, nut = records(Thing, rows)
    assert (bolt.name, bolt.price, bolt.tags) == ("bolt", 2.5, ["a", "b"])
    assert (nut.name, nut.price, nut.tags) == ("nut", 1.0, [])
    assert record(Thing, rows[0]) == bolt
    assert record_or_none(Thing, None) is None


async def test_a_row_of_the_wrong_shape_is_refused_naming_the_column(pool: asyncpg.Pool) -> None:
    row = await pool.fetchrow(
        "SELECT gen_random_uuid() AS id, 7 AS name, 1 AS price, now() AS made_at"
    )
    assert row is not None
    with pytest.raises(msgspec.ValidationError, match=r"\$.name"):
        record(Thing, row)


async def test_writers_of_one_lock_name_take_turns_and_other_names_do_not_wait(
    pool: asyncpg.Pool,
) -> None:
    inside: list[str] = []
    overlaps: list[tuple[str, ...]] = []

    async def hold(scope: str, key: object, label: str) -> None:
        async with transaction(pool) as conn:
            await xact_lock(conn, scope, key)
            inside.append(label)
            overlaps.append(tuple(inside))
            await asyncio.sleep(0.05)
            inside.remove(label)

    same = uuid.uuid4()
    await asyncio.gather(*(hold("schedule", same, f"s{i}") for i in range(5)))
    assert all(len(seen) == 1 for seen in overlaps), overlaps

    overlaps.clear()
    await asyncio.gather(hold("schedule", same, "a"), hold("feed", same, "b"))
    assert any(len(seen) == 2 for seen in overlaps), "different scopes must not share a lock"


async def test_after_commit_runs_once_the_writes_are_visible_and_never_after_a_rollback(
    pool: asyncpg.Pool,
) -> None:
    seen: list[object] = []

    async def look() -> None:
        # Another connection: the row must be committed, not merely written.
        seen.append(await pool.fetchval("SELECT count(*) FROM after_commit_probe"))

    await pool.execute("CREATE TABLE after_commit_probe (n int)")
    async with transaction(pool) as conn:
        await conn.execute("INSERT INTO after_commit_probe VALUES (1)")
        after_commit(conn, look)
        assert seen == []
    assert seen == [1]

    with pytest.raises(RuntimeError, match="rolled back"):
        async with transaction(pool) as conn:
            await conn.execute("INSERT INTO after_commit_probe VALUES (2)")
            after_commit(conn, look)
            raise RuntimeError("rolled back")
    assert seen == [1]


async def test_a_failing_commit_runs_no_callback_and_a_retried_one_runs_it_once(
    pool: asyncpg.Pool,
) -> None:
    """`serializable()` retries a conflict from the start: only the attempt that
    committed runs what it registered."""
    await pool.execute("CREATE TABLE after_commit_counter (id int PRIMARY KEY, n int)")
    await pool.execute("INSERT INTO after_commit_counter VALUES (1, 0)")
    ran: list[int] = []
    reads = 0
    both_read = asyncio.Event()

    async def bump(conn: asyncpg.Connection) -> int:
        nonlocal reads
        n = await conn.fetchval("SELECT n FROM after_commit_counter WHERE id = 1")
        reads += 1
        if reads >= 2:  # both first attempts read 0: one of them must lose and retry
            both_read.set()
        await both_read.wait()
        await conn.execute("UPDATE after_commit_counter SET n = $1 WHERE id = 1", n + 1)
        after_commit(conn, lambda: _append(ran, n + 1))
        return int(n + 1)

    results = await asyncio.gather(serializable(pool, bump), serializable(pool, bump))

    assert sorted(results) == [1, 2]
    assert reads == 3  # the loser ran again
    assert sorted(ran) == [1, 2]  # one callback per committed attempt, none for the lost one


async def _append(into: list[int], value: int) -> None:
    into.append(value)


async def test_after_commit_outside_a_transaction_is_refused(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        with pytest.raises(RuntimeError, match="open transaction"):
            after_commit(conn, lambda: _append([], 1))


async def test_a_session_lock_whose_unlock_never_ran_is_released_with_the_connection(
    pool: asyncpg.Pool, database_url: str
) -> None:
    """Pool connections skip asyncpg's reset query on release (a round trip each), except
    one that took a session lock: a step that died before unlocking must not leave the lock
    held by an idle pooled connection."""
    async with pool.acquire() as conn:
        held = named_session_lock(conn, "payout", "p-1")
        await held.__aenter__()  # the step dies here: its `finally` never runs
    other = await asyncpg.connect(database_url)
    try:
        free = await other.fetchval(
            "SELECT pg_try_advisory_lock(hashtextextended('payout:p-1', 0))"
        )
    finally:
        await other.close()
    assert free is True


async def test_an_ordinary_release_sends_no_reset_round_trip(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        await conn.fetchval("SELECT 1")
        assert conn.get_reset_query() == ""
        async with named_session_lock(conn, "sealing"):
            pass
        assert "pg_advisory_unlock_all" in conn.get_reset_query()


async def test_the_pool_hands_connections_out_in_the_order_they_were_asked_for(
    database_url: str,
) -> None:
    """24 tasks taking turns on 4 connections, each asking again after a varying number
    of scheduler turns, as requests arrive at a busy server: no task is served before one
    that asked earlier and is still waiting (asyncpg's own queue lets 852 of these 960
    requests jump ahead of a waiting one)."""
    pool = await create_pool(database_url, min_size=4, max_size=4)
    asked = itertools.count()
    served: list[int] = []
    turns = random.Random(7)

    async def client() -> None:
        for _ in range(40):
            for _ in range(turns.randrange(3)):
                await asyncio.sleep(0)
            ticket = next(asked)
            async with pool.acquire() as conn:
                served.append(ticket)
                await conn.fetchval("SELECT 1")

    try:
        await asyncio.gather(*(client() for _ in range(24)))
    finally:
        await pool.close()
    assert len(served) == 960
    assert served == sorted(served)
