"""Who may watch which channel: one policy per channel kind, in a registry other domains
extend. A policy returns None to allow, or the reason for the refusal (sent to the client
in an error frame).

Defaults: `market:` and `leaderboard:` are public to any signed-in user;
`notifications:{user_id}` is that user's alone; `signals:{mentor_id}` is the mentor's own
until trading registers who else may watch; `portfolio:{id}` is refused until trading
registers who owns and shares portfolios. Trading does so at import time of its api
module (which `routes.py` imports)::

    CHANNEL_POLICIES.register(ChannelKind.SIGNALS, signal_feed_policy(store.is_active_subscriber))
    CHANNEL_POLICIES.register(ChannelKind.PORTFOLIO, portfolio_policy(store.may_view_portfolio))

where each check is `async def (conn, user_id, key_id) -> bool` with the query in
trading's store (an active, paid subscription; the owner or a mentor the owner shares
the portfolio with)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from dracarys.db import Connection
from dracarys.identity.access import CurrentUser
from dracarys.platform import Platform
from streams.channels import Channel, ChannelKind


@dataclass(frozen=True, slots=True)
class ChannelAccess:
    platform: Platform
    user: CurrentUser
    channel: Channel


ChannelPolicy = Callable[[ChannelAccess], Awaitable[str | None]]
# `(conn, user_id, id in the channel key) -> allowed?`
AccessCheck = Callable[[Connection, uuid.UUID, uuid.UUID], Awaitable[bool]]


async def public(_: ChannelAccess) -> str | None:
    return None


async def only_that_user(access: ChannelAccess) -> str | None:
    if access.user.id == access.channel.key_uuid:
        return None
    return "notifications are visible to their recipient only"


def signal_feed_policy(is_active_subscriber: AccessCheck | None) -> ChannelPolicy:
    """A mentor's signal feed: the mentor, and users for whom `is_active_subscriber`
    (a database query, registered by trading) holds."""

    async def policy(access: ChannelAccess) -> str | None:
        mentor_id = access.channel.key_uuid
        if access.user.id == mentor_id:
            return None
        if is_active_subscriber is not None:
            async with access.platform.pool.acquire() as conn:
                if await is_active_subscriber(conn, access.user.id, mentor_id):
                    return None
        return "this signal feed is for its active subscribers only"

    return policy


def portfolio_policy(may_view: AccessCheck | None) -> ChannelPolicy:
    """A portfolio: its owner and the mentors the owner shares it with, as decided by
    `may_view` (a database query, registered by trading)."""

    async def policy(access: ChannelAccess) -> str | None:
        if may_view is not None:
            async with access.platform.pool.acquire() as conn:
                if await may_view(conn, access.user.id, access.channel.key_uuid):
                    return None
        return "this portfolio is visible to its owner and the mentors it is shared with"

    return policy


class ChannelPolicies:
    def __init__(self) -> None:
        self._policies: dict[ChannelKind, ChannelPolicy] = {}

    def register(self, kind: ChannelKind, policy: ChannelPolicy) -> None:
        self._policies[kind] = policy

    @contextmanager
    def registered(self, kind: ChannelKind, policy: ChannelPolicy) -> Iterator[None]:
        """Register `policy` for the duration of a block (tests), then restore."""
        previous = self._policies.get(kind)
        self._policies[kind] = policy
        try:
            yield
        finally:
            if previous is None:
                self._policies.pop(kind, None)
            else:
                self._policies[kind] = previous

    async def authorize(self, access: ChannelAccess) -> str | None:
        policy = self._policies.get(access.channel.kind)
        if policy is None:  # fail closed
            return f"no access policy for {access.channel.kind.value} channels"
        return await policy(access)


CHANNEL_POLICIES = ChannelPolicies()
CHANNEL_POLICIES.register(ChannelKind.MARKET, public)
CHANNEL_POLICIES.register(ChannelKind.LEADERBOARD, public)
CHANNEL_POLICIES.register(ChannelKind.NOTIFICATIONS, only_that_user)
CHANNEL_POLICIES.register(ChannelKind.SIGNALS, signal_feed_policy(None))
CHANNEL_POLICIES.register(ChannelKind.PORTFOLIO, portfolio_policy(None))
