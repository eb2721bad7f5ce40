"""Notifications HTTP API: every area's routes in one list the composition root mounts."""

from __future__ import annotations

from typing import Any

from dracarys.notifications.chat.api import ROUTES as CHAT_ROUTES
from dracarys.notifications.inbox.api import ROUTES as INBOX_ROUTES
from dracarys.notifications.preferences.api import ROUTES as PREFERENCES_ROUTES
from dracarys.notifications.programs.api import ROUTES as PROGRAMS_ROUTES
from dracarys.notifications.push.api import ROUTES as PUSH_ROUTES
from dracarys.notifications.templates.api import ROUTES as TEMPLATES_ROUTES

ROUTES: list[Any] = [
    *INBOX_ROUTES,
    *PREFERENCES_ROUTES,
    *PUSH_ROUTES,
    *TEMPLATES_ROUTES,
    *CHAT_ROUTES,
    *PROGRAMS_ROUTES,
]
