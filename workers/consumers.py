"""Which domain service consumes which outbox topic. Each consumer has a stable name: it is
the de-duplication key in `processed_events`, so renaming one re-delivers history."""

from __future__ import annotations

from dataclasses import dataclass

from dracarys.backtests.events import BACKTEST_REQUESTED
from dracarys.identity.events import SESSION_ATTENDED, SESSION_RATED
from dracarys.identity.profiles import on_session_attended, on_session_rated
from dracarys.messaging.events import EMAIL_SEND, SMS_SEND
from dracarys.messaging.service import deliver_message
from dracarys.outbox import BatchEventHandler, EventHandler
from dracarys.points.events import CONSUMED_TOPICS as POINTS_TOPICS
from dracarys.points.events import POINTS_AWARDED, POINTS_REDEEMED_FOR_CREDIT
from dracarys.trading.events import SIGNAL_PUBLISHED
from dracarys.trading.signals import on_signal_published
from workers.backtest_tasks import on_backtest_requested
from workers.points_tasks import (
    on_points_awarded,
    on_points_awarded_batch,
    on_points_awarded_notify,
    on_points_awarded_notify_batch,
    on_points_event,
    on_points_events,
)
from workers.wallet_tasks import on_points_redeemed_for_credit


@dataclass(frozen=True, slots=True)
class Consumer:
    name: str
    topics: frozenset[str]
    handler: EventHandler
    # Set-based alternative to `handler` for a whole batch (see outbox.consume_batch).
    batch_handler: BatchEventHandler | None = None


CONSUMERS: list[Consumer] = []

CONSUMERS.append(
    Consumer(
        name="messaging.deliver", topics=frozenset({EMAIL_SEND, SMS_SEND}), handler=deliver_message
    )
)
CONSUMERS.append(
    Consumer(name="identity.ratings", topics=frozenset({SESSION_RATED}), handler=on_session_rated)
)
CONSUMERS.append(
    Consumer(
        name="identity.mentor_sessions",
        topics=frozenset({SESSION_ATTENDED}),
        handler=on_session_attended,
    )
)
CONSUMERS.append(
    Consumer(
        name="points.award",
        topics=POINTS_TOPICS,
        handler=on_points_event,
        batch_handler=on_points_events,
    )
)
CONSUMERS.append(
    Consumer(
        name="points.leaderboard",
        topics=frozenset({POINTS_AWARDED}),
        handler=on_points_awarded,
        batch_handler=on_points_awarded_batch,
    )
)
CONSUMERS.append(
    Consumer(
        name="points.notify",
        topics=frozenset({POINTS_AWARDED}),
        handler=on_points_awarded_notify,
        batch_handler=on_points_awarded_notify_batch,
    )
)
CONSUMERS.append(
    Consumer(
        name="backtests.run",
        topics=frozenset({BACKTEST_REQUESTED}),
        handler=on_backtest_requested,
    )
)
CONSUMERS.append(
    Consumer(
        name="trading.mirror", topics=frozenset({SIGNAL_PUBLISHED}), handler=on_signal_published
    )
)
CONSUMERS.append(
    Consumer(
        name="wallet.points_credit",
        topics=frozenset({POINTS_REDEEMED_FOR_CREDIT}),
        handler=on_points_redeemed_for_credit,
    )
)


def consumers_for(topic: str) -> list[Consumer]:
    return [c for c in CONSUMERS if topic in c.topics or "*" in c.topics]


def consumer_names(topic: str) -> list[str]:
    """Who must commit an event of `topic` before it is complete."""
    return [c.name for c in consumers_for(topic)]
