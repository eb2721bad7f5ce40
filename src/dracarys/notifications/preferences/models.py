"""Preferences' records and API bodies."""

from __future__ import annotations

import uuid
from datetime import time
from typing import Annotated

import msgspec

from dracarys.wire import Input, Schema

# "HH:MM", 24-hour, the person's local time.
LocalTime = Annotated[str, msgspec.Meta(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]


class Switch(msgspec.Struct, frozen=True, kw_only=True):
    """One stored choice: a channel on or off for a category."""

    user_id: uuid.UUID
    category: str
    channel: str
    enabled: bool


class QuietWindow(msgspec.Struct, frozen=True, kw_only=True):
    user_id: uuid.UUID
    starts_at: time
    ends_at: time


class ChannelChoice(Schema):
    channel: str
    enabled: bool
    # False: the person cannot change it (locked category, or nothing in it goes there).
    editable: bool
    note: str | None = None


class CategoryChoices(Schema):
    category: str
    label: str
    locked: bool
    channels: list[ChannelChoice]


class QuietHoursView(Schema):
    starts_at: str
    ends_at: str


class PreferencesView(Schema):
    categories: list[CategoryChoices]
    quiet_hours: QuietHoursView | None
    # The zone quiet hours are read in: the profile's, else UTC.
    timezone: str


class SwitchInput(Input):
    category: str
    channel: str
    enabled: bool


class QuietHoursInput(Input):
    starts_at: LocalTime
    ends_at: LocalTime


class PreferencesInput(Input):
    switches: Annotated[list[SwitchInput], msgspec.Meta(max_length=64)] = msgspec.field(
        default_factory=list
    )
    # Absent: unchanged; null: no quiet hours.
    quiet_hours: QuietHoursInput | msgspec.UnsetType | None = msgspec.UNSET
