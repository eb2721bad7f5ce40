"""The shared database words: rows read into structs, and transaction advisory locks."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime

import asyncpg
import msgspec
import pytest

from dracarys.db import record, record_or_none, records, transaction, xact_lock


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
