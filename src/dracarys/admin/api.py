"""Every route of the admin domain, in one list the composition root mounts."""

from __future__ import annotations

from typing import Any

from dracarys.admin.alerts.api import ROUTES as ALERT_ROUTES
from dracarys.admin.aml.api import ROUTES as AML_ROUTES
from dracarys.admin.people.api import ROUTES as PEOPLE_ROUTES

ROUTES: list[Any] = [*AML_ROUTES, *PEOPLE_ROUTES, *ALERT_ROUTES]
