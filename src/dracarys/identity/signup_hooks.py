"""What other domains may do inside a sign-up's own transaction: the composition root hands
identity's sign-up handlers a `SignupHooks` (a request dependency), and each hook is called
with the platform, the new account and what the request carried (its cookies, address and
agent). A hook failing fails the sign-up, so what it records commits with the account or
not at all. Identity knows the hooks only by this shape (the referral attribution is one)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec
from litestar import Request

from dracarys.db import Connection
from dracarys.platform import Platform


class SignupContext(msgspec.Struct, frozen=True, kw_only=True):
    """A new account and the request that made it."""

    user_id: uuid.UUID
    email: str
    source_ip: str | None
    user_agent: str | None
    cookies: Mapping[str, str]
    at: datetime


SignupHook = Callable[[Connection, Platform, SignupContext], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class SignupHooks:
    hooks: tuple[SignupHook, ...] = ()

    async def run(self, conn: Connection, platform: Platform, context: SignupContext) -> None:
        for hook in self.hooks:
            await hook(conn, platform, context)


NO_SIGNUP_HOOKS = SignupHooks()


class SignupRequest(msgspec.Struct, frozen=True, kw_only=True):
    """What of the request a sign-up passes to its hooks."""

    source_ip: str | None
    user_agent: str | None
    cookies: Mapping[str, str]

    @classmethod
    def of(cls, request: Request[Any, Any, Any], source_ip: str | None) -> SignupRequest:
        return cls(
            source_ip=source_ip,
            user_agent=request.headers.get("user-agent"),
            cookies=dict(request.cookies),
        )
