"""Space rules: who reads and who posts in a space, mentors' groups and their members.

A channel is everyone's. A group is its mentor's and its members': members who joined (a
public group: anyone may join; a private one: the mentor adds them) or, for a group that
follows a cohort, the cohort's members, asked of the curriculum each time, so they join
and leave with the cohort and nothing here can drift from it. Private spaces are hidden
from others on every surface: pages, API, search and the stream channel."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from dracarys.community.members import service as members_service
from dracarys.community.premium import store as premium_store
from dracarys.community.spaces import store
from dracarys.community.spaces.models import (
    AddMemberInput,
    GroupInput,
    MemberSource,
    MemberView,
    Space,
    SpaceKind,
    SpaceView,
    Visibility,
)
from dracarys.curriculum import cohort_members, cohort_of, is_cohort_member
from dracarys.db import Connection, transaction
from dracarys.errors import Conflict, Forbidden, InvalidInput, NotFound
from dracarys.identity import CurrentUser, Role, accounts_of
from dracarys.platform import Platform

PRIVATE_REFUSAL = "This group is for its members only; ask its mentor to add you."


async def is_member(conn: Connection, space: Space, user_id: uuid.UUID, now: datetime) -> bool:
    """In the space: everyone in a channel; a group's mentor and members (a premium
    group's: those whose paid time runs at `now`, see `_joined`)."""
    if space.kind is SpaceKind.CHANNEL or user_id == space.mentor_id:
        return True
    if space.cohort_id is not None:
        return await is_cohort_member(conn, space.cohort_id, user_id)
    return bool(await _joined(conn, space, [user_id], now))


async def _joined(
    conn: Connection, space: Space, user_ids: Sequence[uuid.UUID], now: datetime
) -> set[uuid.UUID]:
    """Who of `user_ids` joined the group. A premium group's membership ends the instant
    its paid time does: the renewal job, which runs every few minutes, charges the next
    period or removes the row, but until it runs a lapsed member is no member."""
    if space.premium:
        return await premium_store.paid_members(conn, space.id, user_ids, now)
    return await store.joined(conn, space.id, user_ids)


PREMIUM_REFUSAL = "This group is premium: join it through the checkout to read it."


async def may_read(conn: Connection, user: CurrentUser, space: Space, now: datetime) -> bool:
    """May read its topics and posts: a public free space, everyone; a private or premium
    one, its mentor and members (a premium group's members are those whose paid time
    runs: see community.premium); staff, every space."""
    if (space.visibility is Visibility.PUBLIC and not space.premium) or user.is_staff:
        return True
    return await is_member(conn, space, user.id, now)


async def may_see(conn: Connection, user: CurrentUser, space: Space, now: datetime) -> bool:
    """May see that it exists (listed, its page): a public premium group shows what it
    offers to those who have not joined."""
    return space.visibility is Visibility.PUBLIC or await may_read(conn, user, space, now)


async def readable_space(
    conn: Connection, user: CurrentUser, space_id: uuid.UUID, now: datetime
) -> Space:
    space = await store.space(conn, space_id)
    if space is None:
        raise NotFound("There is no such space.", field="space_id")
    if not await may_read(conn, user, space, now):
        raise Forbidden(PREMIUM_REFUSAL if space.premium else PRIVATE_REFUSAL, field="space_id")
    return space


async def writable_space(
    conn: Connection, user: CurrentUser, space_id: uuid.UUID, now: datetime
) -> Space:
    space = await readable_space(conn, user, space_id, now)
    if not await is_member(conn, space, user.id, now):
        raise Forbidden("Join this group to post in it.", field="space_id")
    return space


async def readable_space_ids_by_slug(
    conn: Connection, user: CurrentUser, slug: str | None, now: datetime
) -> list[uuid.UUID]:
    """The spaces the reader may read (only the one called `slug`, when given)."""
    return [
        s.id
        for s in await store.spaces(conn)
        if (slug is None or s.slug == slug) and await may_read(conn, user, s, now)
    ]


async def space_watchers(
    conn: Connection, user_ids: Sequence[uuid.UUID], space_id: uuid.UUID, now: datetime
) -> set[uuid.UUID]:
    """Who of `user_ids` may watch `community:{space_id}` (the channel policy's check), as
    `may_read` lets them read it: everyone for a public free space; for a private or
    premium one staff, its mentor and its members (a premium group's: those whose paid
    time runs at `now`)."""
    space = await store.space(conn, space_id)
    if space is None:
        return set()
    if space.visibility is Visibility.PUBLIC and not space.premium:
        return set(user_ids)
    staff = {a.id for a in (await accounts_of(conn, user_ids)).values() if a.role.is_staff}
    allowed = staff | {u for u in user_ids if u == space.mentor_id}
    if space.cohort_id is not None:
        in_cohort = set((await cohort_members(conn, [space.cohort_id])).get(space.cohort_id, []))
        return allowed | {u for u in user_ids if u in in_cohort}
    return allowed | await _joined(conn, space, user_ids, now)


async def _view(
    conn: Connection, user: CurrentUser, space: Space, topics: int, now: datetime
) -> SpaceView:
    member = await is_member(conn, space, user.id, now)
    paid_until = await premium_store.paid_until(conn, space.id, user.id) if space.premium else None
    renews = space.premium and member and await premium_store.renews(conn, space.id, user.id)
    return SpaceView(
        id=space.id,
        slug=space.slug,
        title=space.title,
        description=space.description,
        kind=space.kind,
        visibility=space.visibility,
        mentor_id=space.mentor_id,
        cohort_id=space.cohort_id,
        topics=topics,
        member=member,
        may_join=not member and space.visibility is Visibility.PUBLIC and space.cohort_id is None,
        premium=space.premium,
        monthly_price_minor=space.monthly_price_minor,
        currency=space.currency.strip(),
        paid_until=paid_until,
        renews=renews,
    )


async def list_spaces(platform: Platform, user: CurrentUser) -> list[SpaceView]:
    now = platform.clock.now()
    async with platform.pool.acquire() as conn:
        counts = await store.topic_counts(conn)
        return [
            await _view(conn, user, s, counts.get(s.id, 0), now)
            for s in await store.spaces(conn)
            if await may_see(conn, user, s, now)
        ]


async def space_by_slug(platform: Platform, user: CurrentUser, slug: str) -> SpaceView:
    now = platform.clock.now()
    async with platform.pool.acquire() as conn:
        space = await store.space_by_slug(conn, slug)
        if space is None:
            raise NotFound("There is no such space.", field="slug")
        if not await may_see(conn, user, space, now):
            raise Forbidden(PRIVATE_REFUSAL, field="slug")
        topics = (await store.topic_counts(conn)).get(space.id, 0)
        return await _view(conn, user, space, topics, now)


async def create_group(platform: Platform, user: CurrentUser, data: GroupInput) -> SpaceView:
    if user.role is not Role.MENTOR:
        raise Forbidden("Only mentors host groups.")
    async with transaction(platform.pool) as conn:
        if data.cohort_id is not None:
            cohort = await cohort_of(conn, data.cohort_id)
            if cohort is None or cohort.owner_id != user.id:
                raise InvalidInput("Choose one of your own cohorts.", field="cohort_id")
        now = platform.clock.now()
        space = await store.insert_group(conn, user.id, data, now)
        if space is None:
            raise Conflict(f"A space called “{data.slug}” exists; choose another.", field="slug")
        return await _view(conn, user, space, 0, now)


async def _group(conn: Connection, space_id: uuid.UUID) -> Space:
    space = await store.space(conn, space_id)
    if space is None or space.kind is not SpaceKind.GROUP:
        raise NotFound("There is no such group.", field="space_id")
    return space


async def join(platform: Platform, user: CurrentUser, space_id: uuid.UUID) -> SpaceView:
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        space = await _group(conn, space_id)
        if space.cohort_id is not None:
            raise Conflict(
                "This group follows a cohort: join the cohort to join the group.",
                field="space_id",
            )
        if space.visibility is Visibility.PRIVATE and not await is_member(
            conn, space, user.id, now
        ):
            raise Forbidden(PRIVATE_REFUSAL, field="space_id")
        if space.premium and not await is_member(conn, space, user.id, now):
            raise Conflict(
                "This group is premium: join it through the checkout, which pays its first "
                "30 days.",
                field="space_id",
            )
        await store.add_member(conn, space.id, user.id, now)
        return await _view(conn, user, space, 0, now)


async def leave(platform: Platform, user: CurrentUser, space_id: uuid.UUID) -> None:
    async with transaction(platform.pool) as conn:
        space = await _group(conn, space_id)
        if space.cohort_id is not None:
            raise Conflict(
                "This group follows a cohort: you leave it when you leave the cohort.",
                field="space_id",
            )
        await store.remove_member(conn, space.id, user.id)


async def _hosted(conn: Connection, user: CurrentUser, space_id: uuid.UUID) -> Space:
    space = await _group(conn, space_id)
    if space.mentor_id != user.id:
        raise Forbidden("Only the group's mentor manages its members.", field="space_id")
    return space


async def add_member(
    platform: Platform, user: CurrentUser, space_id: uuid.UUID, data: AddMemberInput
) -> list[MemberView]:
    async with transaction(platform.pool) as conn:
        space = await _hosted(conn, user, space_id)
        if space.cohort_id is not None:
            raise Conflict(
                "This group follows a cohort: its members are the cohort's.", field="handle"
            )
        found = await members_service.users_by_handle(conn, [data.handle])
        if data.handle not in found:
            raise NotFound(f"Nobody in the community is called @{data.handle}.", field="handle")
        await store.add_member(conn, space.id, found[data.handle], platform.clock.now())
    return await members(platform, user, space_id)


async def remove_member(
    platform: Platform, user: CurrentUser, space_id: uuid.UUID, member_id: uuid.UUID
) -> None:
    async with transaction(platform.pool) as conn:
        space = await _hosted(conn, user, space_id)
        await store.remove_member(conn, space.id, member_id)


async def members(platform: Platform, user: CurrentUser, space_id: uuid.UUID) -> list[MemberView]:
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        space = await readable_space(conn, user, space_id, now)
        if space.kind is SpaceKind.CHANNEL:
            raise Conflict(
                "A channel is open to everyone; it has no member list.", field="space_id"
            )
        listed: list[tuple[uuid.UUID, MemberSource]] = []
        if space.mentor_id is not None:
            listed.append((space.mentor_id, MemberSource.MENTOR))
        if space.cohort_id is not None:
            ids = (await cohort_members(conn, [space.cohort_id])).get(space.cohort_id, [])
            listed += [(u, MemberSource.COHORT) for u in ids]
        else:
            listed += [(u, MemberSource.JOINED) for u in await store.members(conn, space.id)]
        for user_id, _ in listed:
            await members_service.ensure_profile(conn, user_id, now)
        handles = await members_service.handles_of(conn, {u for u, _ in listed})
        return [MemberView(user_id=u, handle=handles[u], source=s) for u, s in listed]


async def space_by_id(conn: Connection, space_id: uuid.UUID) -> Space:
    space = await store.space(conn, space_id)
    if space is None:
        raise NotFound("There is no such space.", field="space_id")
    return space
