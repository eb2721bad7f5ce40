"""Who may watch which channel: one policy per channel kind. A policy says which users may
watch a channel (one query for all of a channel's watchers) and why others are refused
(sent to the client in an error frame). Access that can end while a connection watches (a
lapsed subscription, an unshared portfolio) is re-checked on open connections by the
stream server.

The app factory composes the policies (`ChannelPolicies`, from a mapping of channel kind
to policy) and hands them to the stream server; a kind without a policy is refused. The
rules here: `market:` and `leaderboard:` are `public` to any signed-in user;
`notifications:{user_id}` is `only_that_user`'s; `signals:{mentor_id}` is the mentor's
own plus whom trading's check allows (`signal_feed_policy(check)`); `portfolio:{id}` is
whom trading's check allows (`portfolio_policy(check)`); `chat:{conversation_id}` is its
two members, as chat's check says (`conversation_policy(check)`); `community:{space_id}`
is whom the community's check allows (`community_space_policy(check)`), where each check is
`async def (conn, user_ids, key_id) -> the allowed user ids` (an active, paid
subscription; the owner or a mentor the owner shares the portfolio with); the community's
also takes the platform clock's now (a premium membership ends when its paid time does)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from dracarys.db import Connection
from dracarys.identity import CurrentUser
from dracarys.platform import Platform
from streams.channels import Channel, ChannelKind


@dataclass(frozen=True, slots=True)
class ChannelAccess:
    platform: Platform
    user: CurrentUser
    channel: Channel


# `(platform, channel, user ids) -> those of the users who may watch the channel`: one
# query for every watcher of a channel when open connections are re-checked.
Allowed = Callable[[Platform, Channel, Sequence[uuid.UUID]], Awaitable[set[uuid.UUID]]]
# `(conn, user ids, id in the channel key) -> those allowed`, registered by a domain.
AccessCheck = Callable[[Connection, Sequence[uuid.UUID], uuid.UUID], Awaitable[set[uuid.UUID]]]
# The same with the platform clock's now, for access that ends at an instant (a paid
# period) rather than when a job changes a row.
TimedAccessCheck = Callable[
    [Connection, Sequence[uuid.UUID], uuid.UUID, datetime], Awaitable[set[uuid.UUID]]
]


@dataclass(frozen=True, slots=True)
class ChannelPolicy:
    allowed: Allowed
    refusal: str  # why a user who is not allowed is refused (sent in the error frame)
    # Whether access can end while a connection watches (a subscription lapses, a
    # portfolio is unshared): the stream server then re-checks its open subscriptions.
    revocable: bool = True


async def _everyone(_: Platform, __: Channel, users: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    return set(users)


async def _that_user(_: Platform, channel: Channel, users: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    return {u for u in users if u == channel.key_uuid}


public = ChannelPolicy(allowed=_everyone, refusal="", revocable=False)
only_that_user = ChannelPolicy(
    allowed=_that_user,
    refusal="notifications are visible to their recipient only",
    revocable=False,
)


def _checked(check: AccessCheck | None, *, owner_too: bool) -> Allowed:
    async def allowed(
        platform: Platform, channel: Channel, users: Sequence[uuid.UUID]
    ) -> set[uuid.UUID]:
        key = channel.key_uuid
        granted = {u for u in users if owner_too and u == key}
        others = [u for u in users if u not in granted]
        if check is not None and others:
            async with platform.pool.acquire() as conn:
                granted |= await check(conn, others, key)
        return granted

    return allowed


def signal_feed_policy(subscribers: AccessCheck | None) -> ChannelPolicy:
    """A mentor's signal feed: the mentor, and the users `subscribers` (trading's query)
    returns; without a query, the mentor alone."""
    return ChannelPolicy(
        allowed=_checked(subscribers, owner_too=True),
        refusal="this signal feed is for its active subscribers only",
    )


def portfolio_policy(viewers: AccessCheck | None) -> ChannelPolicy:
    """A portfolio: its owner and the mentors the owner shares it with, as `viewers`
    (trading's query) returns; without a query, nobody."""
    return ChannelPolicy(
        allowed=_checked(viewers, owner_too=False),
        refusal="this portfolio is visible to its owner and the mentors it is shared with",
    )


def conversation_policy(members: AccessCheck | None) -> ChannelPolicy:
    """A chat conversation: its two members, as `members` (chat's query) returns;
    without a query, nobody. Membership never ends, so it is not re-checked."""
    return ChannelPolicy(
        allowed=_checked(members, owner_too=False),
        refusal="this conversation is visible to its two members only",
        revocable=False,
    )


def _checked_at(check: TimedAccessCheck | None) -> Allowed:
    async def allowed(
        platform: Platform, channel: Channel, users: Sequence[uuid.UUID]
    ) -> set[uuid.UUID]:
        if check is None or not users:
            return set()
        async with platform.pool.acquire() as conn:
            return await check(conn, users, channel.key_uuid, platform.clock.now())

    return allowed


def community_space_policy(readers: TimedAccessCheck | None) -> ChannelPolicy:
    """A community space: everyone for a public one; a private or premium group's mentor
    and members, as `readers` (the community's query, asked at the platform clock's now:
    a premium membership ends when its paid time does) returns; without a query, nobody.
    Leaving a group (or its cohort) ends access, so open connections are re-checked."""
    return ChannelPolicy(
        allowed=_checked_at(readers),
        refusal="this group is visible to its members only",
    )


class ChannelPolicies:
    """The policy of every channel kind the platform serves, fixed when built."""

    def __init__(self, policies: Mapping[ChannelKind, ChannelPolicy]) -> None:
        self._policies = dict(policies)

    async def authorize(self, access: ChannelAccess) -> str | None:
        policy = self._policies.get(access.channel.kind)
        if policy is None:  # fail closed
            return f"no access policy for {access.channel.kind.value} channels"
        user_id = access.user.id
        if user_id in await policy.allowed(access.platform, access.channel, [user_id]):
            return None
        return policy.refusal

    async def revoked(
        self, platform: Platform, channel: Channel, users: Collection[uuid.UUID]
    ) -> tuple[set[uuid.UUID], str]:
        """Which of `users`, watching `channel`, may no longer, and why."""
        policy = self._policies.get(channel.kind)
        if policy is None:
            return set(users), f"no access policy for {channel.kind.value} channels"
        if not policy.revocable:
            return set(), ""
        allowed = await policy.allowed(platform, channel, list(users))
        return {u for u in users if u not in allowed}, policy.refusal
