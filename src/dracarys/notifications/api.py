"""Notifications HTTP API: every area's routes in one list the composition root mounts."""

from __future__ import annotations

from typing import Any

from dracarys.notifications.chat.api import ROUTES as CHAT_ROUTES

ROUTES: list[Any] = [*CHAT_ROUTES]
