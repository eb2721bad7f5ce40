"""The platform side of streams: authentication with the platform's access tokens and
live sessions, authorization by the channel policies, the limits from settings, and the
stream server's life inside the app.

Publishing, from any domain service or outbox consumer (after the change commits, so a
message never announces something that rolled back)::

    from streams import channels
    await platform.streams.publish(channels.notifications(user_id), NotificationFrame(...))
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager

import jwt
import msgspec

from dracarys.errors import Unauthorized
from dracarys.identity.access import CurrentUser, Role, decode_access_token
from dracarys.platform import Platform
from dracarys.realtime import store
from dracarys.realtime.policies import CHANNEL_POLICIES, ChannelAccess, ChannelPolicies
from dracarys.settings import Settings
from streams.channels import Channel
from streams.server import AuthenticationFailed, Principal, StreamLimits, StreamServer


def stream_limits(settings: Settings) -> StreamLimits:
    return StreamLimits(
        send_queue_frames=settings.stream_send_queue_frames,
        send_queue_bytes=settings.stream_send_queue_bytes,
        max_frame_bytes=settings.stream_max_frame_bytes,
        messages_per_s=settings.stream_messages_per_s,
        burst=max(1, int(settings.stream_messages_per_s * 2)),
        heartbeat_s=settings.stream_heartbeat_s,
        idle_timeout_s=settings.stream_idle_timeout_s,
        auth_timeout_s=settings.stream_auth_timeout_s,
        session_check_s=settings.stream_session_check_s,
        max_channels=settings.stream_max_channels,
        reauthorize_s=settings.stream_reauthorize_s,
    )


class PlatformGatekeeper:
    """Same tokens and sessions as the REST API: a connection lives only as long as its
    token is unexpired and its login session unrevoked."""

    def __init__(self, platform: Platform, policies: ChannelPolicies = CHANNEL_POLICIES) -> None:
        self._platform = platform
        self._policies = policies

    def now(self) -> float:
        return self._platform.clock.now().timestamp()

    async def authenticate(self, token: str) -> Principal:
        platform = self._platform
        try:
            claimed = decode_access_token(platform.settings, token, now=platform.clock.now())
        except Unauthorized:
            raise AuthenticationFailed("the access token is invalid or expired") from None
        # The signature was verified just above; this only reads the expiry back.
        expires_at = float(jwt.decode(token, options={"verify_signature": False})["exp"])
        role = await store.live_session_role(platform.pool, claimed.session_id, claimed.id)
        if role is None:
            raise AuthenticationFailed("this session has ended; sign in again")
        user = msgspec.structs.replace(claimed, role=Role(role))
        return Principal(
            subject=str(user.id),
            session=str(user.session_id),
            expires_at=expires_at,
            identity=user,
        )

    async def authorize(self, principal: Principal, channel: Channel) -> str | None:
        user = principal.identity
        assert isinstance(user, CurrentUser)
        return await self._policies.authorize(ChannelAccess(self._platform, user, channel))

    async def revoked(self, channel: Channel, subjects: Collection[str]) -> tuple[set[str], str]:
        users = {uuid.UUID(s) for s in subjects}
        ended, reason = await self._policies.revoked(self._platform, channel, users)
        return {str(u) for u in ended}, reason

    async def ended_sessions(self, sessions: Collection[str]) -> set[str]:
        ids = [uuid.UUID(s) for s in sessions]
        live = await store.live_sessions(self._platform.pool, ids)
        return {s for s, i in zip(sessions, ids, strict=True) if i not in live}


@asynccontextmanager
async def run_streams(platform: Platform) -> AsyncIterator[StreamServer]:
    """Start receiving published messages and serving connections; stop both at exit."""
    settings = platform.settings
    await platform.streams.start()
    server = StreamServer(
        platform.streams,
        PlatformGatekeeper(platform),
        limits=stream_limits(settings),
        allowed_origins=settings.allowed_origins,
    )
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
        await platform.streams.stop()
