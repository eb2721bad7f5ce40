"""The wallet's records: ledger accounts and transfers (TigerBeetle's shape), and the
API inputs and outputs of the wallet, payment, escrow and payout endpoints."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import IntFlag, StrEnum
from typing import Annotated, Literal

import msgspec

from dracarys.idempotency import IdempotencyKey
from dracarys.wire import Input, Schema

Currency = Literal["KES", "USD"]
SUPPORTED_CURRENCIES: tuple[str, ...] = ("KES", "USD")
AmountMinor = Annotated[int, msgspec.Meta(gt=0, le=10**13)]


class AccountFlags(IntFlag):
    NONE = 0
    DEBITS_MUST_NOT_EXCEED_CREDITS = 1
    CREDITS_MUST_NOT_EXCEED_DEBITS = 2


class AccountCode(StrEnum):
    """What an account is for. User wallets are per user and currency; the rest are one
    platform account per currency."""

    USER_WALLET = "user_wallet"
    ESCROW = "escrow"
    PLATFORM_REVENUE = "platform_revenue"
    MENTOR_HOLDBACK = "mentor_holdback"
    PAYOUT_CLEARING = "payout_clearing"
    STRIPE_CLEARING = "stripe_clearing"
    MPESA_CLEARING = "mpesa_clearing"
    VAT_PAYABLE = "vat_payable"
    REFUNDS = "refunds"
    POINTS_FUNDING = "points_funding"
    BONUS_EXPENSE = "bonus_expense"
    # Test and benchmark fixtures fund wallets from here; never used by the product.
    OPENING_BALANCE = "opening_balance"


class TransferKind(StrEnum):
    SINGLE_PHASE = "single_phase"
    PENDING = "pending"
    POST_PENDING = "post_pending"
    VOID_PENDING = "void_pending"


class TransferSpec(msgspec.Struct, frozen=True, kw_only=True):
    """One transfer to create. For post/void only `pending_id` (and, for a post, an
    optional smaller `amount_minor`) is given: accounts and currency come from the
    pending transfer."""

    idempotency_key: str
    code: str
    kind: TransferKind = TransferKind.SINGLE_PHASE
    debit_account_id: int = 0
    credit_account_id: int = 0
    amount_minor: int | None = None
    currency: str = ""
    pending_id: uuid.UUID | None = None
    timeout_s: int | None = None
    reference: str | None = None


class Transfer(Schema):
    id: uuid.UUID
    idempotency_key: str
    debit_account_id: int
    credit_account_id: int
    amount_minor: int
    currency: str
    kind: TransferKind
    pending_id: uuid.UUID | None
    timeout_at: datetime | None
    code: str
    reference: str | None
    created_at: datetime


class Balance(msgspec.Struct, kw_only=True):
    account_id: int
    flags: int
    currency: str
    debits_pending: int = 0
    debits_posted: int = 0
    credits_pending: int = 0
    credits_posted: int = 0

    @property
    def posted_minor(self) -> int:
        return self.credits_posted - self.debits_posted

    @property
    def available_minor(self) -> int:
        """What the owner of a credit-normal account may spend now."""
        return self.credits_posted - self.debits_posted - self.debits_pending


class Entry(msgspec.Struct, frozen=True, kw_only=True):
    transfer_id: uuid.UUID
    account_id: int
    currency: str
    debits_pending: int
    debits_posted: int
    credits_pending: int
    credits_posted: int
    balance_after: int
    created_at: datetime


class LedgerCheck(Schema):
    """The result of checking the ledger's invariants; `problems` is empty when sound."""

    problems: list[str]
    totals: dict[str, int]

    @property
    def ok(self) -> bool:
        return not self.problems


# ---- API schemas -----------------------------------------------------------------


class CurrencyBalance(Schema):
    currency: str
    available_minor: int
    posted_minor: int
    pending_in_minor: int
    pending_out_minor: int


class WalletBalances(Schema):
    wallet_id: uuid.UUID
    balances: list[CurrencyBalance]


class HistoryItem(Schema):
    transfer_id: uuid.UUID
    code: str
    kind: str
    currency: str
    amount_minor: int
    direction: Literal["in", "out", "hold", "release"]
    balance_after_minor: int
    reference: str | None
    created_at: datetime


class WalletHistory(Schema):
    wallet_id: uuid.UUID
    currency: str
    items: list[HistoryItem]
    next_cursor: str | None = None


class DepositRequest(Input):
    method: Literal["stripe", "mpesa"]
    amount_minor: AmountMinor
    currency: Currency
    idempotency_key: IdempotencyKey | None = None  # or the Idempotency-Key header
    phone: Annotated[str, msgspec.Meta(min_length=9, max_length=20)] | None = None


class DepositView(Schema):
    id: uuid.UUID
    user_id: uuid.UUID
    method: str
    amount_minor: int
    currency: str
    status: str
    checkout_url: str | None = None
    provider_ref: str | None = None
    failure_reason: str | None = None


class WithdrawRequest(Input):
    amount_minor: AmountMinor
    currency: Currency
    method: Literal["mpesa", "bank"]
    destination: Annotated[str, msgspec.Meta(min_length=6, max_length=64)]
    idempotency_key: IdempotencyKey | None = None  # or the Idempotency-Key header
    totp_code: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{6,8}$")] | None = None


class PayoutView(Schema):
    """A payout. `status`: queued (waiting to be sent, or to be sent again), sending (the
    request to M-Pesa is on record but M-Pesa has not confirmed taking it), sent (M-Pesa
    took it; its result is awaited), completed, failed (the money is back in the wallet),
    needs_review (held for an admin, the money still reserved), awaiting_bank_transfer."""

    id: uuid.UUID
    user_id: uuid.UUID
    kind: str
    method: str
    amount_minor: int
    currency: str
    status: str
    attempts: int
    failure_reason: str | None = None
    review_reason: str | None = None  # why it was held for an admin
    # When the M-Pesa send whose outcome is still unknown started (sending, sent, or held).
    in_flight_since: datetime | None = None
    # In the admins' queue: why a send in flight past the deadline has no outcome yet.
    stuck_reason: str | None = None


class ChargebackView(Schema):
    """A card deposit its cardholder disputed with their bank."""

    id: str  # Stripe's dispute id
    deposit_id: uuid.UUID
    user_id: uuid.UUID
    amount_minor: int
    currency: str
    reason: str
    status: str  # open | won | lost
    held_minor: int  # held in the wallet while open (taken if lost)
    unrecovered_minor: int  # lost and more than the wallet held
    created_at: datetime
    updated_at: datetime


class PayoutReviewDecision(Input):
    """What an admin found when checking with M-Pesa a payout held for review or stuck in
    flight: completed (M-Pesa paid it) or failed (it did not; the money goes back)."""

    outcome: Literal["completed", "failed"]
    note: Annotated[str, msgspec.Meta(min_length=3, max_length=1000)]


class ChargeRequest(Input):
    """Pay for something from the wallet. Mentorship purposes go into escrow. The VAT
    country is the buyer's (profile, else verified phone, else the platform's home
    country): a `country` in the body is refused as a server-owned field."""

    purpose: Literal["course", "subscription", "session", "package"]
    reference: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    amount_minor: AmountMinor
    currency: Currency
    idempotency_key: IdempotencyKey | None = None  # or the Idempotency-Key header
    mentor_id: uuid.UUID | None = None


class ChargeView(Schema):
    id: uuid.UUID
    user_id: uuid.UUID
    purpose: str
    reference: str
    amount_minor: int
    currency: str
    invoice_id: uuid.UUID
    invoice_number: str
    escrow_id: uuid.UUID | None = None


class InvoiceView(Schema):
    id: uuid.UUID
    number: str
    description: str
    net_minor: int
    vat_minor: int
    gross_minor: int
    currency: str
    country: str
    vat_rate_bps: int
    issued_at: datetime
    kind: str = "invoice"


class EscrowView(Schema):
    id: uuid.UUID
    payer_id: uuid.UUID
    mentor_id: uuid.UUID
    amount_minor: int
    currency: str
    reference: str
    status: str
    released_minor: int
    refunded_minor: int
    auto_release_at: datetime


class DisputeRequest(Input):
    reason: Annotated[str, msgspec.Meta(min_length=3, max_length=2000)]
    evidence: list[Annotated[str, msgspec.Meta(max_length=2000)]] = msgspec.field(
        default_factory=list
    )


class DisputeResolution(Input):
    refund_minor: Annotated[int, msgspec.Meta(ge=0)]
    note: Annotated[str, msgspec.Meta(min_length=3, max_length=2000)]


class DisputeView(Schema):
    id: uuid.UUID
    escrow_id: uuid.UUID
    opened_by: uuid.UUID
    reason: str
    evidence: list[str]
    status: str
    refund_minor: int | None
    resolution_note: str | None
    created_at: datetime


class BankTransferRecord(Input):
    bank_reference: Annotated[str, msgspec.Meta(min_length=3, max_length=100)]
