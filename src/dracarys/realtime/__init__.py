"""Realtime: the platform side of streams — the `/api/v1/stream` WebSocket with the
platform's tokens and live sessions, who may watch which channel, and the messages the
platform itself publishes (`NotificationFrame`).

The app factory composes the channel policies: realtime's own (`public`,
`only_that_user`) and the checks other domains supply (`signal_feed_policy(check)`,
`portfolio_policy(check)`), into `ChannelPolicies`, and runs `run_streams` with them."""

from dracarys.realtime.models import NotificationFrame
from dracarys.realtime.policies import (
    AccessCheck,
    ChannelAccess,
    ChannelPolicies,
    ChannelPolicy,
    community_space_policy,
    conversation_policy,
    only_that_user,
    portfolio_policy,
    public,
    signal_feed_policy,
)
from dracarys.realtime.service import run_streams

__all__ = [
    "AccessCheck",
    "ChannelAccess",
    "ChannelPolicies",
    "ChannelPolicy",
    "NotificationFrame",
    "community_space_policy",
    "conversation_policy",
    "only_that_user",
    "portfolio_policy",
    "public",
    "run_streams",
    "signal_feed_policy",
]
