"""Every SQL statement of messaging. Recipients and contents arrive and leave sealed."""

from __future__ import annotations

import uuid
from datetime import datetime

from dracarys.db import Connection, record_or_none, records
from dracarys.messaging.models import ClaimedMessage, MessageRecord, PlainMessage

_MESSAGE_COLUMNS = (
    "id, channel, user_id, recipient_sealed, template, content_sealed, created_at, sent_at,"
    " provider_id, requeue_count"
)


async def insert_message(
    conn: Connection,
    *,
    message_id: uuid.UUID,
    channel: str,
    user_id: uuid.UUID | None,
    recipient_sealed: bytes,
    template: str,
    content_sealed: bytes,
    now: datetime,
) -> None:
    await conn.execute(
        """INSERT INTO outbound_messages (id, channel, user_id, recipient_sealed, template,
                                          content_sealed, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7)""",
        message_id,
        channel,
        user_id,
        recipient_sealed,
        template,
        content_sealed,
        now,
    )


async def message_for_update(conn: Connection, message_id: uuid.UUID) -> MessageRecord | None:
    row = await conn.fetchrow(
        f"SELECT {_MESSAGE_COLUMNS} FROM outbound_messages WHERE id = $1 FOR UPDATE", message_id
    )
    return record_or_none(MessageRecord, row)


async def mark_sent(
    conn: Connection, message_id: uuid.UUID, provider_id: str, now: datetime
) -> None:
    """The content goes with the sending: only the sealed recipient stays, as the record."""
    await conn.execute(
        """UPDATE outbound_messages SET sent_at = $2, provider_id = $3, content_sealed = NULL
           WHERE id = $1""",
        message_id,
        now,
        provider_id,
    )


async def claim_unsent(
    conn: Connection, *, created_before: datetime, max_requeues: int, limit: int
) -> list[ClaimedMessage]:
    """Unsent messages old enough to have been lost, counted as requeued once more."""
    rows = await conn.fetch(
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
    return records(ClaimedMessage, rows)


async def messages(
    conn: Connection,
    *,
    user_id: uuid.UUID | None,
    channel: str | None,
    unsent_only: bool,
    limit: int,
) -> list[MessageRecord]:
    """Oldest first; a None filter matches every message."""
    rows = await conn.fetch(
        f"""SELECT {_MESSAGE_COLUMNS} FROM outbound_messages
            WHERE ($1::uuid IS NULL OR user_id = $1) AND ($2::text IS NULL OR channel = $2)
              AND (NOT $3 OR sent_at IS NULL)
            ORDER BY created_at, id LIMIT $4""",
        user_id,
        channel,
        unsent_only,
        limit,
    )
    return records(MessageRecord, rows)


# ---- sealing what older versions stored in plain ---------------------------------------

SEALING_LOCK_KEY = 0x44524143_4D53474C  # "DRACMSGL"
SEALED_CONSTRAINT = "outbound_messages_sealed"


async def plain_messages(conn: Connection, limit: int) -> list[PlainMessage]:
    rows = await conn.fetch(
        """SELECT id, sent_at, plain_recipient, plain_subject, plain_body_text, plain_body_html
           FROM outbound_messages
           WHERE plain_recipient IS NOT NULL OR plain_subject IS NOT NULL
              OR plain_body_text IS NOT NULL OR plain_body_html IS NOT NULL
           LIMIT $1 FOR UPDATE""",
        limit,
    )
    return records(PlainMessage, rows)


async def store_sealed_messages(
    conn: Connection, sealed: list[tuple[uuid.UUID, bytes, bytes | None]]
) -> None:
    """(id, sealed recipient, sealed content or None for a message already sent)."""
    await conn.execute(
        """UPDATE outbound_messages m
           SET recipient_sealed = s.recipient_sealed, content_sealed = s.content_sealed,
               plain_recipient = NULL, plain_subject = NULL, plain_body_text = NULL,
               plain_body_html = NULL
           FROM unnest($1::uuid[], $2::bytea[], $3::bytea[])
                AS s (id, recipient_sealed, content_sealed)
           WHERE m.id = s.id""",
        [message_id for message_id, _, _ in sealed],
        [recipient for _, recipient, _ in sealed],
        [content for _, _, content in sealed],
    )


async def validate_sealed_constraint(conn: Connection) -> None:
    """Once validated, PostgreSQL itself vouches that no plain value is left."""
    pending = await conn.fetchval(
        "SELECT NOT convalidated FROM pg_constraint WHERE conname = $1", SEALED_CONSTRAINT
    )
    if pending:
        await conn.execute(f"ALTER TABLE outbound_messages VALIDATE CONSTRAINT {SEALED_CONSTRAINT}")
