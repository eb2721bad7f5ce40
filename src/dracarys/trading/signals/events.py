"""Events of mentor signals and feed subscriptions, each with its payload's shape. Trading
consumes `signal.published` itself (the `trading.mirror` consumer copies a signal into
subscribers' portfolios off the mentor's request path); the rest have no consumer here
yet (the event catalogue test says who reads them). Each payload is emitted through the
outbox with `emit_event` (ids as strings, money as `amount_minor` plus `currency`)."""

from __future__ import annotations

from typing import ClassVar

from dracarys.outbox import EventPayload

SIGNAL_PUBLISHED = "signal.published"
SIGNAL_CLOSED = "signal.closed"  # the signal book closed, expired or superseded a signal
SUBSCRIPTION_STARTED = "subscription.started"
# A paid feed's period renewed from the wallet, or the wallet could not pay it (no access
# until it can), or it stayed unpaid for a week and the subscription ended.
SUBSCRIPTION_RENEWED = "subscription.renewed"
SUBSCRIPTION_PAST_DUE = "subscription.past_due"
SUBSCRIPTION_LAPSED = "subscription.lapsed"


class SignalPublished(EventPayload, frozen=True, kw_only=True):
    topic: ClassVar[str] = SIGNAL_PUBLISHED
    signal_id: str
    mentor_id: str
    symbol: str
    side: str
    corrects_id: str | None


class SignalClosed(EventPayload, frozen=True, kw_only=True):
    topic: ClassVar[str] = SIGNAL_CLOSED
    signal_id: str
    mentor_id: str
    outcome: str
    r_multiple: float | None
    pnl_minor: int | None


class SubscriptionStarted(EventPayload, frozen=True, kw_only=True):
    topic: ClassVar[str] = SUBSCRIPTION_STARTED
    subscription_id: str
    subscriber_id: str
    mentor_id: str
    # Charged now: the price less a discount; 0 for a free feed or a paid period carried over.
    amount_minor: int
    currency: str
    billing_status: str


class SubscriptionBilled(EventPayload, frozen=True, kw_only=True):
    """A paid period of a feed subscription: renewed, past due or lapsed (one topic each,
    below)."""

    subscription_id: str
    subscriber_id: str
    mentor_id: str
    amount_minor: int
    currency: str
    period: int


class SubscriptionRenewed(SubscriptionBilled, frozen=True, kw_only=True):
    topic: ClassVar[str] = SUBSCRIPTION_RENEWED


class SubscriptionPastDue(SubscriptionBilled, frozen=True, kw_only=True):
    topic: ClassVar[str] = SUBSCRIPTION_PAST_DUE


class SubscriptionLapsed(SubscriptionBilled, frozen=True, kw_only=True):
    topic: ClassVar[str] = SUBSCRIPTION_LAPSED
