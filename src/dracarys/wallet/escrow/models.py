"""Escrows, their disputes and mentor holdbacks as stored, and the escrow API's inputs and
outputs."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import msgspec

from dracarys.wire import Input, Schema


class Escrow(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    payer_id: uuid.UUID
    mentor_id: uuid.UUID
    amount_minor: int
    currency: str
    reference: str
    status: str  # held | disputed | released | refunded
    pending_transfer_id: uuid.UUID
    mentor_share_bps: int
    vat_rate_bps: int
    auto_release_at: datetime
    released_minor: int
    refunded_minor: int
    created_at: datetime
    resolved_at: datetime | None


class Dispute(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    escrow_id: uuid.UUID
    opened_by: uuid.UUID
    reason: str
    evidence: list[str]
    status: str  # open | resolved
    refund_minor: int | None
    resolution_note: str | None
    created_at: datetime
    # The other party's answer (the mentor's, when the mentee opened it).
    response: str | None
    response_evidence: list[str]
    responded_by: uuid.UUID | None
    responded_at: datetime | None
    resolved_at: datetime | None


class Holdback(msgspec.Struct, frozen=True, kw_only=True):
    """Part of a mentor's share held for 30 days after an escrow's release."""

    id: uuid.UUID
    escrow_id: uuid.UUID
    mentor_id: uuid.UUID
    amount_minor: int
    currency: str


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


class DisputeResponse(Input):
    """The other party's side of a dispute, given once while it is open."""

    response: Annotated[str, msgspec.Meta(min_length=3, max_length=2000)]
    evidence: list[Annotated[str, msgspec.Meta(max_length=2000)]] = msgspec.field(
        default_factory=list
    )


class DisputeResolution(Input, kw_only=True):
    """What goes back to the payer: an amount (`refund_minor`) or a share of the escrowed
    amount (`refund_percent`, rounded down to the minor unit), exactly one of them."""

    refund_minor: Annotated[int, msgspec.Meta(ge=0)] | None = None
    refund_percent: Annotated[int, msgspec.Meta(ge=0, le=100)] | None = None
    note: Annotated[str, msgspec.Meta(min_length=3, max_length=2000)]


class DisputeView(Schema, kw_only=True):
    id: uuid.UUID
    escrow_id: uuid.UUID
    opened_by: uuid.UUID
    reason: str
    evidence: list[str]
    status: str
    refund_minor: int | None
    resolution_note: str | None
    created_at: datetime
    response: str | None = None
    response_evidence: list[str] = msgspec.field(default_factory=list)
    responded_at: datetime | None = None
    resolved_at: datetime | None = None
    # The escrow it is about, and (in the admins' queue) the two parties' names.
    escrow: EscrowView | None = None
    payer_name: str | None = None
    mentor_name: str | None = None
