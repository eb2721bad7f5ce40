"""Admin and compliance. Its sub-area `aml` watches the wallet's movements with rules per
country, raises alerts and cases, and has the wallet hold a member's withdrawals (through
the wallet's public surface) until a reviewer clears the case. Its sub-area `people` is
the staff console's search for members and the mentors' vetting queue, read through
identity's public surface; `alerts` raises operational alerts for staff (chargebacks,
payout failures, suspicious sign-ins, failed sign-in bursts, unusual points issuance).

What other code may use: the topics each consumer reads and the consumers themselves
(`AML_TOPICS`, `judge_wallet_events`; `ALERT_TOPICS`, `watch_for_alerts`, listed by
`workers/consumers.py`), the hourly points check (`check_points_issuance`, for the
workers' schedule), and the topics admin emits. The routes are
`dracarys.admin.api.ROUTES`."""

from dracarys.admin.alerts.events import STAFF_ALERT_RAISED, StaffAlertRaised
from dracarys.admin.alerts.service import check_points_issuance
from dracarys.admin.aml.events import (
    AML_ALERT_RAISED,
    AML_CASE_DECIDED,
    AmlAlertRaised,
    AmlCaseDecided,
)
from dracarys.admin.consumers import (
    ALERT_TOPICS,
    AML_TOPICS,
    judge_wallet_events,
    watch_for_alerts,
)

__all__ = [
    "ALERT_TOPICS",
    "AML_ALERT_RAISED",
    "AML_CASE_DECIDED",
    "AML_TOPICS",
    "STAFF_ALERT_RAISED",
    "AmlAlertRaised",
    "AmlCaseDecided",
    "StaffAlertRaised",
    "check_points_issuance",
    "judge_wallet_events",
    "watch_for_alerts",
]
