"""The ledger is append-only in the database, the balance row moves in the same
transaction as the entry, and balance always equals the sum of entries."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from dracarys.platform import Platform
from dracarys.points.ledger import store
from tests.points.conftest import balance_of, entries, ledger_sum


async def _post(platform: Platform, user: uuid.UUID, delta: int, key: str, **extra: object):
    async with platform.pool.acquire() as conn, conn.transaction():
        return await store.post_entry(
            conn,
            user_id=user,
            delta=delta,
            reason_code="adjustment",
            category="adjustment",
            related_entity=None,
            rule_code=None,
            rule_version=None,
            key=key,
            source_ip="203.0.113.9",
            at=platform.clock.now(),
            **extra,  # type: ignore[arg-type]
        )


async def test_ledger_refuses_update_delete_and_truncate(platform: Platform, user_factory) -> None:
    user = await user_factory()
    await _post(platform, user, 50, "k1")
    for statement in (
        "UPDATE points_ledger SET delta = 5000",
        "DELETE FROM points_ledger",
        "TRUNCATE points_ledger CASCADE",
        "UPDATE points_rules SET points = 1",
        "DELETE FROM points_rules",
    ):
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
            await platform.pool.execute(statement)
    assert await ledger_sum(platform.pool, user) == 50


async def test_entry_records_who_what_why_and_the_balance_after(
    platform: Platform, user_factory
) -> None:
    user = await user_factory()
    await _post(platform, user, 70, "k1")
    await _post(platform, user, -20, "k2")
    rows = await entries(platform.pool, user)
    assert [(r["delta"], r["balance_after"]) for r in rows] == [(70, 70), (-20, 50)]
    assert rows[0]["source_ip"] == "203.0.113.9"
    assert rows[0]["created_at"] == platform.clock.now()
    assert await balance_of(platform.pool, user) == 50


async def test_same_idempotency_key_returns_the_first_entry(
    platform: Platform, user_factory
) -> None:
    user = await user_factory()
    first = await _post(platform, user, 30, "same")
    again = await _post(platform, user, 999, "same")
    assert (again.status, again.entry_id, again.posted) == ("duplicate", first.entry_id, 30)
    assert await balance_of(platform.pool, user) == 30


async def test_a_debit_beyond_the_balance_is_refused_and_changes_nothing(
    platform: Platform, user_factory
) -> None:
    user = await user_factory()
    await _post(platform, user, 10, "k1")
    refused = await _post(platform, user, -11, "k2")
    assert refused.status == "insufficient"
    assert await balance_of(platform.pool, user) == 10
    assert len(await entries(platform.pool, user)) == 1


async def test_a_rolled_back_transaction_leaves_neither_entry_nor_balance(
    platform: Platform, user_factory
) -> None:
    user = await user_factory()
    with pytest.raises(RuntimeError):
        async with platform.pool.acquire() as conn, conn.transaction():
            await store.post_entry(
                conn,
                user_id=user,
                delta=40,
                reason_code="adjustment",
                category="adjustment",
                related_entity=None,
                rule_code=None,
                rule_version=None,
                key="k",
                source_ip=None,
                at=platform.clock.now(),
            )
            raise RuntimeError("the caller failed after posting")
    assert await balance_of(platform.pool, user) == 0
    assert await entries(platform.pool, user) == []


async def test_balance_cannot_be_negative_even_by_direct_sql(
    platform: Platform, user_factory
) -> None:
    user = await user_factory()
    await _post(platform, user, 5, "k1")
    with pytest.raises(asyncpg.CheckViolationError):
        await platform.pool.execute(
            "UPDATE points_balances SET balance = -1 WHERE user_id = $1", user
        )
