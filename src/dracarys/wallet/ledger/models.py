"""The ledger's records, after TigerBeetle: accounts with balance-bounding flags, transfers
(single-phase, or pending then posted or voided), the entries they write, and the result
of checking the ledger's invariants."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import IntFlag, StrEnum

import msgspec

from dracarys.wire import Schema


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


class AccountEntry(msgspec.Struct, frozen=True, kw_only=True):
    """An account's entry with what its transfer was for (a line of a wallet's history)."""

    id: int
    transfer_id: uuid.UUID
    currency: str
    debits_pending: int
    debits_posted: int
    credits_pending: int
    credits_posted: int
    balance_after: int  # the posted balance after it, as written with the entry
    available_after: int  # posted minus reserved after it (a running sum, see the store)
    created_at: datetime
    code: str
    kind: TransferKind
    reference: str | None


class OpenHold(msgspec.Struct, frozen=True, kw_only=True):
    """Money reserved in an account by open pending transfers of one code."""

    currency: str
    code: str
    amount_minor: int


class OwnedAccount(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    currency: str


class FundedWallet(msgspec.Struct, frozen=True, kw_only=True):
    """A user wallet and what its owner may spend of it now."""

    owner_id: uuid.UUID
    available_minor: int


class CurrencyTotal(msgspec.Struct, frozen=True, kw_only=True):
    currency: str
    posted: int
    pending: int


class LedgerCheck(Schema):
    """The result of checking the ledger's invariants; `problems` is empty when sound."""

    problems: list[str]
    totals: dict[str, int]

    @property
    def ok(self) -> bool:
        return not self.problems
