"""The topics the wallet produces, each with its payload (ids as strings on the wire, money
as `amount_minor` plus `currency`), emitted through the outbox with `emit_event`."""

from __future__ import annotations

import uuid
from typing import ClassVar

from dracarys.outbox import EventPayload

DEPOSIT_COMPLETED = "deposit.completed"
PAYMENT_CAPTURED = "payment.captured"
REFUND_ISSUED = "refund.issued"
ESCROW_HELD = "escrow.held"
ESCROW_RELEASED = "escrow.released"
WITHDRAWAL_REQUESTED = "withdrawal.requested"
PAYOUT_COMPLETED = "payout.completed"
PAYOUT_FAILED = "payout.failed"
PAYOUT_NEEDS_REVIEW = "payout.needs_review"
CHARGEBACK_OPENED = "chargeback.opened"
CHARGEBACK_CLOSED = "chargeback.closed"
POINTS_CREDIT_LANDED = "points.credit_landed"
PROMO_REDEEMED = "promo.redeemed"


class DepositCompleted(EventPayload, frozen=True, kw_only=True):
    """A deposit was credited; `first_deposit` says whether it is the user's first."""

    topic: ClassVar[str] = DEPOSIT_COMPLETED
    user_id: uuid.UUID
    deposit_id: uuid.UUID
    amount_minor: int
    currency: str
    method: str
    first_deposit: bool


class PaymentCaptured(EventPayload, frozen=True, kw_only=True):
    """A charge was paid from a wallet (into escrow when `escrow_id` is set)."""

    topic: ClassVar[str] = PAYMENT_CAPTURED
    user_id: uuid.UUID
    charge_id: uuid.UUID
    purpose: str
    reference: str
    amount_minor: int
    currency: str
    escrow_id: uuid.UUID | None


class RefundIssued(EventPayload, frozen=True, kw_only=True):
    """Money went back to a payer: `related_id` is the charge, escrow or deposit.
    `reference` says what it was for: the escrow's reference (`session:<id>`,
    `package:<id>`, `cohort:<id>`, ...), `charge`, `card_refund`, or `chargeback:<id>` for
    a card deposit a bank took back (empty on events written before it was added)."""

    topic: ClassVar[str] = REFUND_ISSUED
    user_id: uuid.UUID
    related_id: uuid.UUID
    amount_minor: int
    currency: str
    reference: str = ""


class EscrowHeld(EventPayload, frozen=True, kw_only=True):
    """A payer paid `amount_minor` from their wallet into escrow for `reference` (a
    session, package, cohort, signal feed period or premium group period), invoiced as
    `invoice_number`: the payer's receipt. The mentorship, curriculum, trading and
    community purchases pay this way, not through a charge (`PaymentCaptured`)."""

    topic: ClassVar[str] = ESCROW_HELD
    escrow_id: uuid.UUID
    payer_id: uuid.UUID
    mentor_id: uuid.UUID
    reference: str
    amount_minor: int
    currency: str
    invoice_number: str


class EscrowReleased(EventPayload, frozen=True, kw_only=True):
    """An escrow paid out what it kept: `mentor_minor` of `amount_minor` to the mentor."""

    topic: ClassVar[str] = ESCROW_RELEASED
    escrow_id: uuid.UUID
    mentor_id: uuid.UUID
    payer_id: uuid.UUID
    reference: str
    amount_minor: int
    mentor_minor: int
    currency: str


class WithdrawalRequested(EventPayload, frozen=True, kw_only=True):
    """A user asked to withdraw: the payout is open and its amount reserved."""

    topic: ClassVar[str] = WITHDRAWAL_REQUESTED
    user_id: uuid.UUID
    payout_id: uuid.UUID
    amount_minor: int
    currency: str
    method: str


class PayoutCompleted(EventPayload, frozen=True, kw_only=True):
    topic: ClassVar[str] = PAYOUT_COMPLETED
    user_id: uuid.UUID
    payout_id: uuid.UUID
    amount_minor: int
    currency: str
    method: str


class PayoutFailed(EventPayload, frozen=True, kw_only=True):
    """A payout did not go out (M-Pesa refused it, every attempt failed, or an admin found
    it unpaid): the reserved money is back in the wallet."""

    topic: ClassVar[str] = PAYOUT_FAILED
    user_id: uuid.UUID
    payout_id: uuid.UUID
    amount_minor: int
    currency: str
    reason: str


class PayoutNeedsReview(EventPayload, frozen=True, kw_only=True):
    """M-Pesa's answer about a payout did not settle it (another amount, or none after
    every status query): held for an admin, the money still reserved."""

    topic: ClassVar[str] = PAYOUT_NEEDS_REVIEW
    user_id: uuid.UUID
    payout_id: uuid.UUID
    amount_minor: int
    currency: str
    reason: str


class ChargebackOpened(EventPayload, frozen=True, kw_only=True):
    """A cardholder disputed a card deposit; `held_minor` of it is held in the wallet."""

    topic: ClassVar[str] = CHARGEBACK_OPENED
    user_id: uuid.UUID
    chargeback_id: str  # Stripe's dispute id
    deposit_id: uuid.UUID
    amount_minor: int
    currency: str
    held_minor: int


class ChargebackClosed(EventPayload, frozen=True, kw_only=True):
    """The bank decided: won releases the hold, lost takes it (`unrecovered_minor` is what
    the wallet could not cover)."""

    topic: ClassVar[str] = CHARGEBACK_CLOSED
    user_id: uuid.UUID
    chargeback_id: str
    deposit_id: uuid.UUID
    amount_minor: int
    currency: str
    held_minor: int
    status: str  # won | lost
    unrecovered_minor: int


class PointsCreditLanded(EventPayload, frozen=True, kw_only=True):
    """Redeemed points landed: the points domain's answer to `points.redeemed_for_credit`.
    Wallet credit is a ledger transfer (`transfer_id`); mentor credit is a code that pays
    for sessions only (`session_credit_code`)."""

    topic: ClassVar[str] = POINTS_CREDIT_LANDED
    user_id: uuid.UUID
    redemption_id: uuid.UUID
    amount_minor: int
    currency: str
    transfer_id: uuid.UUID | None = None
    session_credit_code: str | None = None


class PromoRedeemed(EventPayload, frozen=True, kw_only=True):
    """A discount code took `amount_minor` off a purchase (`used_for`, e.g.
    `booking:<id>`). `funded_by` is `promo` for a code the platform gave away (a promotion
    cost) or `points` for one the member bought with their points."""

    topic: ClassVar[str] = PROMO_REDEEMED
    user_id: uuid.UUID
    used_for: str
    kind: str
    amount_minor: int
    currency: str
    funded_by: str
