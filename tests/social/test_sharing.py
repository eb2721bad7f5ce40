"""Tracked shares (issue 19 item 5): what may be shared and by whom, one link per thing and
channel, the card (a 1200×630 PNG named by its content), the link's page with its Open
Graph tags and UTM redirect, and earning: distinct signed-in visitors other than the
sharer and outside the sharer's network, once, however many arrive at once; points then
awards 50 per share within its daily limit."""

from __future__ import annotations

import asyncio
import io
import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import asyncpg
import pytest
from PIL import Image

from dracarys import points
from dracarys.clock import ManualClock
from dracarys.db import transaction
from dracarys.identity import Role
from dracarys.outbox import Event
from dracarys.platform import Platform
from dracarys.settings import Settings
from dracarys.social import BADGE_EARNED_TOPIC, record_badges_earned
from dracarys.social.sharing import service
from dracarys.social.sharing.models import Visit
from tests.conftest import make_settings
from tests.curriculum.conftest import RIGHT, build_course, enrol
from tests.support import AppClient, TestUser
from tests.trading.conftest import API as TRADING_API
from tests.trading.conftest import Desk, desk

__all__ = ["desk"]  # the trading suite's engine fixture, used here for a closed signal

MakeUser = Callable[..., Awaitable[TestUser]]
SHARES = "/api/v1/social/shares"
SHARER_IP = "203.0.113.7"


@pytest.fixture
def settings(database_url: str, tmp_path: Any) -> Settings:
    # The test client connects from 127.0.0.1: trusting it as a proxy lets each request
    # name its visitor's address in X-Forwarded-For, as a load balancer does.
    return make_settings(
        database_url,
        tmp_path,
        DRACARYS_TRUSTED_PROXIES="127.0.0.1",
        DRACARYS_PUBLIC_URL="https://dracarys.example",
    )


def headers_of(user: TestUser) -> dict[str, str]:
    return user.headers


def from_ip(ip: str, user: TestUser | None = None) -> dict[str, str]:
    headers = {"X-Forwarded-For": ip}
    return {**user.headers, **headers} if user else headers


async def earn_badge(pool: asyncpg.Pool, user: TestUser, badge: str) -> None:
    """Points' `badge.earned`, handed to social's consumer as the outbox would."""
    event = Event(
        id=uuid.uuid4(),
        topic=BADGE_EARNED_TOPIC,
        payload={"user_id": str(user.id), "badge": badge},
        created_at=(await pool.fetchval("SELECT now()")),
    )
    async with transaction(pool) as conn:
        await record_badges_earned(conn, [event])


async def share(
    client: AppClient, user: TestUser, kind: str, subject_id: str, channel: str = "x"
) -> Any:
    return await client.post(
        SHARES,
        json={"kind": kind, "subject_id": subject_id, "channel": channel},
        headers=from_ip(SHARER_IP, user),
    )


def token_of(view: dict[str, Any]) -> str:
    link: str = view["link"]
    return link.rsplit("/", 1)[1]


async def shared_events(pool: asyncpg.Pool) -> list[Event]:
    rows = await pool.fetch(
        "SELECT id, topic, payload, created_at FROM outbox WHERE topic = 'social.post_shared' "
        "ORDER BY created_at"
    )
    return [Event(**dict(row)) for row in rows]


async def test_a_badge_is_shared_by_its_holder_only_and_again_on_a_channel_gives_the_first_link(
    client: AppClient, pool: asyncpg.Pool, make_user: MakeUser, clock: ManualClock
) -> None:
    holder, other = await make_user(), await make_user()
    await earn_badge(pool, holder, "streak_7_days")

    refused = await share(client, other, "badge", "streak_7_days")
    made = await share(client, holder, "badge", "streak_7_days", "x")
    again = await share(client, holder, "badge", "streak_7_days", "x")
    clock.advance(timedelta(minutes=1))
    on_whatsapp = await share(client, holder, "badge", "streak_7_days", "whatsapp")
    clock.advance(timedelta(minutes=1))
    copied = await share(client, holder, "badge", "streak_7_days", "copy")
    unknown_channel = await share(client, holder, "badge", "streak_7_days", "myspace")

    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "subject_id"
    assert "not earned this badge" in refused.json()["detail"]
    assert made.status_code == 201, made.text
    view = made.json()
    assert view["title"] == "Test Mentee earned a badge"
    assert re.fullmatch(r"https://dracarys\.example/s/[A-Za-z0-9_-]{12}", view["link"])
    assert view["post_url"].startswith("https://x.com/intent/post?")
    assert (view["signed_in_visitors"], view["visitors_needed"], view["qualified"]) == (0, 3, False)
    assert again.status_code == 200
    assert again.json()["link"] == view["link"]
    assert on_whatsapp.status_code == 201
    assert on_whatsapp.json()["link"] != view["link"]
    assert on_whatsapp.json()["post_url"].startswith("https://wa.me/?text=")
    # The same content draws the same card once, whatever the channel.
    assert on_whatsapp.json()["image_url"] == view["image_url"]
    assert copied.json()["post_url"] is None
    assert unknown_channel.status_code == 422
    assert unknown_channel.json()["errors"][0]["field"] == "channel"
    listed = (await client.get(SHARES, headers=holder.headers)).json()
    assert [s["channel"] for s in listed] == ["copy", "whatsapp", "x"]
    assert (await client.get(SHARES, headers=other.headers)).json() == []


async def test_the_card_is_a_1200_by_630_png_cached_for_ever_and_the_link_page_carries_open_graph(
    client: AppClient, pool: asyncpg.Pool, make_user: MakeUser
) -> None:
    holder = await make_user()
    await earn_badge(pool, holder, "first_lesson")
    view = (await share(client, holder, "badge", "first_lesson")).json()
    card_path = view["image_url"].removeprefix("https://dracarys.example")

    card = await client.get(card_path)
    page = await client.get(f"/s/{token_of(view)}", headers={"Accept": "text/html"})
    missing = await client.get("/s/no-such-token", headers={"Accept": "text/html"})
    bad_card = await client.get("/api/v1/social/cards/../../etc/passwd.png")

    assert card.status_code == 200
    assert card.headers["content-type"] == "image/png"
    assert card.headers["cache-control"] == "public, max-age=31536000, immutable"
    image = Image.open(io.BytesIO(card.content))
    assert (image.format, image.size) == ("PNG", (1200, 630))
    assert page.status_code == 200
    html = page.text
    for tag in (
        'property="og:title" content="Test Mentee earned a badge"',
        f'property="og:image" content="{view["image_url"]}"',
        f'property="og:url" content="{view["link"]}"',
        'property="og:image:width" content="1200"',
        'name="twitter:card" content="summary_large_image"',
    ):
        assert tag in html
    assert "First lesson completed" in html  # the description names the badge
    target = "/?utm_source=x&amp;utm_medium=social&amp;utm_campaign=share&amp;utm_content=badge"
    assert f'content="0; url={target}"' in html  # no script: the browser is sent on
    assert missing.status_code == 404
    assert bad_card.status_code == 404


async def test_three_signed_in_visitors_qualify_a_share_not_the_sharer_nor_their_network(
    client: AppClient, pool: asyncpg.Pool, platform: Platform, make_user: MakeUser
) -> None:
    mentor = await make_user(role=Role.MENTOR)
    sharer = await make_user()
    view = (await share(client, sharer, "track_record", str(mentor.id), "linkedin")).json()
    visits = f"{SHARES}/{token_of(view)}/visits"
    a, b, c, d, housemate = [await make_user() for _ in range(5)]

    async def visit(ip: str, user: TestUser | None = None) -> dict[str, Any]:
        response = await client.post(visits, headers=from_ip(ip, user))
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    own = await visit("198.51.100.1", sharer)
    same_network = await visit("203.0.113.99", housemate)  # the sharer's /24
    anonymous = [
        await visit("198.51.100.2"),
        await visit("198.51.100.2"),
        await visit("198.51.100.3"),
    ]
    first = await visit("198.51.100.10", a)
    first_again = await visit("198.51.100.11", a)
    second = await visit("198.51.100.12", b)
    assert await shared_events(pool) == []
    third = await visit("198.51.100.13", c)
    fourth = await visit("198.51.100.14", d)

    target = (
        f"/mentors/{mentor.id}?utm_source=linkedin&utm_medium=social&utm_campaign=share"
        "&utm_content=track_record"
    )
    assert own == {"target_url": target, "counted": False}
    assert same_network["counted"] is False
    assert [v["counted"] for v in anonymous] == [False, False, False]
    assert (first["counted"], first_again["counted"], second["counted"]) == (True, False, True)
    assert (third["counted"], fourth["counted"]) == (True, True)
    [event] = await shared_events(pool)
    assert event.payload == {"user_id": str(sharer.id), "share_id": str(view["id"])}
    [listed] = (await client.get(SHARES, headers=sharer.headers)).json()
    assert listed["signed_in_visitors"] == 5  # a, b, c, d and the housemate
    assert listed["qualifying_visitors"] == 4
    assert listed["anonymous_visitors"] == 2
    assert listed["qualified"] is True
    missing = await client.post(f"{SHARES}/nope/visits")
    assert missing.status_code == 404
    assert missing.json()["errors"][0]["field"] == "token"


async def test_loopback_tells_no_network_apart_so_the_demo_counts_its_visitors(
    client: AppClient, pool: asyncpg.Pool, make_user: MakeUser
) -> None:
    mentor, sharer, visitor = (
        await make_user(role=Role.MENTOR),
        await make_user(),
        await make_user(),
    )
    # No X-Forwarded-For: both requests come from the test client's 127.0.0.1.
    made = await client.post(
        SHARES,
        json={"kind": "track_record", "subject_id": str(mentor.id), "channel": "copy"},
        headers=sharer.headers,
    )
    visited = await client.post(f"{SHARES}/{token_of(made.json())}/visits", headers=visitor.headers)

    assert made.status_code == 201, made.text
    assert visited.json()["counted"] is True


async def test_forty_visitors_at_once_qualify_the_share_once(
    client: AppClient, pool: asyncpg.Pool, platform: Platform, make_user: MakeUser
) -> None:
    sharer = await make_user()
    await earn_badge(pool, sharer, "first_lesson")
    view = (await share(client, sharer, "badge", "first_lesson")).json()
    visitors = [await make_user() for _ in range(40)]

    results = await asyncio.gather(
        *(
            service.record_visit(
                platform, token_of(view), Visit(user_id=v.id, source_ip=f"10.{i}.0.1")
            )
            for i, v in enumerate(visitors)
        )
    )

    assert all(r.counted for r in results)
    assert len(await shared_events(pool)) == 1
    row = await pool.fetchrow(
        "SELECT qualifying_visitors, qualified_at FROM social_shares WHERE id = $1",
        uuid.UUID(view["id"]),
    )
    assert row is not None
    assert row["qualifying_visitors"] == 40
    assert row["qualified_at"] is not None


async def test_points_award_fifty_per_qualified_share_within_the_daily_limit(
    client: AppClient, pool: asyncpg.Pool, platform: Platform, make_user: MakeUser
) -> None:
    sharer = await make_user()
    visitors = [await make_user() for _ in range(3)]
    for badge in ("first_lesson", "first_assessment_passed", "streak_7_days"):
        await earn_badge(pool, sharer, badge)
    views = [
        (await share(client, sharer, "badge", badge, channel)).json()
        for badge in ("first_lesson", "first_assessment_passed", "streak_7_days")
        for channel in ("x", "facebook")
    ]
    for i, view in enumerate(views):
        for j, visitor in enumerate(visitors):
            await service.record_visit(
                platform, token_of(view), Visit(user_id=visitor.id, source_ip=f"10.{i}.{j}.1")
            )

    events = await shared_events(pool)
    async with transaction(pool) as conn:
        await points.apply_events(conn, platform, events)
        await points.apply_events(conn, platform, events)  # a redelivery awards nothing more

    assert len(events) == 6
    awards = await pool.fetch(
        "SELECT delta FROM points_ledger WHERE user_id = $1 AND reason_code = 'social_share'",
        sharer.id,
    )
    # 50 a share, and the rule's daily limit (150) stops the fourth share of the day.
    assert [a["delta"] for a in awards] == [50, 50, 50]


async def test_a_signal_is_shared_once_closed_by_its_mentor_or_a_subscriber_without_its_prices(
    desk: Desk, client: AppClient, pool: asyncpg.Pool, make_user: MakeUser
) -> None:
    await desk.tick()
    mentor = await make_user(role=Role.MENTOR)
    posted = await client.post(
        f"{TRADING_API}/signals",
        json={
            "symbol": "XYZ",
            "side": "buy",
            "rationale": "Breakout.",
            "stop_loss": 95,
            "take_profit": 104.5,
            "size_hint_pct": 10,
        },
        headers=mentor.headers,
    )
    assert posted.status_code == 201, posted.text
    signal_id = posted.json()["id"]
    still_open = await share(client, mentor, "signal", signal_id)
    desk.clock.advance(timedelta(seconds=2))
    await desk.tick()
    await desk.tick()  # the take-profit closes it
    by_mentor = await share(client, mentor, "signal", signal_id)
    follower = await make_user()
    by_free_feed_reader = await share(client, follower, "signal", signal_id)
    priced = await client.put(
        f"{TRADING_API}/feed-plan",
        json={"monthly_price_minor": 50_000, "currency": "USD"},
        headers=mentor.headers,
    )
    assert priced.status_code == 200, priced.text
    outsider = await make_user()
    by_outsider = await share(client, outsider, "signal", signal_id)
    not_a_uuid = await share(client, mentor, "signal", "12")

    assert still_open.status_code == 422
    assert still_open.json()["errors"][0]["field"] == "subject_id"
    assert "closed" in still_open.json()["detail"]
    assert by_mentor.status_code == 201, by_mentor.text
    view = by_mentor.json()
    assert view["title"] == "BUY XYZ by Test Mentor"
    assert by_free_feed_reader.status_code == 201  # a free feed is every member's to read
    assert by_outsider.status_code == 403  # a paid feed's signals are its subscribers'
    assert by_outsider.json()["errors"][0]["field"] == "subject_id"
    page = (await client.get(f"/s/{token_of(view)}", headers={"Accept": "text/html"})).text
    description = re.search(r'property="og:description" content="([^"]*)"', page)
    assert description is not None
    assert description.group(1).startswith("BUY XYZ by Test Mentor: +0.9R, closed ")
    for secret in ("104.5", "Breakout", "95", "100.05"):  # prices and rationale stay private
        assert secret not in description.group(1)
    assert not_a_uuid.status_code == 422


async def test_a_certificate_is_shared_by_its_holder_and_links_to_its_public_page(
    client: AppClient, make_user: MakeUser
) -> None:
    mentor = await make_user(role=Role.MENTOR, kyc_level=2)
    course = await build_course(client, headers_of, mentor)
    holder, other = await make_user(), await make_user()
    assert (await enrol(client, headers_of, holder, course.cohort)).status_code == 201
    passed = await client.post(
        f"/api/v1/assessments/{course.assessment}/attempts",
        json={"answers": RIGHT},
        headers=holder.headers,
    )
    certificate = passed.json()["certificate"]

    by_other = await share(client, other, "certificate", certificate["id"])
    tail = "AA" if not certificate["id"].endswith("AA") else "BB"
    forged = await share(client, holder, "certificate", certificate["id"][:-2] + tail)
    made = await share(client, holder, "certificate", certificate["id"], "linkedin")

    assert by_other.status_code == 403
    assert by_other.json()["errors"][0]["field"] == "subject_id"
    assert forged.status_code == 404
    assert forged.json()["errors"][0]["field"] == "subject_id"
    assert made.status_code == 201, made.text
    view = made.json()
    assert view["title"] == certificate["program_title"]
    visit = await client.post(
        f"{SHARES}/{token_of(view)}/visits", headers=from_ip("198.51.100.9", other)
    )
    assert visit.json()["target_url"] == (
        f"/certificates/{certificate['id']}?utm_source=linkedin&utm_medium=social"
        "&utm_campaign=share&utm_content=certificate"
    )
