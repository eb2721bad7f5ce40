"""Which domain service consumes which outbox topic. Each consumer has a stable name: it is
the de-duplication key in `processed_events`, so renaming one re-delivers history.

A consumer is called as `handler(conn, event, delivery)` (or `batch_handler(conn, events,
delivery)` for a whole batch): `delivery` hands it the delivering worker's platform and
broker, and each entry below passes its domain function exactly what that needs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from dracarys import admin, analytics, notifications, points, social, wallet
from dracarys.backtests import BACKTEST_REQUESTED
from dracarys.db import Connection
from dracarys.identity.consumers import (
    SessionAttended,
    SessionRated,
    on_session_attended,
    on_session_rated,
)
from dracarys.messaging import EMAIL_SEND, SMS_SEND, deliver_message
from dracarys.outbox import Event
from dracarys.platform import Platform
from dracarys.trading import (
    BROKER_CANCEL_REQUESTED,
    BROKER_ORDER_ROUTED,
    SIGNAL_PUBLISHED,
    cancel_at_broker,
    send_routed_order,
)
from workers.backtest_tasks import on_backtest_requested
from workers.broker import Delivery
from workers.trading_tasks import on_signal_published
from workers.wallet_tasks import credit_redeemed_points

ConsumerHandler = Callable[[Connection, Event, Delivery], Awaitable[None]]
BatchConsumerHandler = Callable[[Connection, Sequence[Event], Delivery], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Consumer:
    name: str
    topics: frozenset[str]
    handler: ConsumerHandler
    # Set-based alternative to `handler` for a whole batch (see outbox.consume_batch).
    batch_handler: BatchConsumerHandler | None = None


BatchApply = Callable[[Connection, Platform, Sequence[Event]], Awaitable[None]]


def batched(name: str, topics: frozenset[str], apply: BatchApply) -> Consumer:
    """A consumer whose domain function takes a whole batch: one event is a batch of one."""
    return Consumer(
        name=name,
        topics=topics,
        handler=lambda conn, event, delivery: apply(conn, delivery.platform, [event]),
        batch_handler=lambda conn, batch, delivery: apply(conn, delivery.platform, batch),
    )


CONSUMERS: list[Consumer] = [
    # Every event that says how people use the platform, into the append-only analytics
    # stream the KPIs, funnels and warehouse exports read (the outbox is pruned weekly).
    batched(
        name="analytics.events",
        topics=analytics.ANALYTICS_TOPICS,
        apply=lambda conn, _, batch: analytics.record_events(conn, batch),
    ),
    Consumer(
        name="messaging.deliver",
        topics=frozenset({EMAIL_SEND, SMS_SEND}),
        handler=lambda conn, event, delivery: deliver_message(conn, delivery.platform, event),
    ),
    Consumer(
        name="identity.ratings",
        topics=frozenset({SessionRated.topic}),
        handler=lambda conn, event, _: on_session_rated(conn, event),
    ),
    Consumer(
        name="identity.mentor_sessions",
        topics=frozenset({SessionAttended.topic}),
        handler=lambda conn, event, _: on_session_attended(conn, event),
    ),
    # Awards, voids, logins, badges and wallet feedback.
    batched(
        name="points.award",
        topics=points.CONSUMED_TOPICS,
        apply=points.apply_events,
    ),
    batched(
        name="points.leaderboard",
        topics=frozenset({points.POINTS_AWARDED}),
        apply=points.count_awards,
    ),
    # Every event that matters to a person, through its notification workflow: the inbox,
    # e-mail and SMS per their preferences, and the live frame (points' awards included).
    batched(
        name="notifications.workflows",
        topics=notifications.CONSUMED_TOPICS,
        apply=notifications.notify,
    ),
    # Each push of a notification to one subscribed browser (retried like e-mail).
    Consumer(
        name="notifications.push",
        topics=frozenset({notifications.PUSH_SEND}),
        handler=lambda conn, event, delivery: notifications.deliver_push(
            conn, delivery.platform, event
        ),
    ),
    # Each chat message's live frame from the record, so one the API lost still goes out.
    batched(
        name="notifications.chat_live",
        topics=frozenset({notifications.CHAT_MESSAGE_SENT}),
        apply=notifications.publish_sent_messages,
    ),
    # Drip programs: sign-ups and course joins enrol, exit conditions end enrolments.
    batched(
        name="notifications.programs",
        topics=notifications.PROGRAM_TOPICS,
        apply=notifications.apply_program_events,
    ),
    # Who holds which badge, so that only its holder shares one (social never asks points).
    batched(
        name="social.badges",
        topics=frozenset({social.BADGE_EARNED_TOPIC}),
        apply=lambda conn, _, batch: social.record_badges_earned(conn, batch),
    ),
    # A referee's first paid session decides their referral; sign-ins are sightings.
    batched(
        name="social.referrals",
        topics=social.REFERRAL_TOPICS,
        apply=social.apply_referral_events,
    ),
    # A referred member's payments earn their affiliate; refunds and chargebacks reverse it.
    batched(
        name="social.affiliates",
        topics=social.AFFILIATE_TOPICS,
        apply=social.apply_affiliate_events,
    ),
    Consumer(
        name="backtests.run",
        topics=frozenset({BACKTEST_REQUESTED}),
        handler=on_backtest_requested,
    ),
    Consumer(
        name="trading.mirror",
        topics=frozenset({SIGNAL_PUBLISHED}),
        handler=lambda conn, event, delivery: on_signal_published(conn, delivery.platform, event),
    ),
    # A mirrored order routed to a member's own broker: sent once (the broker de-duplicates
    # on its client order id), its fills come back through `follow_broker_fills`.
    Consumer(
        name="trading.broker_send",
        topics=frozenset({BROKER_ORDER_ROUTED}),
        handler=lambda conn, event, delivery: send_routed_order(conn, delivery.platform, event),
    ),
    # A corrected signal's copy still open at a member's broker: asked to cancel there.
    Consumer(
        name="trading.broker_cancel",
        topics=frozenset({BROKER_CANCEL_REQUESTED}),
        handler=lambda conn, event, delivery: cancel_at_broker(conn, delivery.platform, event),
    ),
    # Money moved in a wallet: its owner's open pages hear it live.
    Consumer(
        name="wallet.live",
        topics=wallet.LIVE_TOPICS,
        handler=lambda _, event, delivery: wallet.publish_wallet_changes(
            delivery.platform, [event]
        ),
        batch_handler=lambda _, batch, delivery: wallet.publish_wallet_changes(
            delivery.platform, batch
        ),
    ),
    # Deposits, withdrawal requests and payments judged by the AML rules of the member's
    # country: alerts, cases, and withdrawals held until a reviewer clears the case.
    batched(
        name="admin.aml",
        topics=admin.AML_TOPICS,
        apply=admin.judge_wallet_events,
    ),
    # Operational alerts for staff: chargebacks, failed payouts, sign-ins from a new device
    # and network, failed sign-in bursts per network; points awards tallied per hour for
    # the hourly baseline check.
    batched(
        name="admin.alerts",
        topics=admin.ALERT_TOPICS,
        apply=admin.watch_for_alerts,
    ),
    batched(
        name="wallet.points_credit",
        topics=frozenset({points.POINTS_REDEEMED_FOR_CREDIT}),
        apply=credit_redeemed_points,
    ),
]


def consumers_for(topic: str) -> list[Consumer]:
    return [c for c in CONSUMERS if topic in c.topics or "*" in c.topics]


def consumer_names(topic: str) -> list[str]:
    """Who must commit an event of `topic` before it is complete."""
    return [c.name for c in consumers_for(topic)]
