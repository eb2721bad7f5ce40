"""Events the wallet emits through the outbox (ids as strings, money as `amount_minor`
plus `currency`)."""

from __future__ import annotations

DEPOSIT_COMPLETED = (
    "deposit.completed"  # {user_id, deposit_id, amount_minor, currency, first_deposit}
)
PAYMENT_CAPTURED = (
    "payment.captured"  # {user_id, charge_id, purpose, reference, amount_minor, currency}
)
REFUND_ISSUED = "refund.issued"  # {user_id, related_id, amount_minor, currency}
ESCROW_RELEASED = "escrow.released"  # {escrow_id, mentor_id, payer_id, amount_minor, currency}
PAYOUT_COMPLETED = "payout.completed"  # {user_id, payout_id, amount_minor, currency}
# M-Pesa reported a different amount (or none) for a B2C payout: held for an admin.
PAYOUT_NEEDS_REVIEW = "payout.needs_review"  # {user_id, payout_id, amount_minor, currency, reason}
# A cardholder disputed a card deposit: {user_id, chargeback_id, deposit_id, amount_minor,
# currency, held_minor}; closed adds {status (won | lost), unrecovered_minor}.
CHARGEBACK_OPENED = "chargeback.opened"
CHARGEBACK_CLOSED = "chargeback.closed"
POINTS_CREDIT_LANDED = "points.credit_landed"  # {user_id, redemption_id, amount_minor, currency}
# Consumed: the points domain's released cash-equivalent redemptions.
POINTS_REDEEMED_FOR_CREDIT = "points.redeemed_for_credit"
