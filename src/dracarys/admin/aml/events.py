"""The topics AML produces, each with its payload, emitted through the outbox."""

from __future__ import annotations

import uuid
from typing import ClassVar

from dracarys.outbox import EventPayload

AML_ALERT_RAISED = "aml.alert_raised"
AML_CASE_DECIDED = "aml.case_decided"


class AmlAlertRaised(EventPayload, frozen=True, kw_only=True):
    topic: ClassVar[str] = AML_ALERT_RAISED
    alert_id: uuid.UUID
    user_id: uuid.UUID
    kind: str
    case_id: uuid.UUID | None


class AmlCaseDecided(EventPayload, frozen=True, kw_only=True):
    topic: ClassVar[str] = AML_CASE_DECIDED
    case_id: uuid.UUID
    user_id: uuid.UUID
    decision: str
