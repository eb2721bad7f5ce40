"""The one statement readiness sends: PostgreSQL answers a trivial query."""

from __future__ import annotations

import asyncpg


async def database_answers(pool: asyncpg.Pool) -> bool:
    return bool(await pool.fetchval("SELECT 1"))
