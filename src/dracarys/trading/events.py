"""Events trading writes to the outbox (points and notifications consume them), and the
one it consumes itself: a published signal is mirrored into subscribers' portfolios by
the `trading.mirror` consumer, off the mentor's request path."""

from __future__ import annotations

# {fill_id, order_id, portfolio_id, user_id, symbol, side, qty, price, preset, signal_id}
PAPER_ORDER_FILLED = "paper.order_filled"
# {signal_id, mentor_id, symbol, side, corrects_id}
SIGNAL_PUBLISHED = "signal.published"
# {signal_id, mentor_id, outcome, r_multiple, pnl_minor}
SIGNAL_CLOSED = "signal.closed"
# {subscription_id, subscriber_id, mentor_id, amount_minor, currency, billing_status}
SUBSCRIPTION_STARTED = "subscription.started"
# A paid feed's period renewed from the wallet, or the wallet could not pay it (no access
# until it can): {subscription_id, subscriber_id, mentor_id, amount_minor, currency, period}
SUBSCRIPTION_RENEWED = "subscription.renewed"
SUBSCRIPTION_PAST_DUE = "subscription.past_due"
SUBSCRIPTION_LAPSED = "subscription.lapsed"  # past due for a week: ended
