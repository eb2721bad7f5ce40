"""SQL of the realtime module: whether login sessions are still live (not revoked, user
not banned), read in one query for every connection of a process."""

from __future__ import annotations

import uuid

import asyncpg


async def live_session_role(
    pool: asyncpg.Pool, session_id: uuid.UUID, user_id: uuid.UUID
) -> str | None:
    role: str | None = await pool.fetchval(
        """SELECT u.role FROM auth_sessions s JOIN users u ON u.id = s.user_id
           WHERE s.id = $1 AND s.user_id = $2 AND s.revoked_at IS NULL
             AND u.status = 'active'""",
        session_id,
        user_id,
    )
    return role


async def live_sessions(pool: asyncpg.Pool, session_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    rows = await pool.fetch(
        """SELECT s.id FROM auth_sessions s JOIN users u ON u.id = s.user_id
           WHERE s.id = ANY($1::uuid[]) AND s.revoked_at IS NULL AND u.status = 'active'""",
        session_ids,
    )
    return {row["id"] for row in rows}


async def user_exists(pool: asyncpg.Pool, user_id: uuid.UUID) -> bool:
    return bool(await pool.fetchval("SELECT EXISTS (SELECT 1 FROM users WHERE id = $1)", user_id))
