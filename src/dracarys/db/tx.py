"""The one way to run a unit of work: `transaction()` for ordinary writes and
`serializable()` for contended ones, which retries serialization failures and deadlocks
so they never reach a client; `xact_lock()` to queue writers on one thing for the rest of a
transaction; `session_lock()` and `named_session_lock()` for a step that spans many
transactions; `after_commit()` for what may only happen once the transaction's writes are
visible (a live frame about a row must never announce a row that was rolled back)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Literal, TypeAlias, TypeVar

import asyncpg
import structlog
from asyncpg.pool import PoolConnectionProxy

Connection: TypeAlias = asyncpg.Connection | PoolConnectionProxy
T = TypeVar("T")
Isolation = Literal["read_committed", "repeatable_read", "serializable"]

_RETRYABLE = (asyncpg.SerializationError, asyncpg.DeadlockDetectedError)

log = structlog.get_logger("dracarys.db")

AfterCommit = Callable[[], Awaitable[None]]


@dataclass(slots=True)
class _Unit:
    """The transaction a task is inside, with what waits for its commit."""

    conn: Connection
    after_commit: list[AfterCommit] = field(default_factory=list)


_CURRENT: ContextVar[_Unit | None] = ContextVar("dracarys_db_unit", default=None)


@asynccontextmanager
async def _unit(
    pool: asyncpg.Pool, isolation: Isolation
) -> AsyncIterator[tuple[Connection, _Unit]]:
    async with pool.acquire() as conn:
        unit = _Unit(conn)
        token = _CURRENT.set(unit)
        try:
            async with conn.transaction(isolation=isolation):
                yield conn, unit
        finally:
            _CURRENT.reset(token)


async def _run_after_commit(unit: _Unit) -> None:
    # The writes are committed whatever happens here: a failing callback is logged, not
    # raised, so a caller never retries (and doubles) work that already took effect.
    for callback in unit.after_commit:
        try:
            await callback()
        except Exception:
            log.exception("after_commit_failed", callback=getattr(callback, "__qualname__", "?"))


def after_commit(conn: Connection, callback: AfterCommit) -> None:
    """Run `callback` once the transaction `conn` is in has committed (after the
    connection went back to the pool); never if it rolls back. Only inside
    `transaction()` or `serializable()`, on their connection: anywhere else there is no
    commit to wait for, and running the callback at once would be the bug this prevents."""
    unit = _CURRENT.get()
    if unit is None or unit.conn is not conn:
        raise RuntimeError("after_commit() needs the connection of an open transaction()")
    unit.after_commit.append(callback)


@asynccontextmanager
async def transaction(
    pool: asyncpg.Pool, *, isolation: Isolation = "read_committed"
) -> AsyncIterator[Connection]:
    async with _unit(pool, isolation) as (conn, unit):
        yield conn
    await _run_after_commit(unit)


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
            async with _unit(pool, isolation) as (conn, unit):
                result = await work(conn)
            await _run_after_commit(unit)
            return result
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
    _reset_on_release(conn)
    await conn.execute("SELECT pg_advisory_lock(hashtextextended($1, 0))", name)
    try:
        yield
    finally:
        await conn.execute("SELECT pg_advisory_unlock(hashtextextended($1, 0))", name)


def _reset_on_release(conn: Connection) -> None:
    """A session lock outlives the transaction: if its unlock never runs (a cancelled
    step, a dropped connection), the pool's reset releases it before the next user."""
    mark = getattr(conn, "reset_on_release", None)  # a pool's connection (db.pool)
    if mark is not None:
        mark()


def _name(scope: str, key: tuple[object, ...]) -> str:
    return ":".join((scope, *(str(part) for part in key)))


@asynccontextmanager
async def session_lock(conn: Connection, key: int) -> AsyncIterator[None]:
    """A session-level advisory lock, held across the transactions of a long step (the
    migrations, a sealing run) so processes running the same step take turns."""
    _reset_on_release(conn)
    await conn.execute("SELECT pg_advisory_lock($1)", key)
    try:
        yield
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", key)
