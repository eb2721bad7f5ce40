"""Mentorship fixtures: vetted mentors with a schedule and session types (set up through
the public API, vetted through identity's own service), funded mentee wallets, and
readers for balances and outbox events (wallets are funded with the shared `fund_wallet`
fixture)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest

from dracarys.clock import ManualClock
from dracarys.identity import Role, issue_access_token
from dracarys.platform import Platform
from dracarys.settings import Settings
from tests.conftest import FundWallet
from tests.support import AppClient, Auth, TestUser, vet

Client = AppClient
MakeUser = Callable[..., Awaitable[TestUser]]
WEEKDAYS = range(5)


@dataclass
class Mentor:
    user: TestUser
    schedule_id: uuid.UUID
    types: dict[str, uuid.UUID] = field(default_factory=dict)

    @property
    def id(self) -> uuid.UUID:
        return self.user.id


def weekly(start: str, end: str, days: range = WEEKDAYS) -> list[dict[str, Any]]:
    return [{"weekday": d, "start": start, "end": end} for d in days]


@pytest.fixture
def auth(settings: Settings, clock: ManualClock) -> Auth:
    """Headers with an access token issued now (tests move the clock past token expiry)."""

    def headers(user: TestUser) -> dict[str, str]:
        token = issue_access_token(
            settings, user_id=user.id, role=user.role, session_id=user.session_id, now=clock.now()
        )
        return {"Authorization": f"Bearer {token}"}

    return headers


@pytest.fixture
def make_mentor(
    client: Client, platform: Platform, make_user: MakeUser
) -> Callable[..., Awaitable[Mentor]]:
    async def make(
        *,
        timezone: str = "Africa/Nairobi",
        hours: list[dict[str, Any]] | None = None,
        overrides: list[dict[str, Any]] | None = None,
        specialties: tuple[str, ...] = ("options",),
        hourly_rate_minor: int = 300_000,
        price_minor: int = 200_000,
        vetted: bool = True,
        min_notice_minutes: int = 60,
    ) -> Mentor:
        user = await make_user(role=Role.MENTOR, kyc_level=2)
        response = await client.patch(
            f"/api/v1/users/{user.id}/mentor-profile",
            json={
                "specialties": list(specialties),
                "hourly_rate_minor": hourly_rate_minor,
                "currency": "KES",
            },
            headers=user.headers,
        )
        assert response.status_code == 200, response.text
        if vetted:
            await vet(platform, user.id)
        response = await client.post(
            "/api/v1/schedules",
            json={
                "name": "Working hours",
                "timezone": timezone,
                "weekly_hours": hours if hours is not None else weekly("09:00", "12:00"),
                "date_overrides": overrides or [],
            },
            headers=user.headers,
        )
        assert response.status_code == 201, response.text
        mentor = Mentor(user=user, schedule_id=uuid.UUID(response.json()["id"]))
        for key, kind, capacity, minutes in (
            ("one_on_one", "one_on_one", 1, 60),
            ("group", "group", 3, 60),
        ):
            response = await client.post(
                "/api/v1/session-types",
                json={
                    "title": f"{kind} session",
                    "kind": kind,
                    "duration_minutes": minutes,
                    "price_minor": price_minor,
                    "currency": "KES",
                    "capacity": capacity,
                    "min_notice_minutes": min_notice_minutes,
                },
                headers=user.headers,
            )
            assert response.status_code == 201, response.text
            mentor.types[key] = uuid.UUID(response.json()["id"])
        return mentor

    return make


@pytest.fixture
def make_mentee(make_user: MakeUser, fund_wallet: FundWallet) -> Callable[..., Awaitable[TestUser]]:
    async def make(*, funds_minor: int = 1_000_000) -> TestUser:
        user = await make_user(role=Role.MENTEE)
        if funds_minor:
            await fund_wallet(user.id, "KES", funds_minor)
        return user

    return make


async def book(
    client: Client,
    headers: dict[str, str],
    type_id: uuid.UUID,
    starts_at: datetime,
    key: str | None = None,
) -> Any:
    return await client.post(
        "/api/v1/sessions/book",
        json={
            "session_type_id": str(type_id),
            "starts_at": starts_at.isoformat(),
            "idempotency_key": key or f"book-{uuid.uuid4()}",
        },
        headers=headers,
    )
