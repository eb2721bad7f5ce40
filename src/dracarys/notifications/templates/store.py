"""The SQL of notification template versions."""

from __future__ import annotations

import uuid
from datetime import datetime

from dracarys.db import Connection, record, records, xact_lock
from dracarys.notifications.templates.models import TemplateVersion

_COLUMNS = """kind, channel, language, version, subject, body, follows_code, reverted_from,
              author_id, created_at"""


async def active_versions(conn: Connection) -> list[TemplateVersion]:
    """The newest version of every text that has one (a few dozen rows at most)."""
    rows = await conn.fetch(
        f"""SELECT DISTINCT ON (kind, channel, language) {_COLUMNS}
            FROM notification_templates
            ORDER BY kind, channel, language, version DESC"""
    )
    return records(TemplateVersion, rows)


async def versions_of(
    conn: Connection, kind: str, channel: str, language: str
) -> list[TemplateVersion]:
    rows = await conn.fetch(
        f"""SELECT {_COLUMNS} FROM notification_templates
            WHERE kind = $1 AND channel = $2 AND language = $3
            ORDER BY version DESC""",
        kind,
        channel,
        language,
    )
    return records(TemplateVersion, rows)


async def add_version(
    conn: Connection,
    *,
    kind: str,
    channel: str,
    language: str,
    subject: str | None,
    body: str | None,
    follows_code: bool,
    reverted_from: int | None,
    author_id: uuid.UUID,
    at: datetime,
) -> TemplateVersion:
    """The next version number of this text; saves of the same text queue on its lock
    (until the caller's transaction ends), so each gets its own number."""
    await xact_lock(conn, "notification_template", kind, channel, language)
    row = await conn.fetchrow(
        f"""INSERT INTO notification_templates ({_COLUMNS})
            SELECT $1, $2, $3, coalesce(max(version), 0) + 1, $4, $5, $6, $7, $8, $9
            FROM notification_templates
            WHERE kind = $1 AND channel = $2 AND language = $3
            RETURNING {_COLUMNS}""",
        kind,
        channel,
        language,
        subject,
        body,
        follows_code,
        reverted_from,
        author_id,
        at,
    )
    assert row is not None  # an INSERT … RETURNING of one row
    return record(TemplateVersion, row)
