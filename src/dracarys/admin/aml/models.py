"""AML records and the API's inputs and outputs: rules (each kind's parameters a frozen
struct that refuses unknown fields), the wallet movements the rules read, alerts, cases
with their timeline, and the report a case exports for the authority."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from dracarys.wire import Input, Schema

RuleKind = Literal["threshold", "structuring", "velocity", "deposit_then_withdraw"]
RuleAction = Literal["alert", "alert_and_hold"]
MovementKind = Literal["deposit", "withdrawal", "spend"]
CaseStatus = Literal["open", "escalated", "cleared", "reported"]
Decision = Literal["clear", "escalate", "report"]
# A window is at most 30 days: the rules read recent activity, not a user's history.
WindowHours = Annotated[int, msgspec.Meta(ge=1, le=720)]
PositiveMinor = Annotated[int, msgspec.Meta(ge=1, le=10**15)]
Text = Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]

# ---- rule parameters, one struct per kind ----------------------------------------------


class ThresholdParameters(Input):
    """Deposits totalling `amount_minor` or more within the window need KYC `kyc_level`."""

    amount_minor: PositiveMinor
    window_hours: WindowHours
    kyc_level: Annotated[int, msgspec.Meta(ge=1, le=3)]


class StructuringParameters(Input):
    """`count` deposits within the window, each at most `below_pct` % under
    `threshold_minor` (and under it)."""

    threshold_minor: PositiveMinor
    below_pct: Annotated[int, msgspec.Meta(ge=1, le=50)]
    count: Annotated[int, msgspec.Meta(ge=2, le=100)]
    window_hours: WindowHours


class VelocityParameters(Input):
    """More than `max_count` deposits and withdrawals, or more than `max_amount_minor`
    moved, within the window."""

    max_count: Annotated[int, msgspec.Meta(ge=1, le=10_000)]
    max_amount_minor: PositiveMinor
    window_hours: WindowHours


class DepositThenWithdrawParameters(Input):
    """A withdrawal of `min_share_pct` % or more of what was deposited within the window,
    with nothing spent since those deposits."""

    window_hours: WindowHours
    min_share_pct: Annotated[int, msgspec.Meta(ge=1, le=100)]


RuleParameters = (
    ThresholdParameters | StructuringParameters | VelocityParameters | DepositThenWithdrawParameters
)
PARAMETERS_OF: dict[str, type[RuleParameters]] = {
    "threshold": ThresholdParameters,
    "structuring": StructuringParameters,
    "velocity": VelocityParameters,
    "deposit_then_withdraw": DepositThenWithdrawParameters,
}

# ---- stored records ----------------------------------------------------------------------


class Rule(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    country: str
    kind: RuleKind
    parameters: dict[str, Any]
    currency: str
    action: RuleAction
    enabled: bool
    updated_at: datetime
    updated_by: uuid.UUID | None


class Movement(Schema):
    """A wallet movement as the rules see it (from the wallet's event `event_id`)."""

    event_id: uuid.UUID
    user_id: uuid.UUID
    kind: MovementKind
    reference: str
    amount_minor: int
    currency: str
    method: str | None
    occurred_at: datetime


class Alert(Schema):
    id: uuid.UUID
    rule_id: uuid.UUID
    user_id: uuid.UUID
    event_id: uuid.UUID
    kind: RuleKind
    country: str
    action: RuleAction
    summary: str
    details: dict[str, Any]
    case_id: uuid.UUID | None
    raised_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: uuid.UUID | None


class Case(Schema):
    id: uuid.UUID
    user_id: uuid.UUID
    status: CaseStatus
    holds_withdrawals: bool
    assignee_id: uuid.UUID | None
    opened_at: datetime
    decided_at: datetime | None
    decided_by: uuid.UUID | None
    decision_note: str | None
    report_reference: str | None


class CaseEntry(Schema):
    """One line of a case's timeline: opened, alert, note, assigned, escalated, cleared,
    reported, exported."""

    id: uuid.UUID
    case_id: uuid.UUID
    kind: str
    actor_id: uuid.UUID | None
    body: str
    at: datetime


# ---- API ---------------------------------------------------------------------------------


class RuleView(Schema):
    id: uuid.UUID
    country: str
    kind: RuleKind
    currency: str
    parameters: dict[str, Any]
    action: RuleAction
    enabled: bool
    description: str
    updated_at: datetime
    updated_by: uuid.UUID | None


class RuleUpdate(Input):
    """What staff may change of a rule; parameters are checked against the rule's kind."""

    parameters: dict[str, Any] | None = None
    action: RuleAction | None = None
    enabled: bool | None = None


class AlertSummary(Schema):
    alert: Alert
    user_name: str


class CaseSummary(Schema):
    case: Case
    user_name: str
    assignee_name: str | None
    alert_count: int


class CaseDetail(Schema):
    case: Case
    user_name: str
    assignee_name: str | None
    alerts: list[Alert]
    movements: list[Movement]
    timeline: list[CaseEntry]
    withdrawals_held: bool


class AssignInput(Input):
    assignee_id: uuid.UUID


class NoteInput(Input):
    body: Text


class DecisionInput(Input):
    """clear: nothing to report, withdrawals released; escalate: a senior look, the hold
    stays; report: a report was filed with the authority (`report_reference`), the hold
    stays."""

    decision: Decision
    note: Text
    report_reference: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | None = None


class CaseReport(Schema):
    """A case as exported for the authority."""

    generated_at: datetime
    generated_by: uuid.UUID
    case: Case
    subject_user_id: uuid.UUID
    subject_name: str
    country: str | None
    alerts: list[Alert]
    movements: list[Movement]
    timeline: list[CaseEntry]
