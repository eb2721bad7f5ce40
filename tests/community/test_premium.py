"""Premium spaces (issue 21 item 1): a mentor prices a group by the month; the checkout
quotes joining it; paying moves the period's price from the wallet into escrow (released
to the mentor when the period ends) and opens the group (topics, posting, the
`community:` channel); buying again adds the next period after it; a retry with the same
key pays once; when the paid time runs out the scheduled job renews it from the wallet,
or closes the group when the member stopped renewing or the wallet cannot pay."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from dracarys.app import platform_channel_policies
from dracarys.clock import ManualClock
from dracarys.community import renew_premium_memberships, space_watchers
from dracarys.identity import CurrentUser, Role
from dracarys.platform import Platform
from dracarys.realtime import ChannelAccess, ChannelPolicies
from dracarys.wallet import release_due_escrows
from streams.channels import parse_channel
from tests.mentorship import conftest as mentorship_fixtures
from tests.support import AppClient, Auth, TestUser

auth = mentorship_fixtures.auth
MakeUser = Callable[..., Awaitable[TestUser]]
FundWallet = Callable[[uuid.UUID, str, int], Awaitable[None]]
API = "/api/v1/community"


async def _premium_group(client: AppClient, auth: Auth, mentor: TestUser) -> dict[str, Any]:
    made = await client.post(
        f"{API}/groups",
        json={"slug": "vip-desk", "title": "VIP desk", "visibility": "public"},
        headers=auth(mentor),
    )
    assert made.status_code == 201, made.text
    group: dict[str, Any] = made.json()
    priced = await client.put(
        f"{API}/groups/{group['id']}/premium",
        json={"monthly_price_minor": 2_000, "currency": "USD"},
        headers=auth(mentor),
    )
    assert priced.status_code == 200, priced.text
    return group


async def _balance(platform: Platform, user: TestUser) -> int:
    rows = await platform.pool.fetch(
        "SELECT coalesce(sum(amount_minor), 0) AS held FROM escrows WHERE payer_id = $1",
        user.id,
    )
    return int(rows[0]["held"])


async def test_a_premium_space_opens_after_payment_and_closes_when_the_period_lapses(
    client: AppClient,
    auth: Auth,
    make_user: MakeUser,
    platform: Platform,
    clock: ManualClock,
    fund_wallet: FundWallet,
) -> None:
    mentor = await make_user(role=Role.MENTOR)
    buyer, other = await make_user(), await make_user()
    group = await _premium_group(client, auth, mentor)
    space_id = group["id"]
    topics_url = f"{API}/spaces/{space_id}/topics"

    # Seen (what it offers), not read, not joined for free, not watched.
    seen = await client.get(f"{API}/spaces/vip-desk", headers=auth(buyer))
    assert seen.status_code == 200, seen.text
    assert (seen.json()["premium"], seen.json()["monthly_price_minor"]) == (True, 2_000)
    assert seen.json()["may_join"] is True
    closed = await client.get(topics_url, headers=auth(buyer))
    assert closed.status_code == 403
    assert "premium" in closed.json()["detail"]
    free = await client.post(f"{API}/groups/{space_id}/join", headers=auth(buyer))
    assert free.status_code == 409
    async with platform.pool.acquire() as conn:
        assert await space_watchers(
            conn, [buyer.id, mentor.id], uuid.UUID(space_id), clock.now()
        ) == {mentor.id}

    quote = await client.post(
        "/api/v1/checkout/quote",
        json={"kind": "community_space", "id": space_id},
        headers=auth(buyer),
    )
    assert quote.status_code == 200, quote.text
    assert (quote.json()["total_minor"], quote.json()["currency"]) == (2_000, "USD")
    assert quote.json()["shortfall_minor"] == 2_000
    broke = await client.post(
        f"{API}/groups/{space_id}/periods",
        json={},
        headers={**auth(buyer), "Idempotency-Key": "first-try"},
    )
    assert broke.status_code == 409, broke.text
    assert (await client.get(topics_url, headers=auth(buyer))).status_code == 403

    # Enough for one period, not two: at the period's end the renewal cannot pay.
    await fund_wallet(buyer.id, "USD", 3_000)
    # Two retries of one purchase at once: one period, one escrow.
    paid = await asyncio.gather(
        *(
            client.post(
                f"{API}/groups/{space_id}/periods",
                json={},
                headers={**auth(buyer), "Idempotency-Key": "month-one-key"},
            )
            for _ in range(2)
        )
    )
    assert [p.status_code for p in paid] == [201, 201], [p.text for p in paid]
    assert paid[0].json() == paid[1].json()
    first_until = paid[0].json()["paid_until"]
    assert await _balance(platform, buyer) == 2_000
    assert (await client.get(topics_url, headers=auth(buyer))).status_code == 200
    posted = await client.post(
        f"{API}/topics",
        json={"space_id": space_id, "title": "Paid member hello", "body": "Glad to be in."},
        headers=auth(buyer),
    )
    assert posted.status_code == 201, posted.text
    assert (await client.get(topics_url, headers=auth(other))).status_code == 403
    async with platform.pool.acquire() as conn:
        assert await space_watchers(
            conn, [buyer.id, other.id], uuid.UUID(space_id), clock.now()
        ) == {buyer.id}

    # Inside the period the job changes nothing; at its end the wallet cannot renew it.
    clock.advance(timedelta(days=29))
    assert await renew_premium_memberships(platform) == 0
    assert await release_due_escrows(platform) == 0  # the mentor is paid when it ends
    assert (await client.get(topics_url, headers=auth(buyer))).status_code == 200
    clock.advance(timedelta(days=1, minutes=1))
    assert await renew_premium_memberships(platform) == 0
    assert await _balance(platform, buyer) == 2_000  # the refused renewal left nothing
    assert await release_due_escrows(platform) == 1
    released = await platform.pool.fetchrow(
        "SELECT status, mentor_id FROM escrows WHERE payer_id = $1", buyer.id
    )
    assert released is not None
    assert (released["status"], released["mentor_id"]) == ("released", mentor.id)
    lapsed = await client.get(topics_url, headers=auth(buyer))
    assert lapsed.status_code == 403
    async with platform.pool.acquire() as conn:
        assert await space_watchers(conn, [buyer.id], uuid.UUID(space_id), clock.now()) == set()
    page = await client.get(f"{API}/spaces/vip-desk", headers=auth(buyer))
    assert page.json()["paid_until"] == first_until
    assert page.json()["may_join"] is True


async def test_buying_again_before_the_period_ends_adds_the_next_period_after_it(
    client: AppClient,
    auth: Auth,
    make_user: MakeUser,
    platform: Platform,
    fund_wallet: FundWallet,
) -> None:
    mentor, buyer = await make_user(role=Role.MENTOR), await make_user()
    group = await _premium_group(client, auth, mentor)
    await fund_wallet(buyer.id, "USD", 10_000)

    async def buy(key: str) -> Any:
        return await client.post(
            f"{API}/groups/{group['id']}/periods",
            json={},
            headers={**auth(buyer), "Idempotency-Key": key},
        )

    one, two = await buy("period-aaa"), await buy("period-bbb")
    assert one.status_code == two.status_code == 201, (one.text, two.text)
    gap = datetime.fromisoformat(two.json()["paid_until"]) - datetime.fromisoformat(
        one.json()["paid_until"]
    )
    assert gap == timedelta(days=30)
    assert await _balance(platform, buyer) == 4_000
    own = await client.post(
        f"{API}/groups/{group['id']}/periods",
        json={},
        headers={**auth(mentor), "Idempotency-Key": "own-period"},
    )
    assert own.status_code == 422
    not_mine = await client.put(
        f"{API}/groups/{group['id']}/premium",
        json={"monthly_price_minor": 1},
        headers=auth(buyer),
    )
    assert not_mine.status_code == 403


async def test_the_period_renews_from_the_wallet_until_the_member_stops_renewing(
    client: AppClient,
    auth: Auth,
    make_user: MakeUser,
    platform: Platform,
    clock: ManualClock,
    fund_wallet: FundWallet,
) -> None:
    mentor, buyer = await make_user(role=Role.MENTOR), await make_user()
    group = await _premium_group(client, auth, mentor)
    topics_url = f"{API}/spaces/{group['id']}/topics"
    await fund_wallet(buyer.id, "USD", 10_000)
    paid = await client.post(
        f"{API}/groups/{group['id']}/periods",
        json={},
        headers={**auth(buyer), "Idempotency-Key": "first-month"},
    )
    assert paid.status_code == 201, paid.text
    clock.advance(timedelta(days=30, minutes=1))
    assert await renew_premium_memberships(platform) == 1
    assert await renew_premium_memberships(platform) == 0  # a re-run pays nothing twice
    assert await _balance(platform, buyer) == 4_000
    assert (await client.get(topics_url, headers=auth(buyer))).status_code == 200
    page = await client.get(f"{API}/spaces/vip-desk", headers=auth(buyer))
    assert page.json()["paid_until"] == (clock.now() + timedelta(days=30)).isoformat().replace(
        "+00:00", "Z"
    )
    assert page.json()["renews"] is True
    stopped = await client.delete(f"{API}/groups/{group['id']}/renewal", headers=auth(buyer))
    assert stopped.status_code == 204
    # The page says so (its "Stop renewing" / "Renew each month" button reads it).
    page = await client.get(f"{API}/spaces/vip-desk", headers=auth(buyer))
    assert page.json()["renews"] is False
    assert (await client.get(f"{API}/spaces/vip-desk", headers=auth(mentor))).json()[
        "renews"
    ] is False  # the host pays nothing
    clock.advance(timedelta(days=29))
    assert (await client.get(topics_url, headers=auth(buyer))).status_code == 200
    clock.advance(timedelta(days=1, minutes=1))
    assert await renew_premium_memberships(platform) == 0
    assert await _balance(platform, buyer) == 4_000
    assert (await client.get(topics_url, headers=auth(buyer))).status_code == 403
    gone = await client.delete(f"{API}/groups/{group['id']}/renewal", headers=auth(buyer))
    assert gone.status_code == 404


async def test_a_leader_who_has_not_paid_neither_sees_nor_decides_a_premium_groups_posts(
    client: AppClient,
    auth: Auth,
    make_user: MakeUser,
    platform: Platform,
    fund_wallet: FundWallet,
) -> None:
    """Members at the leader level moderate the spaces open to everyone; a premium group's
    posts are for those who paid, so its queue is staff's (and the post's text is not
    shown to a leader who has not paid through the queue)."""
    mentor, buyer, leader = (
        await make_user(role=Role.MENTOR), await make_user(), await make_user()
    )  # fmt: skip
    group = await _premium_group(client, auth, mentor)
    await fund_wallet(buyer.id, "USD", 2_000)
    paid = await client.post(
        f"{API}/groups/{group['id']}/periods",
        json={},
        headers={**auth(buyer), "Idempotency-Key": "leader-test"},
    )
    assert paid.status_code == 201, paid.text
    held = await client.post(
        f"{API}/topics",
        json={"space_id": group["id"], "title": "Members-only call", "body": "Buy TSLA now."},
        headers=auth(buyer),
    )
    assert held.status_code == 201, held.text
    post_id = held.json()["posts"][0]["id"]
    assert held.json()["posts"][0]["status"] == "held"
    assert (await client.get(f"{API}/profile", headers=auth(leader))).status_code == 200
    await platform.pool.execute(
        "UPDATE community_profiles SET trust_level = 'leader' WHERE user_id = $1", leader.id
    )
    queue = await client.get(f"{API}/moderation/queue", headers=auth(leader))
    assert queue.status_code == 200, queue.text
    assert post_id not in {q["post_id"] for q in queue.json()}
    decided = await client.post(
        f"{API}/moderation/posts/{post_id}/decision",
        json={"decision": "approve", "reason": "Looks fine to me."},
        headers=auth(leader),
    )
    assert decided.status_code == 404


async def test_a_member_who_renews_keeps_the_group_open_across_the_end_of_the_period(
    client: AppClient,
    auth: Auth,
    make_user: MakeUser,
    platform: Platform,
    clock: ManualClock,
    fund_wallet: FundWallet,
) -> None:
    """The job renews in the last hour of the paid time, from where it ends: no gap at
    the end of the period, and the member pays for exactly 60 days in two periods."""
    mentor, buyer = await make_user(role=Role.MENTOR), await make_user()
    group = await _premium_group(client, auth, mentor)
    topics_url = f"{API}/spaces/{group['id']}/topics"
    await fund_wallet(buyer.id, "USD", 10_000)
    paid = await client.post(
        f"{API}/groups/{group['id']}/periods",
        json={},
        headers={**auth(buyer), "Idempotency-Key": "renews-without-a-gap"},
    )
    assert paid.status_code == 201, paid.text
    first_until = datetime.fromisoformat(paid.json()["paid_until"])
    clock.set(first_until - timedelta(hours=2))
    assert await renew_premium_memberships(platform) == 0  # not yet due
    clock.set(first_until - timedelta(minutes=3))
    assert await renew_premium_memberships(platform) == 1
    assert await renew_premium_memberships(platform) == 0  # a re-run pays nothing twice
    assert await _balance(platform, buyer) == 4_000
    clock.set(first_until + timedelta(seconds=1))
    assert (await client.get(topics_url, headers=auth(buyer))).status_code == 200
    page = await client.get(f"{API}/spaces/vip-desk", headers=auth(buyer))
    assert datetime.fromisoformat(page.json()["paid_until"]) == first_until + timedelta(days=30)


async def test_a_member_who_stopped_renewing_keeps_the_paid_time_to_its_last_second(
    client: AppClient,
    auth: Auth,
    make_user: MakeUser,
    platform: Platform,
    clock: ManualClock,
    fund_wallet: FundWallet,
) -> None:
    """In the last hour the job neither charges nor removes a member who stopped
    renewing; at the end the group closes for them."""
    mentor, buyer = await make_user(role=Role.MENTOR), await make_user()
    group = await _premium_group(client, auth, mentor)
    topics_url = f"{API}/spaces/{group['id']}/topics"
    await fund_wallet(buyer.id, "USD", 10_000)
    paid = await client.post(
        f"{API}/groups/{group['id']}/periods",
        json={},
        headers={**auth(buyer), "Idempotency-Key": "stopped-renewing"},
    )
    assert paid.status_code == 201, paid.text
    first_until = datetime.fromisoformat(paid.json()["paid_until"])
    stopped = await client.delete(f"{API}/groups/{group['id']}/renewal", headers=auth(buyer))
    assert stopped.status_code == 204
    clock.set(first_until - timedelta(minutes=3))
    assert await renew_premium_memberships(platform) == 0
    assert (await client.get(topics_url, headers=auth(buyer))).status_code == 200
    clock.set(first_until + timedelta(minutes=2))
    assert await renew_premium_memberships(platform) == 0
    assert await _balance(platform, buyer) == 2_000  # the first period only
    assert (await client.get(topics_url, headers=auth(buyer))).status_code == 403


async def test_premium_access_ends_the_instant_the_paid_period_does_before_any_job_runs(
    client: AppClient,
    auth: Auth,
    make_user: MakeUser,
    platform: Platform,
    clock: ManualClock,
    fund_wallet: FundWallet,
) -> None:
    """At the period's end the member reads nothing, posts nothing and may not watch the
    channel, with no renewal job having run; the job, when it runs, still charges the
    next period of a member who renews, and access comes back."""
    mentor = await make_user(role=Role.MENTOR)
    buyer = await make_user()
    group = await _premium_group(client, auth, mentor)
    space_id = group["id"]
    topics_url = f"{API}/spaces/{space_id}/topics"
    await fund_wallet(buyer.id, "USD", 5_000)
    paid = await client.post(
        f"{API}/groups/{space_id}/periods",
        json={},
        headers={**auth(buyer), "Idempotency-Key": "lapse-at-once"},
    )
    assert paid.status_code == 201, paid.text
    topic = await client.post(
        f"{API}/topics",
        json={"space_id": space_id, "title": "Before the end", "body": "Still paid."},
        headers=auth(buyer),
    )
    assert topic.status_code == 201, topic.text
    topic_id = topic.json()["topic"]["id"]

    async def verdict() -> str | None:
        access = ChannelAccess(
            platform=platform,
            user=CurrentUser(id=buyer.id, role=buyer.role, session_id=buyer.session_id),
            channel=parse_channel(f"community:{space_id}"),
        )
        return await ChannelPolicies(platform_channel_policies()).authorize(access)

    assert await verdict() is None
    clock.set(datetime.fromisoformat(paid.json()["paid_until"]) + timedelta(seconds=1))
    lapsed = await client.get(topics_url, headers=auth(buyer))
    assert lapsed.status_code == 403
    assert lapsed.json()["errors"][0]["field"] == "space_id"
    opened = await client.get(f"{API}/topics/{topic_id}", headers=auth(buyer))
    assert opened.status_code == 403
    replied = await client.post(
        f"{API}/topics/{topic_id}/posts", json={"body": "One more"}, headers=auth(buyer)
    )
    assert replied.status_code == 403
    assert replied.json()["errors"][0]["field"] == "space_id"
    page = await client.get(f"{API}/spaces/vip-desk", headers=auth(buyer))
    assert page.json()["member"] is False
    async with platform.pool.acquire() as conn:
        assert await space_watchers(conn, [buyer.id], uuid.UUID(space_id), clock.now()) == set()
    assert await verdict() == "this group is visible to its members only"

    assert await renew_premium_memberships(platform) == 1  # renewing: charged as before
    assert (await client.get(topics_url, headers=auth(buyer))).status_code == 200
    assert await verdict() is None
