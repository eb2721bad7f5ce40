"""Wallet, payments, escrow and payouts: a TigerBeetle-shaped double-entry ledger in
PostgreSQL and the money workflows built on it, one sub-area each (models, store, service,
api): `ledger`, `balances`, `deposits`, `cards` (Stripe events, chargebacks, refunds to
the card), `charges`, `invoices`, `escrow`, `payouts` (with `payouts.mpesa`), `credits`
(points credit, mentor bonuses), `payment_details` (sealed at rest) and `operations`
(idempotent calls).

What other domains, the workers and the upgrade may use is listed here: escrow for what
they sell and a mentor's contract share (inside their own transaction), what a payment
would charge before it is made (`quote_payment`: VAT, balance, shortfall), discount codes
(promo codes admins issue and codes issued for the points that buy one; checked for a
quote, used inside a purchase's own transaction), the ledger's
refusal for want of funds, credit and bonus entry points, the scheduled jobs, the topics
the wallet emits with their payloads, the consumer that sends them live to their users'
pages (`publish_wallet_changes`, for `LIVE_TOPICS`), sealing older payment details, and
the demo seeder; and digests of the payment instruments people pay with or are paid
to, M-Pesa numbers and cards (`payment_instrument_digests`, each an `InstrumentDigest`
with its kind, for the referral rules: equal digests, same instrument); and
affiliate commissions, inside the caller's transaction (`platform_fee_of` a payment, then
`accrue_commission` as a pending transfer, `settle_commission` to post or void it,
`claw_back_commission` after a refund) and paid in the weekly run (`pay_commissions`);
and withdrawal holds other domains place and release under their own reference inside
their transaction (`place_withdrawal_hold`, `release_withdrawal_hold`,
`withdrawal_holds`; a payout refused for one raises `WithdrawalsHeld`).
The routes are `dracarys.wallet.api.ROUTES`."""

from dracarys.wallet.balances.service import LIVE_TOPICS, publish_wallet_changes
from dracarys.wallet.charges.models import PaymentQuote
from dracarys.wallet.charges.service import quote_payment
from dracarys.wallet.credits.models import MentorMonth
from dracarys.wallet.credits.service import (
    accrue_commission,
    claw_back_commission,
    credit_points_conversion,
    credit_redeemed_points,
    pay_mentor_bonuses,
    platform_fee_of,
    previous_month,
    settle_commission,
)
from dracarys.wallet.demo import seed_wallet_demo
from dracarys.wallet.deposits.service import (
    fail_unopened_card_deposits,
    settle_stale_mpesa_deposits,
)
from dracarys.wallet.discounts.models import (
    Discount,
    DiscountCode,
    DiscountCodeText,
    PurchaseKind,
)
from dracarys.wallet.discounts.service import (
    check_discount_code,
    discount_code,
    discount_codes_of_redemptions,
    issue_discount_code,
    redeem_discount_code,
)
from dracarys.wallet.escrow.models import EscrowView
from dracarys.wallet.escrow.service import (
    hold_escrow,
    move_escrow_release,
    refund_escrow,
    release_due_escrows,
    release_due_holdbacks,
    release_escrow,
    set_mentor_contract,
)
from dracarys.wallet.events import (
    CHARGEBACK_CLOSED,
    CHARGEBACK_OPENED,
    DEPOSIT_COMPLETED,
    ESCROW_RELEASED,
    PAYMENT_CAPTURED,
    PAYOUT_COMPLETED,
    PAYOUT_FAILED,
    PAYOUT_NEEDS_REVIEW,
    POINTS_CREDIT_LANDED,
    REFUND_ISSUED,
    WITHDRAWAL_REQUESTED,
    ChargebackClosed,
    ChargebackOpened,
    DepositCompleted,
    EscrowHeld,
    EscrowReleased,
    PaymentCaptured,
    PayoutCompleted,
    PayoutFailed,
    PayoutNeedsReview,
    PointsCreditLanded,
    RefundIssued,
    WithdrawalRequested,
)
from dracarys.wallet.holds.models import WithdrawalHold
from dracarys.wallet.holds.service import (
    WithdrawalsHeld,
    place_withdrawal_hold,
    release_withdrawal_hold,
    withdrawal_holds,
)
from dracarys.wallet.ledger.service import InsufficientFunds, expire_timed_out_transfers
from dracarys.wallet.payment_details.models import InstrumentDigest
from dracarys.wallet.payment_details.service import (
    payment_instrument_digests,
    seal_plain_payment_details,
)
from dracarys.wallet.payouts.mpesa import reconcile_payouts_in_flight, retry_due_payouts
from dracarys.wallet.payouts.service import pay_commissions, run_weekly_payouts

__all__ = [
    "CHARGEBACK_CLOSED",
    "CHARGEBACK_OPENED",
    "DEPOSIT_COMPLETED",
    "ESCROW_RELEASED",
    "LIVE_TOPICS",
    "PAYMENT_CAPTURED",
    "PAYOUT_COMPLETED",
    "PAYOUT_FAILED",
    "PAYOUT_NEEDS_REVIEW",
    "POINTS_CREDIT_LANDED",
    "REFUND_ISSUED",
    "WITHDRAWAL_REQUESTED",
    "ChargebackClosed",
    "ChargebackOpened",
    "DepositCompleted",
    "Discount",
    "DiscountCode",
    "DiscountCodeText",
    "EscrowHeld",
    "EscrowReleased",
    "EscrowView",
    "InstrumentDigest",
    "InsufficientFunds",
    "MentorMonth",
    "PaymentCaptured",
    "PaymentQuote",
    "PayoutCompleted",
    "PayoutFailed",
    "PayoutNeedsReview",
    "PointsCreditLanded",
    "PurchaseKind",
    "RefundIssued",
    "WithdrawalHold",
    "WithdrawalRequested",
    "WithdrawalsHeld",
    "accrue_commission",
    "check_discount_code",
    "claw_back_commission",
    "credit_points_conversion",
    "credit_redeemed_points",
    "discount_code",
    "discount_codes_of_redemptions",
    "expire_timed_out_transfers",
    "fail_unopened_card_deposits",
    "hold_escrow",
    "issue_discount_code",
    "move_escrow_release",
    "pay_commissions",
    "pay_mentor_bonuses",
    "payment_instrument_digests",
    "place_withdrawal_hold",
    "platform_fee_of",
    "previous_month",
    "publish_wallet_changes",
    "quote_payment",
    "reconcile_payouts_in_flight",
    "redeem_discount_code",
    "refund_escrow",
    "release_due_escrows",
    "release_due_holdbacks",
    "release_escrow",
    "release_withdrawal_hold",
    "retry_due_payouts",
    "run_weekly_payouts",
    "seal_plain_payment_details",
    "seed_wallet_demo",
    "set_mentor_contract",
    "settle_commission",
    "settle_stale_mpesa_deposits",
    "withdrawal_holds",
]
