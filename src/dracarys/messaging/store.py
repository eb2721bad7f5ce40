"""Every SQL statement of messaging."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from dracarys.db import Connection


async def insert_message(
    conn: Connection,
    *,
    message_id: uuid.UUID,
    channel: str,
    user_id: uuid.UUID | None,
    recipient: str,
    template: str,
    subject: str,
    body_text: str,
    body_html: str | None,
    now: datetime,
) -> None:
    await conn.execute(
        """INSERT INTO outbound_messages (id, channel, user_id, recipient, template, subject,
                                          body_text, body_html, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)""",
        message_id,
        channel,
        user_id,
        recipient,
        template,
        subject,
        body_text,
        body_html,
        now,
    )


async def message_for_update(conn: Connection, message_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT * FROM outbound_messages WHERE id = $1 FOR UPDATE", message_id
    )


async def mark_sent(
    conn: Connection, message_id: uuid.UUID, provider_id: str, now: datetime
) -> None:
    await conn.execute(
        "UPDATE outbound_messages SET sent_at = $2, provider_id = $3 WHERE id = $1",
        message_id,
        now,
        provider_id,
    )


async def claim_unsent(
    conn: Connection, *, created_before: datetime, max_requeues: int, limit: int
) -> list[asyncpg.Record]:
    """Unsent messages old enough to have been lost, counted as requeued once more."""
    return await conn.fetch(
        """UPDATE outbound_messages SET requeue_count = requeue_count + 1
           WHERE id IN (
               SELECT id FROM outbound_messages
               WHERE sent_at IS NULL AND created_at < $1 AND requeue_count < $2
               ORDER BY created_at LIMIT $3
               FOR UPDATE SKIP LOCKED)
           RETURNING id, channel""",
        created_before,
        max_requeues,
        limit,
    )
