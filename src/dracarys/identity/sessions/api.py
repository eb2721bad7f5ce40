"""The signed-in user's own sessions (list, end one) and the sign-in providers a page may
offer. Handlers only translate HTTP; the rules live in the services."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, delete, get
from litestar.di import NamedDependency
from litestar.params import FromPath

from dracarys.edge import source_ip
from dracarys.identity.access import CurrentUser
from dracarys.identity.models import SignInProvider, SignInSession
from dracarys.identity.sessions import oidc
from dracarys.identity.sessions import service as sessions
from dracarys.platform import Platform


class SessionsController(Controller):
    path = "/api/v1"
    tags = ("identity",)

    @get("/me/sessions", operation_id="listMySessions", summary="Your signed-in devices")
    async def list_sessions(
        self, platform: NamedDependency[Platform], current_user: NamedDependency[CurrentUser]
    ) -> list[SignInSession]:
        return await sessions.list_sessions(platform, current_user)

    @delete(
        "/me/sessions/{session_id:uuid}",
        operation_id="revokeMySession",
        summary="Sign one of your devices out",
    )
    async def revoke_session(
        self,
        session_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
        request: Request[Any, Any, Any],
    ) -> None:
        await sessions.revoke_own_session(platform, current_user, session_id, source_ip(request))

    @get(
        "/auth/providers",
        operation_id="listSignInProviders",
        summary="The providers one can sign in with here",
        sync_to_thread=False,
    )
    def providers(self, platform: NamedDependency[Platform]) -> list[SignInProvider]:
        return oidc.configured_providers(platform.settings)


ROUTES = [SessionsController]
