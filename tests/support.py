"""Helpers shared by test suites: accounts with tokens, created through the same tables
and token issuer the platform uses."""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass

import asyncpg

from dracarys.clock import Clock
from dracarys.identity.access import Role, issue_access_token
from dracarys.settings import Settings


@dataclass(frozen=True, slots=True)
class TestUser:
    __test__ = False

    id: uuid.UUID
    email: str
    role: Role
    session_id: uuid.UUID
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def signed_in_again(self, settings: Settings, clock: Clock) -> TestUser:
        """The same user and session with an access token issued now (after a test moved
        the clock past the old one's expiry)."""
        token = issue_access_token(
            settings, user_id=self.id, role=self.role, session_id=self.session_id, now=clock.now()
        )
        return dataclasses.replace(self, token=token)


async def create_user(
    pool: asyncpg.Pool,
    settings: Settings,
    clock: Clock,
    *,
    role: Role = Role.MENTEE,
    kyc_level: int = 0,
    email: str | None = None,
    phone: str | None = None,
    verified: bool = True,
    two_factor: bool | None = None,
) -> TestUser:
    """A user with a live session; staff sessions have passed two-factor unless
    `two_factor=False` (staff must, to act as staff)."""
    if two_factor is None:
        two_factor = role in (Role.ADMIN, Role.REVIEWER)
    user_id = uuid.uuid4()
    session_id = uuid.uuid4()
    email = email or f"{role.value}-{user_id.hex[:8]}@example.com"
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            """INSERT INTO users (id, email, email_verified_at, phone, name, role, kyc_level)
               VALUES ($1, $2, CASE WHEN $3 THEN now() END, $4, $5, $6, $7)""",
            user_id,
            email,
            verified,
            phone,
            f"Test {role.value.title()}",
            role.value,
            kyc_level,
        )
        await conn.execute(
            """INSERT INTO auth_sessions (id, user_id, two_factor_at)
               VALUES ($1, $2, CASE WHEN $3 THEN now() END)""",
            session_id,
            user_id,
            two_factor,
        )
    token = issue_access_token(
        settings, user_id=user_id, role=role, session_id=session_id, now=clock.now()
    )
    return TestUser(id=user_id, email=email, role=role, session_id=session_id, token=token)
