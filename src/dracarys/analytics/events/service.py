"""The analytics event stream: every domain event that says something about how people
use the platform is copied from the outbox into `analytics_events`, once per outbox event
(the consumer runs in the outbox's de-duplication transaction, and the event id is the
table's key besides). The outbox is pruned after a week; this stream is kept, and the
KPIs, funnels and warehouse exports read only it."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path

import polars as pl

from dracarys.analytics.events import cache, store
from dracarys.analytics.events.models import AnalyticsEvent, EventFact
from dracarys.db import Connection, transaction
from dracarys.outbox import Event
from dracarys.platform import Platform
from dracarys.settings import Settings

# The columns of the frame `fact_frame` returns (see `EventFact`).
FACT_SCHEMA: dict[str, pl.DataType] = {
    "user_id": pl.String(),
    "topic": pl.String(),
    "occurred_at": pl.Datetime("us", "UTC"),
    "amount": pl.Int64(),
    "currency": pl.String(),
    "subject": pl.String(),
    "rating": pl.Int64(),
    "recommend": pl.Int64(),
    "ref": pl.String(),
    "minutes": pl.Int64(),
    "seats": pl.Int64(),
    "kind": pl.String(),
}

# topic → the payload field naming the person the event is about (None: no one person).
# Sessions are the mentee's (who pays, attends, rates), except `session.completed`, which
# names its mentees as a list and counts towards the mentor.
ACTOR_FIELD: Mapping[str, str | None] = {
    # Accounts
    "user.signed_up": "user_id",
    "user.logged_in": "user_id",
    "user.email_verified": "user_id",
    "user.phone_verified": "user_id",
    "user.password_reset": "user_id",
    "user.role_changed": "user_id",
    "user.banned": "user_id",
    "profile.completed": "user_id",
    "kyc.approved": "user_id",
    "kyc.rejected": "user_id",
    # Sessions and packages
    "slot.offered": "mentor_id",
    "session.booked": "mentee_id",
    "session.paid": "mentee_id",
    "session.attended": "mentee_id",
    "session.cancelled": "mentee_id",
    "session.refunded": "mentee_id",
    "session.rescheduled": None,
    "session.completed": "mentor_id",
    "session.rated": "rater_id",
    "mentor.responded": "mentor_id",
    "package.purchased": "mentee_id",
    # Payments and payouts
    "payment.captured": "user_id",
    "deposit.completed": "user_id",
    "refund.issued": "user_id",
    "chargeback.opened": "user_id",
    "escrow.released": "mentor_id",
    "withdrawal.requested": "user_id",
    "payout.completed": "user_id",
    "payout.failed": "user_id",
    "payout.needs_review": "user_id",
    # Courses
    "cohort.joined": "user_id",
    "cohort.left": "user_id",
    "lesson.completed": "user_id",
    "certificate.granted": "user_id",
    # Points
    "points.awarded": "user_id",
    "points.redeemed": "user_id",
    "points.clawed_back": "user_id",
    "points.frozen": "user_id",
    # Growth (and what it costs: commissions on the member's payments, promotions taken)
    "referral.completed": "referee_id",
    "affiliate.commission_accrued": "referee_id",
    "promo.redeemed": "user_id",
    "subscription.started": "subscriber_id",
    "subscription.renewed": "subscriber_id",
    "subscription.lapsed": "subscriber_id",
    "signal.closed": "mentor_id",
}

ANALYTICS_TOPICS: frozenset[str] = frozenset(ACTOR_FIELD)


def _actor(event: Event) -> uuid.UUID | None:
    field = ACTOR_FIELD.get(event.topic)
    value = event.payload.get(field) if field else None
    return uuid.UUID(str(value)) if value else None


async def record_events(conn: Connection, events: Sequence[Event]) -> None:
    """Copy the events of analytics' topics into the stream inside the caller's
    transaction (the outbox consumer's); an event already there adds nothing."""
    copied = [
        AnalyticsEvent(
            event_id=event.id,
            user_id=_actor(event),
            topic=event.topic,
            occurred_at=event.created_at,
            properties=dict(event.payload),
        )
        for event in events
        if event.topic in ANALYTICS_TOPICS
    ]
    await store.insert_events(conn, copied)


# What a mentor's page counts: events naming them as the mentor (or the one rated).
MENTOR_TOPICS: frozenset[str] = frozenset(
    {
        "slot.offered",
        "session.booked",
        "session.paid",
        "session.completed",
        "session.rated",
        "mentor.responded",
        "escrow.released",
        "subscription.started",
        "subscription.renewed",
        "subscription.lapsed",
    }
)


def _frame(facts: Sequence[EventFact]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "user_id": [str(f.user_id) if f.user_id else None for f in facts],
            "topic": [f.topic for f in facts],
            "occurred_at": [f.occurred_at for f in facts],
            "amount": [f.amount for f in facts],
            "currency": [f.currency for f in facts],
            "subject": [f.subject for f in facts],
            "rating": [f.rating for f in facts],
            "recommend": [f.recommend for f in facts],
            "ref": [f.ref for f in facts],
            "minutes": [f.minutes for f in facts],
            "seats": [f.seats for f in facts],
            "kind": [f.kind for f in facts],
        },
        schema=FACT_SCHEMA,
    )


async def mentor_frame(conn: Connection, mentor_id: uuid.UUID) -> pl.DataFrame:
    """One mentor's events of `MENTOR_TOPICS`, oldest first, as a frame of `EventFact`
    columns (the amount of an escrow release is the mentor's share; the subject of a
    subscription event is the subscriber)."""
    return _frame(await store.mentor_events(conn, mentor_id, MENTOR_TOPICS))


async def fact_frame(conn: Connection, until: datetime) -> pl.DataFrame:
    """The whole stream up to `until` as one polars frame of `EventFact` columns (user ids
    as text), the input of every KPI and funnel: PostgreSQL copies it out as CSV and
    polars parses that, so millions of events never become Python objects."""
    body = await store.facts_csv(conn, ANALYTICS_TOPICS, until)
    return frame_of_csv(body)


def frame_of_csv(body: bytes) -> pl.DataFrame:
    """The frame of `store.facts_csv`'s CSV (times in microseconds since the epoch),
    oldest first."""
    read = pl.read_csv(body, schema={**FACT_SCHEMA, "occurred_at": pl.Int64()}, has_header=True)
    # Sorted here rather than by PostgreSQL: polars sorts a million times in milliseconds.
    return read.with_columns(
        pl.col("occurred_at").cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    ).sort("occurred_at", maintain_order=True)


# The frame `current_fact_frame` returns: `FACT_SCHEMA` with the member, the topic, the
# subject and the ref as categoricals, so that the KPIs' filters, joins and group-bys on
# them compare small integers instead of hashing 36-character ids (two to three times
# faster over millions of events). Currency and kind stay text: short, and sorted on.
CURRENT_SCHEMA: dict[str, pl.DataType] = {
    **FACT_SCHEMA,
    "user_id": pl.Categorical(),
    "topic": pl.Categorical(),
    "subject": pl.Categorical(),
    "ref": pl.Categorical(),
}
# Settled events (below the snapshot's xmin) read from PostgreSQL are written to the cache
# as a new segment once there are this many; fewer are read again next time (cheaply).
SEGMENT_ROWS = 50_000
# A chain this long is rewritten as one segment, so a read opens few files.
MAX_SEGMENTS = 8


def facts_cache_folder(settings: Settings) -> Path:
    """The analytics cache's folder under the data folder, named after what its facts are
    (the SQL pulling them out of the events, the topics, the columns): a release changing
    any of these starts a new cache instead of reading facts of the old shape."""
    shape = "\n".join([store.FACT_COLUMNS, *sorted(ANALYTICS_TOPICS), repr(CURRENT_SCHEMA)])
    return (
        settings.data_path
        / "analytics"
        / f"facts-{hashlib.sha256(shape.encode()).hexdigest()[:16]}"
    )


async def current_fact_frame(
    platform: Platform, until: datetime, *, segment_rows: int = SEGMENT_ROWS
) -> pl.DataFrame:
    """The whole stream up to `until`, exactly as `fact_frame` has it (in no particular
    order, some columns as categoricals: see `CURRENT_SCHEMA`), read mostly from the
    columnar cache: the cached segments, then from PostgreSQL only the events recorded
    since the cache's end, including those committed a moment ago. Settled ones among
    them (recorded by transactions below the snapshot's xmin, so final) become a new
    segment when there are `segment_rows` of them."""
    folder = facts_cache_folder(platform.settings)
    links, cached = await asyncio.to_thread(cache.read, folder)
    end = links[-1].high if links else 0
    # One snapshot for both statements: the xmin says which of the rows read are final.
    async with transaction(platform.pool, isolation="repeatable_read") as conn:
        xmin = await store.snapshot_xmin(conn)
        body = await store.facts_csv_recorded_since(conn, ANALYTICS_TOPICS, end)
    recent = await asyncio.to_thread(_current_frame_of_csv, body)
    if xmin > end:
        settled = recent.filter(pl.col("recorded_xid") < xmin).drop("recorded_xid")
        if settled.height >= segment_rows:
            await asyncio.to_thread(_extend_cache, folder, links, cached, settled, xmin)
    parts = [part for part in (cached, recent.drop("recorded_xid")) if part is not None]
    return pl.concat(parts).filter(pl.col("occurred_at") < until)


async def warm_fact_cache(platform: Platform, *, segment_rows: int = SEGMENT_ROWS) -> int:
    """The scheduled job that keeps the cache close to the stream's end, so that the
    first dashboard after a deploy (or a release that changes the facts' shape) reads
    Parquet instead of every event from PostgreSQL. Returns the cache's end (the
    transaction id it covers up to)."""
    await current_fact_frame(platform, platform.clock.now(), segment_rows=segment_rows)
    folder = facts_cache_folder(platform.settings)
    links = await asyncio.to_thread(lambda: cache.chain(cache.segments(folder)))
    return links[-1].high if links else 0


def _extend_cache(
    folder: Path,
    links: list[cache.Segment],
    cached: pl.DataFrame | None,
    settled: pl.DataFrame,
    xmin: int,
) -> None:
    if cached is None or len(links) < MAX_SEGMENTS:
        cache.write(folder, links[-1].high if links else 0, xmin, settled)
    else:
        cache.write(folder, 0, xmin, pl.concat([cached, settled]))
        cache.prune(folder)


def _current_frame_of_csv(body: bytes) -> pl.DataFrame:
    """The frame of `store.facts_csv_recorded_since`'s CSV in `CURRENT_SCHEMA`, with each
    event's recorded_xid."""
    read = pl.read_csv(
        body,
        schema={**CURRENT_SCHEMA, "occurred_at": pl.Int64(), "recorded_xid": pl.Int64()},
        has_header=True,
    )
    return read.with_columns(
        pl.col("occurred_at").cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    )
