"""Member rules: each member's profile (made on first use with a handle they can change),
reputation summed from votes and accepted answers, trust levels recomputed on a schedule,
and what a level allows when someone posts (links, images, posts a day)."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta

from dracarys.community.members import store
from dracarys.community.members.models import (
    TRUST_RULES,
    HandleInput,
    Profile,
    ProfileView,
    trust_level_for,
)
from dracarys.community.rendering import links_and_images
from dracarys.db import Connection, transaction, xact_lock
from dracarys.errors import Conflict, InvalidInput
from dracarys.identity import CurrentUser
from dracarys.platform import Platform
from dracarys.ratelimit import too_many

ACTIVITY_WINDOW = timedelta(days=100)
# The start of a handle (see HANDLE_PATTERN): what a staff search by handle may type.
HANDLE_PREFIX = re.compile(r"[a-z0-9][a-z0-9_]{0,29}")


def default_handle(user_id: uuid.UUID) -> str:
    return f"trader_{user_id.hex[:10]}"


async def ensure_profile(conn: Connection, user_id: uuid.UUID, now: datetime) -> Profile:
    found = await store.profile(conn, user_id)
    if found is not None:
        return found
    await store.insert_profile(conn, user_id, default_handle(user_id), now)
    made = await store.profile(conn, user_id)
    assert made is not None
    return made


async def _view(conn: Connection, found: Profile) -> ProfileView:
    rule = TRUST_RULES[found.trust_level]
    return ProfileView(
        user_id=found.user_id,
        handle=found.handle,
        trust_level=found.trust_level,
        reputation=await store.reputation(conn, found.user_id),
        posts_per_day=rule.posts_per_day,
        may_post_links=rule.links,
        may_post_images=rule.images,
        moderates=rule.moderates,
    )


async def my_profile(platform: Platform, user: CurrentUser) -> ProfileView:
    async with transaction(platform.pool) as conn:
        return await _view(conn, await ensure_profile(conn, user.id, platform.clock.now()))


async def set_handle(platform: Platform, user: CurrentUser, data: HandleInput) -> ProfileView:
    async with transaction(platform.pool) as conn:
        await ensure_profile(conn, user.id, platform.clock.now())
        if not await store.set_handle(conn, user.id, data.handle):
            raise Conflict(f"@{data.handle} is taken; choose another handle", field="handle")
        found = await store.profile(conn, user.id)
        assert found is not None
        return await _view(conn, found)


async def handles_of(conn: Connection, user_ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    return await store.handles_of(conn, user_ids)


async def handles_starting_with(
    conn: Connection, prefix: str, *, limit: int = 20
) -> list[tuple[uuid.UUID, str]]:
    """(user id, handle) of members whose handle begins with `prefix`, by handle; a
    prefix that no handle could begin with finds nobody."""
    prefix = prefix.lower()
    if not HANDLE_PREFIX.fullmatch(prefix):
        return []
    return await store.handles_starting_with(conn, prefix, limit)


async def users_by_handle(conn: Connection, handles: list[str]) -> dict[str, uuid.UUID]:
    return await store.users_by_handle(conn, handles) if handles else {}


def check_content(author: Profile, source: str) -> None:
    """Refuse images the author's trust level does not allow yet. (Links from a member at
    the new level are not refused: moderation's screen holds the post for review.)"""
    rule = TRUST_RULES[author.trust_level]
    _, images = links_and_images(source)
    if images and not rule.images:
        raise InvalidInput(
            "Images in posts open up at the member trust level; post without the image for now.",
            field="body",
        )


async def check_may_post(conn: Connection, author: Profile, source: str, now: datetime) -> None:
    """`check_content`, and the author's posts a day. Called in the posting transaction:
    the per-member lock makes concurrent posts count against one budget."""
    check_content(author, source)
    rule = TRUST_RULES[author.trust_level]
    await xact_lock(conn, "community.posting", author.user_id)
    since = now - timedelta(days=1)
    if await store.posts_since(conn, author.user_id, since) >= rule.posts_per_day:
        raise too_many(
            f"You have written {rule.posts_per_day} posts in the last day, the most your "
            f"trust level ({author.trust_level.value}) allows",
            3600,
        )


async def recompute_trust_levels(platform: Platform) -> int:
    """The scheduled job: each member's level from reputation and activity, stored where
    it changed. Returns how many changed."""
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        standings = await store.standings(conn, now - ACTIVITY_WINDOW)
        changed = [
            (s.user_id, level)
            for s in standings
            if (level := trust_level_for(s.reputation, s.posts, s.active_days)) != s.trust_level
        ]
        if changed:
            await store.set_trust_levels(conn, changed, now)
    return len(changed)
