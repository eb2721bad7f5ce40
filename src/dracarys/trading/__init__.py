"""Paper trading, mentor signals and copy-trading: portfolios, orders and the paper loop
that matches, persists and publishes their fills, risk and disclaimers, hash-chained
signals with a verified track record, subscriptions with mirroring, leaderboards.

What other parts of the platform may use: the HTTP routes (`trading.api.ROUTES`, for the
composition root), who may watch `signals:` and `portfolio:` streams (the channel
policies' checks), what subscribing to a feed would cost and under which refund policy
(`feed_offer`, for the checkout), the paper loop's runtime, the scheduled renewal of paid
feeds, the `signal.published` mirroring step, who follows a feed (`feed_subscribers`, to announce
a signal), the demo seeder, the e-mail templates it
sends, the monthly close of members' paper months, and the events it writes. For sharing:
a signal once closed (`closed_signal`, without its prices) and a mentor's track record
(`track_record`). For market data and backtests: the instruments registry's refusal of an
unknown symbol (`require_instrument`). For the workers: the `trading.broker_send` and
`trading.broker_cancel` consumers (`send_routed_order`, `cancel_at_broker`) and the loop
bringing routed orders' fills back (`follow_broker_fills`)."""

from dracarys.trading.brokers.events import (
    BROKER_CANCEL_REQUESTED,
    BROKER_ORDER_ROUTED,
    BrokerCancelRequested,
    BrokerOrderRouted,
)
from dracarys.trading.brokers.service import (
    cancel_at_broker,
    follow_broker_fills,
    send_routed_order,
)
from dracarys.trading.demo import seed_trading_demo
from dracarys.trading.events import (
    PAPER_MONTH_CLOSED,
    PAPER_ORDER_FILLED,
    PaperMonthClosed,
    PaperOrderFilled,
)
from dracarys.trading.instruments.models import Instrument
from dracarys.trading.instruments.service import require_instrument
from dracarys.trading.months import close_paper_month
from dracarys.trading.paper_loop.runtime import DEMO_DATA, market_feeds, paper_trading
from dracarys.trading.service import portfolio_viewers
from dracarys.trading.signals.events import (
    SIGNAL_CLOSED,
    SIGNAL_PUBLISHED,
    SUBSCRIPTION_LAPSED,
    SUBSCRIPTION_PAST_DUE,
    SUBSCRIPTION_RENEWED,
    SUBSCRIPTION_STARTED,
    SignalClosed,
    SignalPublished,
    SubscriptionBilled,
    SubscriptionLapsed,
    SubscriptionPastDue,
    SubscriptionRenewed,
    SubscriptionStarted,
)
from dracarys.trading.signals.models import ClosedSignal, Signal, TrackRecord
from dracarys.trading.signals.service import (
    closed_signal,
    feed_subscribers,
    mirror_signal,
    track_record,
)
from dracarys.trading.signals.subscriptions import (
    EMAIL_TEMPLATES,
    feed_offer,
    may_watch_signals,
    paid_feed_pairs,
    renew_due_subscriptions,
)

__all__ = [
    "BROKER_CANCEL_REQUESTED",
    "BROKER_ORDER_ROUTED",
    "DEMO_DATA",
    "EMAIL_TEMPLATES",
    "PAPER_MONTH_CLOSED",
    "PAPER_ORDER_FILLED",
    "SIGNAL_CLOSED",
    "SIGNAL_PUBLISHED",
    "SUBSCRIPTION_LAPSED",
    "SUBSCRIPTION_PAST_DUE",
    "SUBSCRIPTION_RENEWED",
    "SUBSCRIPTION_STARTED",
    "BrokerCancelRequested",
    "BrokerOrderRouted",
    "ClosedSignal",
    "Instrument",
    "PaperMonthClosed",
    "PaperOrderFilled",
    "Signal",
    "SignalClosed",
    "SignalPublished",
    "SubscriptionBilled",
    "SubscriptionLapsed",
    "SubscriptionPastDue",
    "SubscriptionRenewed",
    "SubscriptionStarted",
    "TrackRecord",
    "cancel_at_broker",
    "close_paper_month",
    "closed_signal",
    "feed_offer",
    "feed_subscribers",
    "follow_broker_fills",
    "market_feeds",
    "may_watch_signals",
    "mirror_signal",
    "paid_feed_pairs",
    "paper_trading",
    "portfolio_viewers",
    "renew_due_subscriptions",
    "require_instrument",
    "seed_trading_demo",
    "send_routed_order",
    "track_record",
]
