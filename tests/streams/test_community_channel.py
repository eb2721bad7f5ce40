"""The `community:{space}` channel over the real WebSocket (issue 21 item 7): a premium
group's channel is refused to a member who has not paid, carries the group's new posts to
those who have, and is taken away from an open connection when the paid time ends (no row
changes then: the re-check asks the platform clock), while the connection goes on."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import asyncpg
import httpx
import pytest

from dracarys.clock import ManualClock
from dracarys.identity import Role
from dracarys.settings import Settings
from streams import channels
from streams.client import StreamEvent, SubscriptionDenied
from streams.protocol import Error
from tests.streams.conftest import RunningApp
from tests.support import TestUser, fund_wallet

MakeUser = Callable[..., Awaitable[TestUser]]
API = "/api/v1/community"


async def test_a_premium_groups_channel_opens_to_payers_only_and_closes_when_their_time_ends(
    running: RunningApp,
    make_user: MakeUser,
    pool: asyncpg.Pool,
    settings: Settings,
    clock: ManualClock,
) -> None:
    mentor = await make_user(role=Role.MENTOR)
    buyer, outsider = await make_user(), await make_user()
    await fund_wallet(pool, buyer.id, "USD", 2_000, clock.now())
    async with httpx.AsyncClient(base_url=running.http) as http:
        group = await http.post(
            f"{API}/groups",
            json={"slug": "live-desk", "title": "Live desk", "visibility": "public"},
            headers=mentor.headers,
        )
        assert group.status_code == 201, group.text
        space_id = group.json()["id"]
        priced = await http.put(
            f"{API}/groups/{space_id}/premium",
            json={"monthly_price_minor": 2_000, "currency": "USD"},
            headers=mentor.headers,
        )
        assert priced.status_code == 200, priced.text
        paid = await http.post(
            f"{API}/groups/{space_id}/periods",
            json={},
            headers={**buyer.headers, "Idempotency-Key": "live-desk-month"},
        )
        assert paid.status_code == 201, paid.text

    # A minute before the paid time ends (tokens issued then, as a member signed in now).
    clock.set(datetime.fromisoformat(paid.json()["paid_until"]) - timedelta(minutes=1))
    mentor, buyer, outsider = (
        u.signed_in_again(settings, clock) for u in (mentor, buyer, outsider)
    )
    channel = channels.community(space_id)
    async with running.client(outsider.token) as snoop:
        with pytest.raises(SubscriptionDenied) as denied:
            await snoop.subscribe(channel)
        assert denied.value.error.code == "forbidden"

    async def new_topic(title: str) -> None:
        async with httpx.AsyncClient(base_url=running.http) as http:
            made = await http.post(
                f"{API}/topics",
                json={"space_id": space_id, "title": title, "body": "Levels for today."},
                headers=mentor.headers,
            )
            assert made.status_code == 201, made.text

    async with running.client(buyer.token) as member, running.client(mentor.token) as host:
        await member.subscribe(channel)
        await host.subscribe(channel)
        await new_topic("Morning levels")
        for watcher in (member, host):
            event = await watcher.next(5)
            assert isinstance(event, StreamEvent)
            assert (event.channel, event.type, event.data["title"]) == (
                channel,
                "community.post",
                "Morning levels",
            )

        clock.advance(timedelta(minutes=2))  # the paid time is over; no job has run
        notice = await member.next(3)
        assert isinstance(notice, Error)
        assert (notice.channel, notice.code) == (channel, "forbidden")
        await new_topic("Afternoon levels")
        event = await host.next(5)
        assert isinstance(event, StreamEvent)
        assert event.data["title"] == "Afternoon levels"
        with pytest.raises(TimeoutError):
            await member.next(0.5)
