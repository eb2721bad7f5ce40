"""The analytics event stream: every domain event that says something about how people
use the platform is copied from the outbox into `analytics_events`, once per outbox event
(the consumer runs in the outbox's de-duplication transaction, and the event id is the
table's key besides). The outbox is pruned after a week; this stream is kept, and the
KPIs, funnels and warehouse exports read only it."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime

import polars as pl

from dracarys.analytics.events import store
from dracarys.analytics.events.models import AnalyticsEvent, EventFact
from dracarys.db import Connection
from dracarys.outbox import Event

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
