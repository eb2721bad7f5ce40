"""The SQL of the analytics event stream: an append-only table (the database refuses
UPDATE, DELETE and TRUNCATE), written once per outbox event id."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Collection, Sequence
from datetime import datetime

import msgspec

from dracarys.analytics.events.models import AnalyticsEvent, EventFact
from dracarys.db import Connection, records

_EVENT = "event_id, user_id, topic, occurred_at, properties"


async def insert_events(conn: Connection, events: Sequence[AnalyticsEvent]) -> int:
    """Insert the events not already in the stream (one statement); returns how many were
    new. The outbox event id is the key, so a redelivered event adds nothing."""
    if not events:
        return 0
    rows = await conn.fetch(
        """INSERT INTO analytics_events (event_id, user_id, topic, occurred_at, properties)
           SELECT e.event_id, e.user_id, e.topic, e.occurred_at, e.properties::jsonb
           FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::timestamptz[], $5::text[])
                AS e(event_id, user_id, topic, occurred_at, properties)
           ON CONFLICT (event_id) DO NOTHING
           RETURNING event_id""",
        [e.event_id for e in events],
        [e.user_id for e in events],
        [e.topic for e in events],
        [e.occurred_at for e in events],
        [msgspec.json.encode(e.properties).decode() for e in events],
    )
    return len(rows)


async def count(conn: Connection) -> int:
    value = await conn.fetchval("SELECT count(*) FROM analytics_events")
    return int(value)


# The columns of a fact pulled out of an event's properties, in SQL (see `EventFact`); the
# time as microseconds since the epoch, so that the CSV copy needs no date parsing. (The
# analytics cache keys its folder on this text: changing it starts a new cache.)
FACT_COLUMNS = """user_id::text AS user_id, topic,
       (extract(epoch FROM occurred_at) * 1000000)::bigint AS occurred_at,
       coalesce(properties->>'amount_minor', properties->>'delta',
                properties->>'points', properties->>'seconds')::bigint AS amount,
       properties->>'currency' AS currency,
       coalesce(properties->>'program_id', properties->>'mentor_id') AS subject,
       (properties->>'rating')::int AS rating,
       (properties->>'recommend')::int AS recommend,
       coalesce(properties->>'slot_id', properties->>'payout_id') AS ref,
       (properties->>'minutes')::int AS minutes,
       (properties->>'seats')::int AS seats,
       coalesce(properties->>'funded_by', properties->>'reason_code',
                properties->>'kind') AS kind"""


async def facts_csv(conn: Connection, topics: Collection[str], until: datetime) -> bytes:
    """The events of `topics` up to `until` (in no order: the caller sorts), each with its
    amount, currency, subject, rating and the rest pulled out of its properties (money for
    payments and payouts, points for points, seconds for a mentor's answer, the program
    for enrolments and certificates, the mentor for sessions), as CSV with a header,
    copied out by PostgreSQL in one COPY (no row is built in Python)."""
    chunks: list[bytes] = []

    async def keep(chunk: bytes) -> None:
        chunks.append(chunk)

    await conn.copy_from_query(
        f"""SELECT {FACT_COLUMNS} FROM analytics_events
            WHERE topic = ANY($1::text[]) AND occurred_at < $2""",
        list(topics),
        until,
        output=keep,
        format="csv",
        header=True,
    )
    return b"".join(chunks)


async def snapshot_xmin(conn: Connection) -> int:
    """The oldest transaction still running when the caller's snapshot was taken: every
    transaction below it has committed or rolled back for good. Inside a repeatable-read
    transaction, the snapshot every later statement of it reads."""
    value = await conn.fetchval("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
    return int(value)


async def facts_csv_recorded_since(
    conn: Connection, topics: Collection[str], recorded_from: int
) -> bytes:
    """As `facts_csv`, for the events of `topics` recorded by transactions from
    `recorded_from` on (0: every event, those recorded before the column existed
    included), whenever they happened, with each one's `recorded_xid` (0 for those)."""
    chunks: list[bytes] = []

    async def keep(chunk: bytes) -> None:
        chunks.append(chunk)

    # From 0 the whole table is read, so without the condition (which NULLs would fail);
    # otherwise the index on recorded_xid finds the few recent events.
    since, args = (
        ("AND recorded_xid >= $2::text::xid8", [str(recorded_from)]) if recorded_from else ("", [])
    )
    await conn.copy_from_query(
        f"""SELECT {FACT_COLUMNS},
                   coalesce(recorded_xid::text::bigint, 0) AS recorded_xid
            FROM analytics_events WHERE topic = ANY($1::text[]) {since}""",
        list(topics),
        *args,
        output=keep,
        format="csv",
        header=True,
    )
    return b"".join(chunks)


async def events_between(
    conn: Connection, since: datetime, until: datetime, *, batch: int = 2000
) -> AsyncIterator[list[AnalyticsEvent]]:
    """The events recorded in [since, until), oldest first, in batches read from a
    server-side cursor (the caller holds a transaction open), so an export of any size
    never sits in memory at once."""
    cursor = conn.cursor(
        f"""SELECT {_EVENT} FROM analytics_events
            WHERE occurred_at >= $1 AND occurred_at < $2
            ORDER BY occurred_at, event_id""",
        since,
        until,
        prefetch=batch,
    )
    chunk: list[AnalyticsEvent] = []
    async for row in cursor:
        chunk.append(
            AnalyticsEvent(
                event_id=row["event_id"],
                user_id=row["user_id"],
                topic=row["topic"],
                occurred_at=row["occurred_at"],
                properties=row["properties"],
            )
        )
        if len(chunk) >= batch:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


async def mentor_events(
    conn: Connection, mentor_id: uuid.UUID, topics: Collection[str]
) -> list[EventFact]:
    """The events of `topics` about one mentor's teaching (their id as the payload's
    mentor or rated person), with the same extracted columns as `facts`; the amount of an
    escrow release is the mentor's share, of a response its seconds."""
    rows = await conn.fetch(
        """SELECT user_id, topic, occurred_at,
                  coalesce(properties->>'mentor_minor', properties->>'amount_minor',
                           properties->>'seconds')::bigint AS amount,
                  properties->>'currency' AS currency,
                  coalesce(properties->>'subscriber_id', properties->>'session_id')
                      AS subject,
                  (properties->>'rating')::int AS rating,
                  properties->>'slot_id' AS ref,
                  (properties->>'minutes')::int AS minutes,
                  (properties->>'seats')::int AS seats,
                  properties->>'kind' AS kind
           FROM analytics_events
           WHERE topic = ANY($2::text[])
             AND (properties->>'mentor_id' = $1::text OR properties->>'rated_id' = $1::text)
           ORDER BY occurred_at, event_id""",
        str(mentor_id),
        list(topics),
    )
    return records(EventFact, rows)
