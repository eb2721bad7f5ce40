"""Which domain service consumes which outbox topic. Each consumer has a stable name: it is
the de-duplication key in `processed_events`, so renaming one re-delivers history. The
e-mail templates those consumers queue mail with are listed here too."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from dracarys import points
from dracarys.backtests import BACKTEST_REQUESTED
from dracarys.db import Connection
from dracarys.identity.events import SESSION_ATTENDED, SESSION_RATED
from dracarys.identity.profiles import on_session_attended, on_session_rated
from dracarys.messaging.events import EMAIL_SEND, SMS_SEND
from dracarys.messaging.service import deliver_message
from dracarys.messaging.templates import EmailTemplate, register_email_template
from dracarys.outbox import BatchEventHandler, Event, EventHandler
from dracarys.platform import Platform
from dracarys.trading import SIGNAL_PUBLISHED
from workers.backtest_tasks import on_backtest_requested
from workers.trading_tasks import on_signal_published
from workers.wallet_tasks import credit_redeemed_points

# A consumer given what it needs as arguments: the connection of its transaction, the
# platform of the worker delivering, and the batch (a single event is a batch of one).
BatchApplier = Callable[[Connection, Platform, Sequence[Event]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Consumer:
    name: str
    topics: frozenset[str]
    handler: EventHandler | None = None
    # Set-based alternative to `handler` for a whole batch (see outbox.consume_batch).
    batch_handler: BatchEventHandler | None = None
    # Instead of `handler`: a consumer that receives the delivering platform.
    applies: BatchApplier | None = None

    def __post_init__(self) -> None:
        if (self.handler is None) == (self.applies is None):
            raise ValueError(f"consumer {self.name!r} needs a `handler` or `applies`, not both")

    def bound_to(self, platform: Platform) -> tuple[EventHandler, BatchEventHandler | None]:
        """The (single, batch) handlers `consume_batch` calls, given `platform`."""
        applies = self.applies
        if applies is None:
            assert self.handler is not None
            return self.handler, self.batch_handler

        async def one(conn: Connection, event: Event) -> None:
            await applies(conn, platform, [event])

        async def many(conn: Connection, batch: Sequence[Event]) -> None:
            await applies(conn, platform, batch)

        return one, many


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
    # Awards, voids, logins, badges and wallet feedback.
    Consumer(name="points.award", topics=points.CONSUMED_TOPICS, applies=points.apply_events)
)
CONSUMERS.append(
    Consumer(
        name="points.leaderboard",
        topics=frozenset({points.POINTS_AWARDED}),
        applies=points.count_awards,
    )
)
CONSUMERS.append(
    # Award e-mails and live notifications.
    Consumer(
        name="points.notify",
        topics=frozenset({points.POINTS_AWARDED}),
        applies=points.notify_awards,
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
        topics=frozenset({points.POINTS_REDEEMED_FOR_CREDIT}),
        applies=credit_redeemed_points,
    )
)


# The e-mail templates the consumers above queue mail with, by name.
EMAIL_TEMPLATES: dict[str, EmailTemplate] = {**points.EMAIL_TEMPLATES}


def register_email_templates() -> None:
    """Give messaging the templates of `EMAIL_TEMPLATES` (again is harmless)."""
    for name, template in EMAIL_TEMPLATES.items():
        register_email_template(name, template)


def consumers_for(topic: str) -> list[Consumer]:
    return [c for c in CONSUMERS if topic in c.topics or "*" in c.topics]


def consumer_names(topic: str) -> list[str]:
    """Who must commit an event of `topic` before it is complete."""
    return [c.name for c in consumers_for(topic)]
