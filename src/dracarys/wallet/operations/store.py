"""The SQL of kept operation results (`wallet_operations`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dracarys.db import Connection, record_or_none
from dracarys.wallet.operations.models import Operation


async def find_operation(conn: Connection, scope: str, key: str) -> Operation | None:
    row = await conn.fetchrow(
        """SELECT kind, request_hash, result FROM wallet_operations
           WHERE scope = $1 AND idempotency_key = $2""",
        scope,
        key,
    )
    return record_or_none(Operation, row)


async def insert_operation(
    conn: Connection,
    scope: str,
    key: str,
    kind: str,
    request_hash: str,
    result: dict[str, Any],
    now: datetime,
) -> None:
    await conn.execute(
        """INSERT INTO wallet_operations (scope, idempotency_key, kind, request_hash, result,
               created_at) VALUES ($1, $2, $3, $4, $5, $6)""",
        scope,
        key,
        kind,
        request_hash,
        result,
        now,
    )
