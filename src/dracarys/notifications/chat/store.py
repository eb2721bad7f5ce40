"""Chat's SQL. A message's sequence number comes from its conversation's counter, bumped
in the sending transaction while the conversation's row is locked: numbers are 1, 2, 3…
per conversation, never reused, and the primary key (conversation_id, seq) holds it."""

from __future__ import annotations

import uuid
from datetime import datetime

from dracarys.db import Connection, record, record_or_none, records
from dracarys.notifications.chat.models import (
    AttachmentFile,
    Conversation,
    MessageRow,
    ReportRow,
)

_CONVERSATION = """SELECT id, mentor_id, mentee_id, status, opened_by, last_seq, mentor_read_seq,
       mentee_read_seq, blocked_by, created_at, last_message_at FROM chat_conversations"""

_MESSAGE = """SELECT m.id, m.conversation_id, m.seq, m.sender_id, m.kind, m.body, m.attachment_id,
       a.file_name AS attachment_name, a.content_type AS attachment_type,
       a.size_bytes AS attachment_bytes, m.lesson_id, m.lesson_title, m.request_hash,
       m.removed_at, m.created_at
  FROM chat_messages m LEFT JOIN chat_attachments a ON a.id = m.attachment_id"""


async def conversation(
    conn: Connection, conversation_id: uuid.UUID, *, lock: bool = False
) -> Conversation | None:
    sql = f"{_CONVERSATION} WHERE id = $1{' FOR UPDATE' if lock else ''}"
    return record_or_none(Conversation, await conn.fetchrow(sql, conversation_id))


async def conversation_of_pair(
    conn: Connection, mentor_id: uuid.UUID, mentee_id: uuid.UUID, *, lock: bool = False
) -> Conversation | None:
    sql = f"{_CONVERSATION} WHERE mentor_id = $1 AND mentee_id = $2{' FOR UPDATE' if lock else ''}"
    return record_or_none(Conversation, await conn.fetchrow(sql, mentor_id, mentee_id))


async def insert_conversation(
    conn: Connection,
    *,
    mentor_id: uuid.UUID,
    mentee_id: uuid.UUID,
    status: str,
    opened_by: str,
    now: datetime,
) -> Conversation:
    """The pair's conversation; a concurrent start of the same pair gets the same row."""
    await conn.execute(
        """INSERT INTO chat_conversations
               (id, mentor_id, mentee_id, status, opened_by, created_at, last_message_at)
           VALUES ($1, $2, $3, $4, $5, $6, $6)
           ON CONFLICT (mentor_id, mentee_id) DO NOTHING""",
        uuid.uuid4(),
        mentor_id,
        mentee_id,
        status,
        opened_by,
        now,
    )
    found = await conversation_of_pair(conn, mentor_id, mentee_id, lock=True)
    assert found is not None
    return found


async def conversations_of(conn: Connection, user_id: uuid.UUID) -> list[Conversation]:
    rows = await conn.fetch(
        f"{_CONVERSATION} WHERE mentor_id = $1 OR mentee_id = $1 ORDER BY last_message_at DESC",
        user_id,
    )
    return records(Conversation, rows)


async def member_conversations(
    conn: Connection, user_ids: list[uuid.UUID], conversation_id: uuid.UUID
) -> set[uuid.UUID]:
    row = await conn.fetchrow(
        "SELECT mentor_id, mentee_id FROM chat_conversations WHERE id = $1", conversation_id
    )
    if row is None:
        return set()
    return {u for u in user_ids if u in (row["mentor_id"], row["mentee_id"])}


async def set_status(
    conn: Connection, conversation_id: uuid.UUID, status: str, opened_by: str | None = None
) -> None:
    await conn.execute(
        """UPDATE chat_conversations SET status = $2, opened_by = coalesce($3, opened_by)
            WHERE id = $1""",
        conversation_id,
        status,
        opened_by,
    )


async def set_blocked_by(
    conn: Connection, conversation_id: uuid.UUID, blocked_by: uuid.UUID | None
) -> None:
    await conn.execute(
        "UPDATE chat_conversations SET blocked_by = $2 WHERE id = $1", conversation_id, blocked_by
    )


async def next_seq(conn: Connection, conversation_id: uuid.UUID, now: datetime) -> int:
    seq: int = await conn.fetchval(
        """UPDATE chat_conversations SET last_seq = last_seq + 1, last_message_at = $2
            WHERE id = $1 RETURNING last_seq""",
        conversation_id,
        now,
    )
    return seq


async def mark_read(conn: Connection, conversation_id: uuid.UUID, *, mentor: bool, seq: int) -> int:
    """Move the member's read position forward (never back, never past the last message)."""
    column = "mentor_read_seq" if mentor else "mentee_read_seq"
    read: int = await conn.fetchval(
        f"""UPDATE chat_conversations SET {column} = GREATEST({column}, LEAST($2, last_seq))
             WHERE id = $1 RETURNING {column}""",
        conversation_id,
        seq,
    )
    return read


async def message_by_key(
    conn: Connection, conversation_id: uuid.UUID, sender_id: uuid.UUID, key: str
) -> MessageRow | None:
    row = await conn.fetchrow(
        f"""{_MESSAGE} WHERE m.conversation_id = $1 AND m.sender_id = $2
              AND m.idempotency_key = $3""",
        conversation_id,
        sender_id,
        key,
    )
    return record_or_none(MessageRow, row)


async def insert_message(
    conn: Connection,
    *,
    conversation_id: uuid.UUID,
    seq: int,
    sender_id: uuid.UUID,
    kind: str,
    body: str,
    attachment_id: uuid.UUID | None,
    lesson_id: uuid.UUID | None,
    lesson_title: str | None,
    idempotency_key: str,
    request_hash: str,
    now: datetime,
) -> MessageRow:
    message_id = uuid.uuid4()
    await conn.execute(
        """INSERT INTO chat_messages (id, conversation_id, seq, sender_id, kind, body,
               attachment_id, lesson_id, lesson_title, idempotency_key, request_hash, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)""",
        message_id,
        conversation_id,
        seq,
        sender_id,
        kind,
        body,
        attachment_id,
        lesson_id,
        lesson_title,
        idempotency_key,
        request_hash,
        now,
    )
    found = await message(conn, message_id)
    assert found is not None
    return found


async def message(conn: Connection, message_id: uuid.UUID) -> MessageRow | None:
    return record_or_none(
        MessageRow, await conn.fetchrow(f"{_MESSAGE} WHERE m.id = $1", message_id)
    )


async def oldest_unanswered(
    conn: Connection, conversation_id: uuid.UUID, mentor_id: uuid.UUID, after_seq: int
) -> datetime | None:
    """When the oldest message the mentor has not answered was sent: the first one from
    the other member after the mentor's last message (and after `after_seq`)."""
    value = await conn.fetchval(
        """SELECT min(created_at) FROM chat_messages
            WHERE conversation_id = $1 AND sender_id <> $2
              AND seq > GREATEST($3, coalesce(
                  (SELECT max(seq) FROM chat_messages
                    WHERE conversation_id = $1 AND sender_id = $2), 0))""",
        conversation_id,
        mentor_id,
        after_seq,
    )
    return value if isinstance(value, datetime) else None


async def messages(
    conn: Connection,
    conversation_id: uuid.UUID,
    *,
    after_seq: int | None,
    before_seq: int | None,
    limit: int,
) -> list[MessageRow]:
    """Oldest first: the `limit` after `after_seq`, or the latest `limit` before
    `before_seq` (or the latest of all)."""
    if after_seq is not None:
        rows = await conn.fetch(
            f"""{_MESSAGE} WHERE m.conversation_id = $1 AND m.seq > $2
                 ORDER BY m.seq LIMIT $3""",
            conversation_id,
            after_seq,
            limit,
        )
        return records(MessageRow, rows)
    rows = await conn.fetch(
        f"""{_MESSAGE} WHERE m.conversation_id = $1 AND m.seq < $2
             ORDER BY m.seq DESC LIMIT $3""",
        conversation_id,
        before_seq if before_seq is not None else 2**62,
        limit,
    )
    return list(reversed(records(MessageRow, rows)))


async def last_messages(
    conn: Connection, conversation_ids: list[uuid.UUID]
) -> dict[uuid.UUID, MessageRow]:
    rows = await conn.fetch(
        f"""{_MESSAGE} JOIN chat_conversations c
               ON c.id = m.conversation_id AND m.seq = c.last_seq
             WHERE m.conversation_id = ANY($1::uuid[])""",
        conversation_ids,
    )
    return {r.conversation_id: r for r in records(MessageRow, rows)}


async def lesson_messages(conn: Connection, conversation_ids: list[uuid.UUID]) -> list[MessageRow]:
    rows = await conn.fetch(
        f"""{_MESSAGE} WHERE m.conversation_id = ANY($1::uuid[]) AND m.kind = 'lesson'
              AND m.removed_at IS NULL ORDER BY m.seq""",
        conversation_ids,
    )
    return records(MessageRow, rows)


async def search(
    conn: Connection, user_id: uuid.UUID, query: str, limit: int
) -> list[tuple[MessageRow, float]]:
    """The caller's messages matching a web-search style query, best first."""
    rows = await conn.fetch(
        f"""SELECT hit.*, ts_rank(hit.search, q) AS rank
              FROM ({_MESSAGE.replace("SELECT m.id", "SELECT m.search, m.id", 1)}) hit,
                   websearch_to_tsquery('simple', $2) AS q
             WHERE hit.search @@ q AND hit.removed_at IS NULL
               AND hit.conversation_id IN (SELECT id FROM chat_conversations
                                            WHERE mentor_id = $1 OR mentee_id = $1)
             ORDER BY rank DESC, hit.created_at DESC LIMIT $3""",
        user_id,
        query,
        limit,
    )
    return [(record(MessageRow, row), float(row["rank"])) for row in rows]


async def remove_message(conn: Connection, message_id: uuid.UUID, now: datetime) -> None:
    await conn.execute(
        """UPDATE chat_messages SET removed_at = $2 WHERE id = $1 AND removed_at IS NULL""",
        message_id,
        now,
    )


# ---- attachments -------------------------------------------------------------------------


async def insert_attachment(
    conn: Connection,
    *,
    conversation_id: uuid.UUID,
    uploader_id: uuid.UUID,
    content_type: str,
    file_name: str,
    content: bytes,
    now: datetime,
) -> uuid.UUID:
    attachment_id = uuid.uuid4()
    await conn.execute(
        """INSERT INTO chat_attachments (id, conversation_id, uploader_id, content_type,
               file_name, size_bytes, content, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
        attachment_id,
        conversation_id,
        uploader_id,
        content_type,
        file_name,
        len(content),
        content,
        now,
    )
    return attachment_id


async def attachment(conn: Connection, attachment_id: uuid.UUID) -> AttachmentFile | None:
    row = await conn.fetchrow(
        """SELECT a.id, a.conversation_id, a.content_type, a.file_name, a.content
             FROM chat_attachments a JOIN chat_messages m ON m.attachment_id = a.id
            WHERE a.id = $1 AND m.removed_at IS NULL""",
        attachment_id,
    )
    return record_or_none(AttachmentFile, row)


# ---- reports -----------------------------------------------------------------------------

_REPORT = """SELECT r.id, r.message_id, m.conversation_id, m.seq, m.sender_id, r.reporter_id,
       m.body, m.kind, r.reason, r.status, r.resolution_note, r.created_at, r.resolved_at
  FROM chat_reports r JOIN chat_messages m ON m.id = r.message_id"""


async def insert_report(
    conn: Connection,
    *,
    message_id: uuid.UUID,
    reporter_id: uuid.UUID,
    reason: str,
    now: datetime,
) -> ReportRow:
    """One report per reporter and message: reporting again returns the first."""
    await conn.execute(
        """INSERT INTO chat_reports (id, message_id, reporter_id, reason, created_at)
           VALUES ($1, $2, $3, $4, $5) ON CONFLICT (message_id, reporter_id) DO NOTHING""",
        uuid.uuid4(),
        message_id,
        reporter_id,
        reason,
        now,
    )
    row = await conn.fetchrow(
        f"{_REPORT} WHERE r.message_id = $1 AND r.reporter_id = $2", message_id, reporter_id
    )
    assert row is not None
    return record(ReportRow, row)


async def report(conn: Connection, report_id: uuid.UUID, *, lock: bool = False) -> ReportRow | None:
    sql = f"{_REPORT} WHERE r.id = $1{' FOR UPDATE OF r' if lock else ''}"
    return record_or_none(ReportRow, await conn.fetchrow(sql, report_id))


async def reports(conn: Connection, *, open_only: bool, limit: int) -> list[ReportRow]:
    rows = await conn.fetch(
        f"""{_REPORT} WHERE ($1::boolean IS FALSE OR r.status = 'open')
             ORDER BY r.created_at LIMIT $2""",
        open_only,
        limit,
    )
    return records(ReportRow, rows)


async def resolve_report(
    conn: Connection,
    report_id: uuid.UUID,
    *,
    status: str,
    resolved_by: uuid.UUID,
    note: str,
    now: datetime,
) -> None:
    await conn.execute(
        """UPDATE chat_reports SET status = $2, resolved_by = $3, resolution_note = $4,
               resolved_at = $5 WHERE id = $1""",
        report_id,
        status,
        resolved_by,
        note,
        now,
    )
