"""`/api/v1/stream` (the WebSocket every live screen uses) and the staff routes around it;
the app mounts `ROUTES`."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, WebSocket, get, post, websocket
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_202_ACCEPTED

from dracarys.edge import source_ip
from dracarys.identity import CurrentUser, Role, requires_role
from dracarys.platform import Platform
from dracarys.realtime import service
from dracarys.realtime.models import (
    PublishedMessage,
    StaffNotificationInput,
    StreamStats,
)
from streams.server import StreamServer, StreamSocket


def _server(socket_or_request: Any) -> StreamServer:
    server: StreamServer = socket_or_request.app.state.streams
    return server


@websocket("/api/v1/stream", name="stream", websocket_class=StreamSocket)
async def stream(socket: WebSocket[Any, Any, Any]) -> None:
    """Live channels over one connection; protocol in `streams/protocol.py`."""
    await _server(socket).serve(socket)


class StreamAdminController(Controller):
    path = "/api/v1/stream"
    tags = ("streams",)
    guards = (requires_role(Role.ADMIN),)

    @post(
        "/notifications/{user_id:uuid}",
        operation_id="sendStreamNotification",
        summary="Send a staff notice to one user's live notifications channel",
        status_code=HTTP_202_ACCEPTED,
    )
    async def send_notification(
        self,
        platform: NamedDependency[Platform],
        user_id: FromPath[uuid.UUID],
        data: JSONBody[StaffNotificationInput],
        current_user: NamedDependency[CurrentUser],
        request: Request[Any, Any, Any],
    ) -> PublishedMessage:
        return await service.send_staff_notice(
            platform, current_user, user_id, data.title, data.body, source_ip(request)
        )

    @get("/stats", operation_id="getStreamStats", summary="Connections and disconnect reasons")
    async def stats(
        self, request: Request[Any, Any, Any], platform: NamedDependency[Platform]
    ) -> StreamStats:
        server = _server(request)
        return service.stream_stats(platform, server)


ROUTES = [stream, StreamAdminController]
