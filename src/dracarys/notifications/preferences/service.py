"""What each person wants: a channel per category on or off (on unless they said
otherwise; locked categories always on), push only where they opted in (it reaches the
devices they subscribed, see `push`), quiet hours in their profile's time zone during
which non-critical e-mail, SMS and push wait, and the language their profile asks for."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from dracarys.db import Connection, transaction
from dracarys.errors import InvalidInput
from dracarys.identity import CurrentUser, Language, profile_languages, profile_timezones
from dracarys.notifications.preferences import store
from dracarys.notifications.preferences.models import (
    CategoryChoices,
    ChannelChoice,
    PreferencesInput,
    PreferencesView,
    QuietHoursView,
    Switch,
)
from dracarys.notifications.workflows import (
    CATEGORY_LABELS,
    LOCKED_CATEGORIES,
    SENT_OUTSIDE_WORKFLOWS,
    WORKFLOWS,
    Category,
    Channel,
    Workflow,
)
from dracarys.platform import Platform

_NOT_OFFERED = "Nothing in this category is sent on this channel."
# (category, channel) pairs some workflow uses: the only switches worth showing.
_OFFERED = {(w.category, c) for w in WORKFLOWS.values() for c in w.offered} | SENT_OUTSIDE_WORKFLOWS


@dataclass(frozen=True, slots=True)
class Person:
    """One recipient's choices, read once per batch."""

    user_id: uuid.UUID
    zone: ZoneInfo
    switches: dict[tuple[str, str], bool] = field(default_factory=dict)
    quiet: tuple[time, time] | None = None
    # What their notifications are written in (`Language`).
    language: str = Language.ENGLISH.value

    def wants(self, workflow: Workflow, channel: Channel) -> bool:
        if channel not in workflow.offered:
            return False
        if channel is Channel.PUSH:
            # Opt-in, even for locked categories: they always reach the person in the
            # app and by e-mail; push goes only where they asked for it.
            return self.switches.get((workflow.category.value, channel.value), False)
        if workflow.category in LOCKED_CATEGORIES:
            return True
        return self.switches.get((workflow.category.value, channel.value), True)

    def quiet_until(self, now: datetime) -> datetime | None:
        """When the quiet hours `now` falls in end (UTC), or None outside them."""
        if self.quiet is None:
            return None
        starts, ends = self.quiet
        local = now.astimezone(self.zone)
        clock = local.time().replace(tzinfo=None)
        inside = starts <= clock < ends if starts < ends else clock >= starts or clock < ends
        if not inside:
            return None
        end = datetime.combine(local.date(), ends, tzinfo=self.zone)
        if end <= local:
            end = datetime.combine(local.date() + timedelta(days=1), ends, tzinfo=self.zone)
        return end.astimezone(UTC)


def zone_named(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name) if name else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


async def people(conn: Connection, user_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, Person]:
    """Every recipient's choices in four queries, whatever their number."""
    ids = set(user_ids)
    zones = await profile_timezones(conn, ids)
    languages = await profile_languages(conn, ids)
    switches: dict[uuid.UUID, dict[tuple[str, str], bool]] = {}
    for switch in await store.switches_of(conn, ids):
        switches.setdefault(switch.user_id, {})[(switch.category, switch.channel)] = switch.enabled
    quiet = {w.user_id: (w.starts_at, w.ends_at) for w in await store.quiet_windows(conn, ids)}
    return {
        user_id: Person(
            user_id=user_id,
            zone=zone_named(zones.get(user_id)),
            switches=switches.get(user_id, {}),
            quiet=quiet.get(user_id),
            language=languages.get(user_id, Language.ENGLISH.value),
        )
        for user_id in ids
    }


def _view(person: Person) -> PreferencesView:
    categories = []
    for category in Category:
        locked = category in LOCKED_CATEGORIES
        choices = [
            ChannelChoice(
                channel=channel.value,
                enabled=person.switches.get((category.value, channel.value), False),
                editable=True,
            )
            if channel is Channel.PUSH and (category, channel) in _OFFERED
            else ChannelChoice(
                channel=channel.value,
                enabled=locked or person.switches.get((category.value, channel.value), True),
                editable=not locked,
            )
            if (category, channel) in _OFFERED
            else ChannelChoice(
                channel=channel.value, enabled=False, editable=False, note=_NOT_OFFERED
            )
            for channel in (Channel.IN_APP, Channel.EMAIL, Channel.SMS, Channel.PUSH)
        ]
        categories.append(
            CategoryChoices(
                category=category.value,
                label=CATEGORY_LABELS[category],
                locked=locked,
                channels=choices,
            )
        )
    quiet = (
        QuietHoursView(
            starts_at=person.quiet[0].strftime("%H:%M"), ends_at=person.quiet[1].strftime("%H:%M")
        )
        if person.quiet
        else None
    )
    return PreferencesView(categories=categories, quiet_hours=quiet, timezone=person.zone.key)


async def preferences_of(platform: Platform, user: CurrentUser) -> PreferencesView:
    async with platform.pool.acquire() as conn:
        return _view((await people(conn, [user.id]))[user.id])


def _checked_switches(user_id: uuid.UUID, data: PreferencesInput) -> list[Switch]:
    """All of them checked before any is saved: a bad one changes nothing."""
    switches: list[Switch] = []
    for n, entry in enumerate(data.switches):
        where = f"switches[{n}]"
        try:
            category = Category(entry.category)
        except ValueError:
            raise InvalidInput(
                f"There is no notification category called \u201c{entry.category}\u201d.",
                field=f"{where}.category",
            ) from None
        try:
            channel = Channel(entry.channel)
        except ValueError:
            raise InvalidInput(
                f"There is no channel called \u201c{entry.channel}\u201d.", field=f"{where}.channel"
            ) from None
        if category in LOCKED_CATEGORIES and not entry.enabled and channel is not Channel.PUSH:
            raise InvalidInput(
                f"{CATEGORY_LABELS[category]} messages cannot be turned off: we must be able "
                "to reach you about your account's security and failed payments.",
                field=f"{where}.enabled",
            )
        switches.append(
            Switch(
                user_id=user_id,
                category=category.value,
                channel=channel.value,
                enabled=entry.enabled,
            )
        )
    return switches


async def save_preferences(
    platform: Platform, user: CurrentUser, data: PreferencesInput
) -> PreferencesView:
    switches = _checked_switches(user.id, data)
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        if switches:
            await store.save_switches(conn, switches, now)
        if data.quiet_hours is None:
            await store.clear_quiet_hours(conn, user.id)
        elif not isinstance(data.quiet_hours, msgspec.UnsetType):
            starts = time.fromisoformat(data.quiet_hours.starts_at)
            ends = time.fromisoformat(data.quiet_hours.ends_at)
            if starts == ends:
                raise InvalidInput(
                    "Quiet hours must end at a different time than they start.",
                    field="quiet_hours.ends_at",
                )
            await store.save_quiet_hours(conn, user.id, starts, ends, now)
        return _view((await people(conn, [user.id]))[user.id])
