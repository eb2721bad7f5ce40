"""Chargebacks and card refunds as stored, and what admins see of them."""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec

from dracarys.wire import Schema


class Chargeback(msgspec.Struct, frozen=True, kw_only=True):
    id: str  # Stripe's dispute id
    deposit_id: uuid.UUID
    user_id: uuid.UUID
    amount_minor: int
    currency: str
    reason: str
    status: str  # open | won | lost
    held_minor: int
    hold_transfer_id: uuid.UUID | None
    unrecovered_minor: int
    created_at: datetime
    updated_at: datetime


class CardRefund(msgspec.Struct, frozen=True, kw_only=True):
    """A refund to the card of a deposit, with the deposit's owner."""

    id: uuid.UUID
    deposit_id: uuid.UUID
    user_id: uuid.UUID
    amount_minor: int
    currency: str
    status: str  # pending | succeeded | failed
    pending_transfer_id: uuid.UUID


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


class CardRefundResult(Schema):
    status: str
