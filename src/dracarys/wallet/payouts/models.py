"""Payouts and their M-Pesa attempts as stored, and the payout API's inputs and outputs."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec

from dracarys.idempotency import IdempotencyKey
from dracarys.wallet.models import AmountMinor, Currency
from dracarys.wire import Input, Schema


class Payout(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    user_id: uuid.UUID
    batch_id: uuid.UUID | None
    kind: str  # withdrawal | scheduled
    method: str  # mpesa | bank
    destination_sealed: bytes | None  # None only on rows an upgrade has yet to seal
    amount_minor: int
    currency: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    pending_transfer_id: uuid.UUID
    originator_conversation_id: str | None  # the current M-Pesa attempt's
    conversation_id: str | None
    provider_receipt: str | None
    failure_reason: str | None
    review_reason: str | None
    created_at: datetime
    updated_at: datetime


class PayoutWithAttempt(Payout, frozen=True, kw_only=True):
    """A payout with its current M-Pesa attempt (all None when it has none)."""

    attempt_number: int | None = None
    attempt_status: str | None = None
    attempt_started_at: datetime | None = None
    status_queries: int | None = None
    attempt_detail: str | None = None


class PayoutAttempt(msgspec.Struct, frozen=True, kw_only=True):
    """One M-Pesa B2C send of a payout, named by its OriginatorConversationID. `status`:
    sending, accepted, paid, failed, refused, timed_out, not_found."""

    originator_conversation_id: str
    payout_id: uuid.UUID
    attempt: int
    status: str
    conversation_id: str | None
    receipt: str | None
    detail: str | None
    status_queries: int
    next_query_at: datetime
    started_at: datetime


class WithdrawRequest(Input):
    """Above the step-up threshold a withdrawal needs a fresh authenticator code
    (`totp_code`) or the token `POST /me/step-up` gave for one (`step_up_token`)."""

    amount_minor: AmountMinor
    currency: Currency
    method: Literal["mpesa", "bank"]
    destination: Annotated[str, msgspec.Meta(min_length=6, max_length=64)]
    idempotency_key: IdempotencyKey | None = None  # or the Idempotency-Key header
    totp_code: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{6,8}$")] | None = None
    step_up_token: Annotated[str, msgspec.Meta(min_length=1, max_length=4096)] | None = None


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
    created_at: datetime | None = None


class WithdrawalLimits(Schema):
    """The withdrawal rules in one currency, with what the caller has used of them today
    (the day is UTC's). M-Pesa pays whole units of KES only."""

    currency: str
    methods: list[str]
    step_up_threshold_minor: int  # from this amount up, an authenticator code is asked
    daily_limit_minor: int
    withdrawn_today_minor: int
    remaining_today_minor: int


class WithdrawalPolicy(Schema):
    """What a wallet's owner must have, and may withdraw, before asking: the KYC level
    withdrawals need and the caller's, and each currency's limits."""

    wallet_id: uuid.UUID
    required_kyc_level: int
    kyc_level: int
    limits: list[WithdrawalLimits]


class PayoutReviewDecision(Input):
    """What an admin found when checking with M-Pesa a payout held for review or stuck in
    flight: completed (M-Pesa paid it) or failed (it did not; the money goes back)."""

    outcome: Literal["completed", "failed"]
    note: Annotated[str, msgspec.Meta(min_length=3, max_length=1000)]


class BankTransferRecord(Input):
    bank_reference: Annotated[str, msgspec.Meta(min_length=3, max_length=100)]
