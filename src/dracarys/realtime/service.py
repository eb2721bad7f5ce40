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

from dracarys.db import transaction
from dracarys.errors import NotFound, Unauthorized
from dracarys.identity import (
    CurrentUser,
    account_of,
    decode_access_token,
    live_sessions,
    record_audit,
)
from dracarys.platform import Platform
from dracarys.realtime.models import NotificationFrame, PublishedMessage, StreamStats
from dracarys.realtime.policies import ChannelAccess, ChannelPolicies
from dracarys.settings import Settings
from streams import channels
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

    def __init__(self, platform: Platform, policies: ChannelPolicies) -> None:
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
        async with platform.pool.acquire() as conn:
            live = (await live_sessions(conn, [claimed.session_id])).get(claimed.session_id)
        if live is None or live.user_id != claimed.id:
            raise AuthenticationFailed("this session has ended; sign in again")
        user = msgspec.structs.replace(claimed, role=live.role)
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
        async with self._platform.pool.acquire() as conn:
            live = await live_sessions(conn, ids)
        return {s for s, i in zip(sessions, ids, strict=True) if i not in live}


@asynccontextmanager
async def run_streams(platform: Platform, policies: ChannelPolicies) -> AsyncIterator[StreamServer]:
    """Start receiving published messages and serving connections, with the channel
    policies the app composed; stop both at exit."""
    settings = platform.settings
    await platform.streams.start()
    server = StreamServer(
        platform.streams,
        PlatformGatekeeper(platform, policies),
        limits=stream_limits(settings),
        allowed_origins=settings.allowed_origins,
    )
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
        await platform.streams.stop()


async def send_staff_notice(
    platform: Platform,
    staff: CurrentUser,
    user_id: uuid.UUID,
    title: str,
    body: str,
    source_ip: str | None,
) -> PublishedMessage:
    """A staff notice on one user's live notifications channel, audit-logged with the
    staff member who sent it."""
    async with transaction(platform.pool) as conn:
        if await account_of(conn, user_id) is None:
            raise NotFound("no such user", field="user_id")
        await record_audit(
            conn,
            staff.id,
            "stream.staff_notice_sent",
            f"user:{user_id}",
            source_ip,
            {"title": title},
        )
    channel = channels.notifications(user_id)
    frame = NotificationFrame(
        id=uuid.uuid4(),
        kind="staff_notice",
        title=title,
        body=body,
        created_at=platform.clock.now(),
    )
    seq = await platform.streams.publish(channel, frame)
    return PublishedMessage(channel=channel, seq=seq)


def stream_stats(platform: Platform, server: StreamServer) -> StreamStats:
    return StreamStats(
        connections=len(server.sessions),
        closed_by_reason=dict(server.closed_by_reason),
        peak_queue_bytes=server.peak_queue_bytes,
        published=platform.streams.published,
    )
