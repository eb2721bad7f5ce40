"""The analytics event stream: copied from the outbox by its consumer, once per outbox
event, and append-only."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg
import pytest

from dracarys import analytics
from dracarys.db import transaction
from dracarys.outbox import Event, emit, relay_batch
from dracarys.platform import Platform
from tests.analytics.fixture import U1, deliver, history, stream_rows


async def test_each_analytics_event_is_copied_once_with_its_user_topic_and_time(
    platform: Platform,
) -> None:
    events = history()
    # Everything but the mail (not analytics' topic) is copied.
    copied = [e for e in events if e.topic != "email.send"]

    assert await deliver(platform, events) == len(copied)

    rows = await platform.pool.fetch(
        "SELECT event_id, user_id, topic, occurred_at, properties FROM analytics_events"
    )
    by_id = {r["event_id"]: r for r in rows}
    assert set(by_id) == {e.id for e in copied}
    signed_up = next(e for e in events if e.topic == "user.signed_up")
    row = by_id[signed_up.id]
    assert (row["user_id"], row["topic"], row["occurred_at"]) == (
        U1,
        "user.signed_up",
        signed_up.created_at,
    )
    assert row["properties"] == {"user_id": str(U1)}
    rescheduled = next(e for e in events if e.topic == "session.rescheduled")
    assert by_id[rescheduled.id]["user_id"] is None


async def test_a_redelivered_event_adds_no_analytics_row(platform: Platform) -> None:
    # Through the real outbox: emitted in a transaction, relayed, consumed.
    async with transaction(platform.pool) as conn:
        await emit(conn, "user.signed_up", {"user_id": str(U1)})
        await emit(conn, "user.logged_in", {"user_id": str(U1), "source_ip": "10.0.0.1"})
    relayed: list[Event] = []

    async def publish(events: Sequence[Event]) -> None:
        relayed.extend(events)
        await deliver(platform, events)

    assert await relay_batch(platform.pool, publish) == 2
    assert await stream_rows(platform.pool) == 2

    # The queue hands the same events over again: the consumer's de-duplication skips them.
    assert await deliver(platform, relayed) == 0
    # Even a copy that bypassed the de-duplication record adds nothing: the outbox event id
    # is the stream's key.
    async with transaction(platform.pool) as conn:
        await analytics.record_events(conn, relayed)
    assert await stream_rows(platform.pool) == 2


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE analytics_events SET topic = 'user.banned'",
        "DELETE FROM analytics_events",
        "TRUNCATE analytics_events",
    ],
)
async def test_the_analytics_stream_refuses_update_delete_and_truncate(
    platform: Platform, statement: str
) -> None:
    await deliver(platform, history()[:3])

    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
        await platform.pool.execute(statement)

    assert await stream_rows(platform.pool) == 3
