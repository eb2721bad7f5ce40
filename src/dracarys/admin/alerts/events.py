"""The topic the staff alerts produce: an alert was raised (notifications tells every
reviewer and admin, in-app and by e-mail)."""

from __future__ import annotations

import uuid
from typing import ClassVar

from dracarys.outbox import EventPayload

STAFF_ALERT_RAISED = "staff.alert_raised"


class StaffAlertRaised(EventPayload, frozen=True, kw_only=True):
    topic: ClassVar[str] = STAFF_ALERT_RAISED
    alert_id: uuid.UUID
    kind: str
    severity: str
    title: str
    summary: str
