"""Operation-level idempotency: one API call (a deposit, a withdrawal, a charge) may write
several transfers; its first result is kept under (scope, key) and replayed, and the same
key with a different body is refused with a 422."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from dracarys.db import Connection, named_session_lock, xact_lock
from dracarys.errors import InvalidInput
from dracarys.idempotency import request_hash
from dracarys.wallet.operations import store

# The advisory lock calls with one (scope, key) take turns on, within one transaction
# (`run_once`) or across several (`taking_turns`).
_LOCK = "wallet-operation"


async def run_once(
    conn: Connection,
    *,
    scope: str,
    key: str,
    kind: str,
    body: Any,
    now: datetime,
    work: Callable[[], Awaitable[dict[str, Any]]],
) -> dict[str, Any]:
    """Run `work` once per (scope, key) inside the caller's transaction. Concurrent calls
    with the key queue on an advisory lock; the later ones replay the first result."""
    await xact_lock(conn, _LOCK, scope, key)
    found = await recorded_result(conn, scope=scope, key=key, kind=kind, body=body)
    if found is not None:
        return found
    result = await work()
    await record_result(conn, scope=scope, key=key, kind=kind, body=body, result=result, now=now)
    return result


@asynccontextmanager
async def taking_turns(conn: Connection, scope: str, key: str) -> AsyncIterator[None]:
    """Calls with this (scope, key) wait for each other (and for `run_once`) until the
    block ends, across the connection's transactions: for an operation that calls a
    provider between them. A killed process's turn ends with its connection."""
    async with named_session_lock(conn, _LOCK, scope, key):
        yield


async def recorded_result(
    conn: Connection, *, scope: str, key: str, kind: str, body: Any
) -> dict[str, Any] | None:
    """The first result kept under (scope, key), or None; the key used for another request
    is a 422."""
    found = await store.find_operation(conn, scope, key)
    if found is None:
        return None
    if found.kind != kind or found.request_hash != request_hash(kind, body):
        raise InvalidInput(
            "this idempotency key was already used with a different request",
            field="idempotency_key",
        )
    return found.result


async def record_result(
    conn: Connection,
    *,
    scope: str,
    key: str,
    kind: str,
    body: Any,
    result: dict[str, Any],
    now: datetime,
) -> None:
    """Keep an operation's first result under (scope, key) for its retries to replay."""
    await store.insert_operation(conn, scope, key, kind, request_hash(kind, body), result, now)
