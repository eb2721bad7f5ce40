"""Preferences over HTTP: what you get on which channel per category, and quiet hours."""

from __future__ import annotations

from typing import Any

from litestar import get, put
from litestar.di import NamedDependency
from litestar.params import JSONBody

from dracarys.identity import CurrentUser, authenticated
from dracarys.notifications.preferences import service
from dracarys.notifications.preferences.models import PreferencesInput, PreferencesView
from dracarys.platform import Platform


@get(
    "/api/v1/notifications/preferences",
    operation_id="getNotificationPreferences",
    guards=[authenticated],
    tags=["notifications"],
    summary="Your channels per category (locked ones cannot be turned off) and quiet hours",
)
async def get_preferences(
    platform: NamedDependency[Platform], current_user: NamedDependency[CurrentUser]
) -> PreferencesView:
    return await service.preferences_of(platform, current_user)


@put(
    "/api/v1/notifications/preferences",
    operation_id="saveNotificationPreferences",
    guards=[authenticated],
    tags=["notifications"],
    summary="Turn channels on or off per category and set (or clear, with null) quiet hours",
)
async def save_preferences(
    data: JSONBody[PreferencesInput],
    platform: NamedDependency[Platform],
    current_user: NamedDependency[CurrentUser],
) -> PreferencesView:
    return await service.save_preferences(platform, current_user, data)


ROUTES: list[Any] = [get_preferences, save_preferences]
