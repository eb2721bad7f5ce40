"""Forgotten passwords over HTTP: ask for a reset link, and use it. Neither needs a
session. Handlers only translate HTTP; the rules live in the service."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_202_ACCEPTED

from dracarys.edge import source_ip
from dracarys.identity.models import Done, ForgotPasswordInput, ResetPasswordInput
from dracarys.identity.recovery import service as recovery
from dracarys.platform import Platform


class PasswordRecoveryController(Controller):
    path = "/api/v1/password"
    tags = ("identity",)

    @post(
        "/forgot",
        operation_id="forgotPassword",
        status_code=HTTP_202_ACCEPTED,
        summary="Mail a password reset link (the same answer whether or not the address "
        "has an account)",
    )
    async def forgot(
        self,
        data: JSONBody[ForgotPasswordInput],
        platform: NamedDependency[Platform],
        request: Request[Any, Any, Any],
    ) -> Done:
        await recovery.request_password_reset(platform, data.email, source_ip(request))
        return Done()

    @post(
        "/reset",
        operation_id="resetPassword",
        status_code=HTTP_200_OK,
        summary="Choose a new password with a reset link (signs every device out)",
    )
    async def reset(
        self,
        data: JSONBody[ResetPasswordInput],
        platform: NamedDependency[Platform],
        request: Request[Any, Any, Any],
    ) -> Done:
        await recovery.reset_password(platform, data.token, data.password, source_ip(request))
        return Done()


ROUTES = [PasswordRecoveryController]
