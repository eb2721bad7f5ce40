"""Operation-level idempotency: one API call (a deposit, a withdrawal, a charge) may write
several transfers; its first result is kept under (scope, key) and replayed, and the same
key with a different body is refused with a 422."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from dracarys.db import Connection, xact_lock
from dracarys.errors import InvalidInput
from dracarys.idempotency import request_hash
from dracarys.wallet.operations import store


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
    await xact_lock(conn, "wallet-operation", scope, key)
    digest = request_hash(kind, body)
    found = await store.find_operation(conn, scope, key)
    if found is not None:
        if found.kind != kind or found.request_hash != digest:
            raise InvalidInput(
                "this idempotency key was already used with a different request",
                field="idempotency_key",
            )
        return found.result
    result = await work()
    await store.insert_operation(conn, scope, key, kind, digest, result, now)
    return result
