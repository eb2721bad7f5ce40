"""The one way to run a unit of work: `transaction()` for ordinary writes and
`serializable()` for contended ones, which retries serialization failures and deadlocks
so they never reach a client; `xact_lock()` to queue writers on one thing for the rest of a
transaction; `session_lock()` and `named_session_lock()` for a step that spans many
transactions."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Literal, TypeAlias, TypeVar

import asyncpg
from asyncpg.pool import PoolConnectionProxy

Connection: TypeAlias = asyncpg.Connection | PoolConnectionProxy
T = TypeVar("T")
Isolation = Literal["read_committed", "repeatable_read", "serializable"]

_RETRYABLE = (asyncpg.SerializationError, asyncpg.DeadlockDetectedError)


@asynccontextmanager
async def transaction(
    pool: asyncpg.Pool, *, isolation: Isolation = "read_committed"
) -> AsyncIterator[Connection]:
    async with pool.acquire() as conn, conn.transaction(isolation=isolation):
        yield conn


async def serializable(
    pool: asyncpg.Pool,
    work: Callable[[Connection], Awaitable[T]],
    *,
    attempts: int = 30,
    isolation: Isolation = "serializable",
) -> T:
    """Run `work` in its own transaction, retrying on serialization failure or deadlock
    with jittered backoff; `work` must be safe to run again from the start."""
    for attempt in range(attempts):
        try:
            async with pool.acquire() as conn, conn.transaction(isolation=isolation):
                return await work(conn)
        except _RETRYABLE:
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(random.uniform(0, 0.002 * (2 ** min(attempt, 6))))  # noqa: S311
    raise AssertionError("unreachable")


async def xact_lock(conn: Connection, scope: str, *key: object) -> None:
    """Take the advisory lock named `scope:key…` until the transaction ends, so writers of
    the same thing (a schedule, an idempotency key, a mentor's feed) take turns. The scope
    is part of the hashed name, so two scopes never share a lock by accident."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", _name(scope, key))


@asynccontextmanager
async def named_session_lock(conn: Connection, scope: str, *key: object) -> AsyncIterator[None]:
    """The lock `xact_lock(conn, scope, *key)` takes, held by the session across the
    transactions of a step that calls out between them; both exclude each other. Released
    at the end, or with the connection if the process dies."""
    name = _name(scope, key)
    await conn.execute("SELECT pg_advisory_lock(hashtextextended($1, 0))", name)
    try:
        yield
    finally:
        await conn.execute("SELECT pg_advisory_unlock(hashtextextended($1, 0))", name)


def _name(scope: str, key: tuple[object, ...]) -> str:
    return ":".join((scope, *(str(part) for part in key)))


@asynccontextmanager
async def session_lock(conn: Connection, key: int) -> AsyncIterator[None]:
    """A session-level advisory lock, held across the transactions of a long step (the
    migrations, a sealing run) so processes running the same step take turns."""
    await conn.execute("SELECT pg_advisory_lock($1)", key)
    try:
        yield
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", key)
