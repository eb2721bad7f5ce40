"""Community moderation (issue 21 items 4-5): the automatic screen holds posts that
promise returns or give personal investment advice, swear, link to blocked domains, carry
a newcomer's links, repeat across spaces or come in bursts; members' flags, weighted by
trust level, hide a post; the review queue (staff and moderating members) approves, edits,
deletes, warns and suspends, each audited and told to the author; one appeal per post;
a suspended member cannot post until the suspension ends."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest

from dracarys.clock import ManualClock
from dracarys.community.members.models import REPUTATION_PER_UPVOTE
from dracarys.community.moderation.screening import return_promise
from dracarys.identity import Role
from dracarys.outbox import Event
from dracarys.platform import Platform
from tests.mentorship import conftest as mentorship_fixtures
from tests.notifications.conftest import deliver
from tests.support import AppClient, Auth, TestUser, audit_trail, events_of

auth = mentorship_fixtures.auth
MakeUser = Callable[..., Awaitable[TestUser]]
API = "/api/v1/community"


async def _space_id(client: AppClient, auth: Auth, user: TestUser, slug: str) -> str:
    response = await client.get(f"{API}/spaces/{slug}", headers=auth(user))
    assert response.status_code == 200, response.text
    space_id: str = response.json()["id"]
    return space_id


async def _at_level(
    platform: Platform, client: AppClient, auth: Auth, user: TestUser, level: str
) -> None:
    """The scheduled recomputation is what raises levels; here the member has reached it."""
    assert (await client.get(f"{API}/profile", headers=auth(user))).status_code == 200
    await platform.pool.execute(
        "UPDATE community_profiles SET trust_level = $2 WHERE user_id = $1", user.id, level
    )


async def _post_topic(
    client: AppClient, auth: Auth, user: TestUser, space_id: str, title: str, body: str
) -> dict[str, Any]:
    response = await client.post(
        f"{API}/topics",
        json={"space_id": space_id, "title": title, "body": body},
        headers=auth(user),
    )
    assert response.status_code == 201, response.text
    topic: dict[str, Any] = response.json()
    return topic


async def _listed(client: AppClient, auth: Auth, reader: TestUser, space_id: str) -> list[str]:
    response = await client.get(f"{API}/spaces/{space_id}/topics", headers=auth(reader))
    assert response.status_code == 200, response.text
    return [t["title"] for t in response.json()]


async def _queue(client: AppClient, auth: Auth, moderator: TestUser) -> list[dict[str, Any]]:
    response = await client.get(f"{API}/moderation/queue", headers=auth(moderator))
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()
    return items


THREE_LINKS = (
    "Free course: [one](https://a.example/x), [two](https://b.example/y) and https://c.example/z"
)


async def test_a_new_members_post_with_three_links_is_held_and_a_regulars_is_published(
    client: AppClient, auth: Auth, make_user: MakeUser, platform: Platform
) -> None:
    newcomer, regular, reader = await make_user(), await make_user(), await make_user()
    await _at_level(platform, client, auth, regular, "regular")
    space_id = await _space_id(client, auth, reader, "options")
    held = await _post_topic(client, auth, newcomer, space_id, "Courses I like", THREE_LINKS)
    published = await _post_topic(client, auth, regular, space_id, "Reading list", THREE_LINKS)

    opening = held["posts"][0]
    assert opening["status"] == "held"
    assert "new trust level" in opening["moderation_reason"]
    assert opening["may_appeal"] is True
    assert published["posts"][0]["status"] == "visible"
    assert await _listed(client, auth, reader, space_id) == ["Reading list"]
    hidden = await client.get(f"{API}/topics/{held['topic']['id']}", headers=auth(reader))
    assert hidden.status_code == 404
    # Held posts are neither announced (no reply or mention notices) nor searchable.
    created = await events_of(platform.pool, "community.post_created")
    assert [e["topic_title"] for e in created] == ["Reading list"]
    found = await client.get(f"{API}/search", params={"q": "course"}, headers=auth(reader))
    assert [h["topic_title"] for h in found.json()] == ["Reading list"]
    told = await events_of(platform.pool, "community.post_moderated")
    assert [(e["author_id"], e["action"]) for e in told] == [(str(newcomer.id), "held")]


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ("My system: guaranteed 30% a month, every month.", "guaranteed returns"),
        ("It pays 4% per week like clockwork.", "fixed rate of return"),
        ("Buy XYZ now before it moons!", "personal investment advice"),
        ("This setup can't lose, trust me.", "cannot lose"),
        ("Double your money with my method.", "multiply your money"),
    ],
)
def test_promises_of_returns_and_calls_to_trade_are_recognised(body: str, why: str) -> None:
    reason = return_promise(body)
    assert reason is not None
    assert why in reason.text
    assert reason.text_sw.startswith("Limesimamishwa ili likaguliwe: ")


@pytest.mark.parametrize(
    "body",
    [
        "Guaranteed stops cost a premium at some brokers.",
        "I lost 30% last year and learned to size down.",
        "Should I buy puts or sell calls into earnings?",
        "Risk management means you can lose, so size small.",
    ],
)
def test_ordinary_trading_talk_is_not_taken_for_a_promise(body: str) -> None:
    assert return_promise(body) is None


async def test_guaranteed_returns_are_held_with_the_reason_and_the_author_is_told_it(
    client: AppClient, auth: Auth, make_user: MakeUser, platform: Platform
) -> None:
    author, reader = await make_user(), await make_user()
    await _at_level(platform, client, auth, author, "leader")  # trust does not exempt it
    space_id = await _space_id(client, auth, reader, "forex")
    plain = await _post_topic(client, auth, author, space_id, "EURUSD thoughts", "Range day.")
    reply = await client.post(
        f"{API}/topics/{plain['topic']['id']}/posts",
        json={"body": "Join my group: guaranteed returns of 30% a month!"},
        headers=auth(author),
    )
    assert reply.status_code == 201, reply.text
    assert reply.json()["status"] == "held"
    reason = reply.json()["moderation_reason"]
    assert "it promises guaranteed returns" in reason
    assert "\u201cguaranteed returns of 30%\u201d" in reason
    stored = await platform.pool.fetchrow(
        "SELECT status, moderation_reason, in_review FROM community_posts WHERE id = $1",
        uuid.UUID(reply.json()["id"]),
    )
    assert stored is not None
    assert (stored["status"], stored["moderation_reason"], stored["in_review"]) == (
        "held",
        reason,
        True,
    )
    # The topic stays (its opening post is fine); the reader sees only the opening post.
    seen = await client.get(f"{API}/topics/{plain['topic']['id']}", headers=auth(reader))
    assert [p["seq"] for p in seen.json()["posts"]] == [1]
    rows = await platform.pool.fetch(
        "SELECT id, topic, payload, created_at FROM outbox WHERE topic = 'community.post_moderated'"
    )
    await deliver(platform, [Event(id=r["id"], topic=r["topic"], payload=r["payload"],
                                   created_at=r["created_at"]) for r in rows])  # fmt: skip
    notice = await platform.pool.fetchrow(
        "SELECT user_id, kind, title, body FROM notifications WHERE kind = 'community_moderation'"
    )
    assert notice is not None
    assert notice["user_id"] == author.id
    assert "held for review" in notice["title"]
    assert "guaranteed returns" in notice["body"]
    # An author who reads Swahili is told in Swahili: the headline, and the screen's
    # reason (the moderation log keeps the English). Told of the same event afresh.
    await platform.pool.execute(
        """INSERT INTO user_profiles (user_id, language) VALUES ($1, 'sw')
           ON CONFLICT (user_id) DO UPDATE SET language = 'sw'""",
        author.id,
    )
    await deliver(platform, [Event(id=uuid.uuid4(), topic=r["topic"], payload=r["payload"],
                                   created_at=r["created_at"]) for r in rows])  # fmt: skip
    titles = {
        r["title"]: r["body"]
        for r in await platform.pool.fetch(
            "SELECT title, body FROM notifications WHERE kind = 'community_moderation'"
        )
    }
    assert len(titles) == 2
    assert (
        titles["Chapisho lako katika \u201cEURUSD thoughts\u201d limesimamishwa ili likaguliwe"]
        == "Limesimamishwa ili likaguliwe: linaahidi faida iliyohakikishwa "
        "(\u201cguaranteed returns of 30%\u201d). Machapisho hayaruhusiwi kuahidi faida "
        "wala kutoa ushauri binafsi wa uwekezaji; mkaguzi ataamua kama linaweza "
        "kuchapishwa."
    )


async def test_a_published_reply_edited_into_a_promise_of_returns_goes_back_to_review(
    client: AppClient, auth: Auth, make_user: MakeUser, platform: Platform
) -> None:
    """The screen reads edits too: a reply published clean and then edited into
    "guaranteed 30% a month" leaves readers' view for the queue, and its author is told
    why as when a new post is held (in the inbox, in their language)."""
    reviewer = await make_user(role=Role.REVIEWER)
    author, reader = await make_user(), await make_user()
    await _at_level(platform, client, auth, author, "regular")
    space_id = await _space_id(client, auth, reader, "forex")
    topic = await _post_topic(client, auth, reader, space_id, "Carry trades", "Which pairs?")
    topic_id = topic["topic"]["id"]
    reply = await client.post(
        f"{API}/topics/{topic_id}/posts",
        json={"body": "AUDJPY, sized small."},
        headers=auth(author),
    )
    assert reply.status_code == 201, reply.text
    assert reply.json()["status"] == "visible"
    post_id = reply.json()["id"]

    edited = await client.put(
        f"{API}/posts/{post_id}",
        json={"body": "AUDJPY: guaranteed 30% a month, join my group."},
        headers=auth(author),
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["status"] == "held"
    assert "it promises guaranteed returns" in edited.json()["moderation_reason"]
    seen = await client.get(f"{API}/topics/{topic_id}", headers=auth(reader))
    assert [p["seq"] for p in seen.json()["posts"]] == [1]
    assert [q["post_id"] for q in await _queue(client, auth, reviewer)] == [post_id]
    told = await events_of(platform.pool, "community.post_moderated")
    assert [(e["post_id"], e["action"], e["author_id"]) for e in told] == [
        (post_id, "held", str(author.id))
    ]
    assert told[0]["reason_sw"].startswith("Limesimamishwa ili likaguliwe: linaahidi faida")


async def test_strong_language_a_blocked_domain_and_the_same_text_in_two_spaces_are_held(
    client: AppClient, auth: Auth, make_user: MakeUser, platform: Platform
) -> None:
    admin = await make_user(role=Role.ADMIN)
    member, reader = await make_user(), await make_user()
    await _at_level(platform, client, auth, member, "member")
    options = await _space_id(client, auth, reader, "options")
    crypto = await _space_id(client, auth, reader, "crypto")
    blocked = await client.put(
        f"{API}/moderation/blocked-domains/pump-signals.example",
        json={"reason": "Pump-and-dump group"},
        headers=auth(admin),
    )
    assert blocked.status_code == 200, blocked.text
    swearing = await _post_topic(client, auth, member, options, "Bad day", "What a sh1t fill.")
    assert swearing["posts"][0]["status"] == "held"
    link = await _post_topic(
        client, auth, member, options, "Signals", "See https://vip.pump-signals.example/join"
    )
    assert "pump-signals.example" in link["posts"][0]["moderation_reason"]
    first = await _post_topic(client, auth, member, options, "My journal", "Day 12: flat, calm.")
    assert first["posts"][0]["status"] == "visible"
    again = await _post_topic(client, auth, member, crypto, "My journal", "Day 12: flat, calm.")
    assert "another space" in again["posts"][0]["moderation_reason"]
    assert await _listed(client, auth, reader, options) == ["My journal"]


async def test_a_burst_of_posts_is_held_from_the_sixth_in_two_minutes(
    client: AppClient, auth: Auth, make_user: MakeUser, platform: Platform, clock: ManualClock
) -> None:
    """The posting-rate spam sign: five posts in two minutes are published, the sixth
    (more than five) is held with its reason; once the window has passed, posts publish
    again."""
    member, reader = await make_user(), await make_user()
    await _at_level(platform, client, auth, member, "member")  # 60 posts a day
    space_id = await _space_id(client, auth, reader, "forex")
    topic = await _post_topic(client, auth, member, space_id, "Session notes", "Asia open.")

    async def reply(body: str) -> dict[str, Any]:
        response = await client.post(
            f"{API}/topics/{topic['topic']['id']}/posts", json={"body": body}, headers=auth(member)
        )
        assert response.status_code == 201, response.text
        post: dict[str, Any] = response.json()
        return post

    published = [await reply(f"Note {n}: range held.") for n in range(2, 6)]
    assert [p["status"] for p in published] == ["visible"] * 4  # five posts in the window
    # An edit is no new post: it does not count towards the burst.
    edited = await client.put(
        f"{API}/posts/{published[-1]['id']}",
        json={"body": "Note 5: range held, barely."},
        headers=auth(member),
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["status"] == "visible"
    clock.advance(timedelta(seconds=90))
    sixth = await reply("Note 6: London broke the range.")
    assert sixth["status"] == "held"
    assert "more than 5 posts in two minutes" in sixth["moderation_reason"]
    clock.advance(timedelta(minutes=2))
    assert (await reply("Note 7: quiet afternoon."))["status"] == "visible"
    seen = await client.get(f"{API}/topics/{topic['topic']['id']}", headers=auth(reader))
    assert [p["seq"] for p in seen.json()["posts"]] == [1, 2, 3, 4, 5, 7]


async def test_three_flags_from_members_hide_a_post_and_one_from_a_new_member_does_not(
    client: AppClient, auth: Auth, make_user: MakeUser, platform: Platform
) -> None:
    author, newcomer = await make_user(), await make_user()
    members = [await make_user() for _ in range(3)]
    for member in members:
        await _at_level(platform, client, auth, member, "member")
    space_id = await _space_id(client, auth, author, "psychology")
    one = await _post_topic(client, auth, author, space_id, "Tilt stories", "I revenge traded.")
    two = await _post_topic(client, auth, author, space_id, "More stories", "Again, sadly.")

    async def flag(user: TestUser, topic: dict[str, Any]) -> Any:
        return await client.post(
            f"{API}/posts/{topic['posts'][0]['id']}/flag",
            json={"reason": "Off topic"},
            headers=auth(user),
        )

    alone = await flag(newcomer, one)
    assert alone.status_code == 200, alone.text
    assert (alone.json()["weight"], alone.json()["hidden"]) == (1, False)
    assert (await flag(newcomer, one)).status_code == 409  # once per member
    assert (await flag(author, two)).status_code == 422  # never one's own
    # Three members flag the other at once: weights add up exactly, and it is hidden once.
    flagged = await asyncio.gather(*(flag(m, two) for m in members))
    assert all(f.status_code == 200 for f in flagged), [f.text for f in flagged]
    assert sorted(f.json()["flag_weight"] for f in flagged) == [2, 4, 6]
    assert sum(f.json()["hidden"] for f in flagged) == 1
    assert await _listed(client, auth, newcomer, space_id) == ["Tilt stories"]
    told = await events_of(platform.pool, "community.post_moderated")
    assert [e["action"] for e in told] == ["hidden"]


async def test_a_post_approved_after_flags_hid_it_is_not_hidden_again_by_one_new_flag(
    client: AppClient, auth: Auth, make_user: MakeUser, platform: Platform
) -> None:
    """The moderator's approval settles the flags that hid the post: a later flag from a
    member at the new level weighs 1 against the threshold again, as on any post."""
    reviewer = await make_user(role=Role.REVIEWER)
    author, newcomer = await make_user(), await make_user()
    members = [await make_user() for _ in range(3)]
    for member in members:
        await _at_level(platform, client, auth, member, "member")
    space_id = await _space_id(client, auth, author, "options")
    topic = await _post_topic(client, auth, author, space_id, "Iron condors", "Wide wings.")
    post_id = topic["posts"][0]["id"]
    for member in members:
        flagged = await client.post(
            f"{API}/posts/{post_id}/flag", json={"reason": "Off topic"}, headers=auth(member)
        )
        assert flagged.status_code == 200, flagged.text
    assert flagged.json()["hidden"] is True
    approved = await client.post(
        f"{API}/moderation/posts/{post_id}/decision",
        json={"decision": "approve", "reason": "On topic: condors are options."},
        headers=auth(reviewer),
    )
    assert approved.status_code == 200, approved.text
    assert await _listed(client, auth, newcomer, space_id) == ["Iron condors"]

    late = await client.post(
        f"{API}/posts/{post_id}/flag", json={"reason": "Spam"}, headers=auth(newcomer)
    )
    assert late.status_code == 200, late.text
    assert (late.json()["flag_weight"], late.json()["hidden"]) == (1, False)
    assert await _listed(client, auth, newcomer, space_id) == ["Iron condors"]


async def test_a_moderator_approves_a_held_post_which_appears_announced_audited_and_told(
    client: AppClient, auth: Auth, make_user: MakeUser, platform: Platform
) -> None:
    reviewer = await make_user(role=Role.REVIEWER)
    author, reader, plain_member = await make_user(), await make_user(), await make_user()
    space_id = await _space_id(client, auth, reader, "futures")
    held = await _post_topic(client, auth, author, space_id, "ES roll dates", THREE_LINKS)
    post_id = held["posts"][0]["id"]

    refused = await client.get(f"{API}/moderation/queue", headers=auth(plain_member))
    assert refused.status_code == 403
    queue = await _queue(client, auth, reviewer)
    assert [(q["post_id"], q["status"]) for q in queue] == [(post_id, "held")]
    assert "new trust level" in queue[0]["reason"]
    no_reason = await client.post(
        f"{API}/moderation/posts/{post_id}/decision",
        json={"decision": "approve"},
        headers=auth(reviewer),
    )
    assert no_reason.status_code == 422
    approved = await client.post(
        f"{API}/moderation/posts/{post_id}/decision",
        json={"decision": "approve", "reason": "Links are to exchange rule pages."},
        headers=auth(reviewer),
    )
    assert approved.status_code == 200, approved.text
    assert (approved.json()["status"], approved.json()["in_review"]) == ("visible", False)
    assert await _listed(client, auth, reader, space_id) == ["ES roll dates"]
    assert await _queue(client, auth, reviewer) == []
    again = await client.post(
        f"{API}/moderation/posts/{post_id}/decision",
        json={"decision": "approve", "reason": "again"},
        headers=auth(reviewer),
    )
    assert again.status_code == 409
    created = await events_of(platform.pool, "community.post_created")
    assert [e["post_id"] for e in created] == [post_id]  # announced once, on approval
    trail = await audit_trail(platform.pool, "community.post_approved")
    assert [(a, t) for a, t, _ in trail] == [(reviewer.id, f"community_post:{post_id}")]
    told = await events_of(platform.pool, "community.post_moderated")
    assert [(e["action"], e["reason"]) for e in told][-1] == (
        "approved",
        "Links are to exchange rule pages.",
    )


async def test_a_leader_moderates_public_spaces_edits_and_deletes_and_each_is_audited(
    client: AppClient, auth: Auth, make_user: MakeUser, platform: Platform
) -> None:
    leader, author, reader = await make_user(), await make_user(), await make_user()
    await _at_level(platform, client, auth, leader, "leader")
    assert (await client.get(f"{API}/profile", headers=auth(leader))).json()["moderates"] is True
    assert (await client.get(f"{API}/profile", headers=auth(author))).json()["moderates"] is False
    space_id = await _space_id(client, auth, reader, "crypto")
    to_edit = await _post_topic(client, auth, author, space_id, "BTC basis", "Buy BTC now!!")
    to_delete = await _post_topic(client, auth, author, space_id, "Pump group", "Buy DOGE today!")
    edit_id, delete_id = to_edit["posts"][0]["id"], to_delete["posts"][0]["id"]
    assert {q["post_id"] for q in await _queue(client, auth, leader)} == {edit_id, delete_id}
    own = await _post_topic(client, auth, leader, space_id, "My ETH call", "Sell ETH now.")
    refused = await client.post(
        f"{API}/moderation/posts/{own['posts'][0]['id']}/decision",
        json={"decision": "approve", "reason": "mine"},
        headers=auth(leader),
    )
    assert refused.status_code == 403
    no_body = await client.post(
        f"{API}/moderation/posts/{edit_id}/decision",
        json={"decision": "edit", "reason": "Advice removed"},
        headers=auth(leader),
    )
    assert no_body.status_code == 422
    assert no_body.json()["errors"][0]["field"] == "body"
    edited = await client.post(
        f"{API}/moderation/posts/{edit_id}/decision",
        json={
            "decision": "edit",
            "reason": "Personal advice removed.",
            "body": "The BTC basis is wide this week.",
        },
        headers=auth(leader),
    )
    assert edited.status_code == 200, edited.text
    deleted = await client.post(
        f"{API}/moderation/posts/{delete_id}/decision",
        json={"decision": "delete", "reason": "Pump promotion."},
        headers=auth(leader),
    )
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["status"] == "removed"
    topic = await client.get(f"{API}/topics/{to_edit['topic']['id']}", headers=auth(reader))
    assert "basis is wide" in topic.json()["posts"][0]["html"]
    assert await _listed(client, auth, reader, space_id) == ["BTC basis"]
    assert [a for a, _, _ in await audit_trail(platform.pool, "community.post_edited")] == [
        leader.id
    ]
    assert [a for a, _, _ in await audit_trail(platform.pool, "community.post_deleted")] == [
        leader.id
    ]


async def test_the_author_appeals_once_and_the_post_goes_back_to_the_queue(
    client: AppClient, auth: Auth, make_user: MakeUser, platform: Platform
) -> None:
    admin, author = await make_user(role=Role.ADMIN), await make_user()
    space_id = await _space_id(client, auth, author, "options")
    topic = await _post_topic(
        client, auth, author, space_id, "Wheel strategy", "It can't lose, ever."
    )
    post_id = topic["posts"][0]["id"]
    deleted = await client.post(
        f"{API}/moderation/posts/{post_id}/decision",
        json={"decision": "delete", "reason": "Promises a trade cannot lose."},
        headers=auth(admin),
    )
    assert deleted.status_code == 200, deleted.text
    assert await _queue(client, auth, admin) == []
    other = await make_user()
    assert (
        await client.post(
            f"{API}/posts/{post_id}/appeal", json={"text": "not mine"}, headers=auth(other)
        )
    ).status_code == 404
    appealed = await client.post(
        f"{API}/posts/{post_id}/appeal",
        json={"text": "I meant the strategy has defined risk; I will reword it."},
        headers=auth(author),
    )
    assert appealed.status_code == 201, appealed.text
    queue = await _queue(client, auth, admin)
    assert [(q["post_id"], q["status"], q["appeal"][:13]) for q in queue] == [
        (post_id, "removed", "I meant the s")
    ]
    twice = await client.post(
        f"{API}/posts/{post_id}/appeal", json={"text": "please"}, headers=auth(author)
    )
    assert twice.status_code == 409
    mine = await client.get(f"{API}/topics/{topic['topic']['id']}", headers=auth(author))
    assert mine.json()["posts"][0]["may_appeal"] is False


async def test_a_suspended_member_cannot_post_until_the_suspension_ends(
    client: AppClient, auth: Auth, make_user: MakeUser, platform: Platform, clock: ManualClock
) -> None:
    reviewer, author = await make_user(role=Role.REVIEWER), await make_user()
    space_id = await _space_id(client, auth, author, "crypto")
    topic = await _post_topic(client, auth, author, space_id, "Moon shot", "Guaranteed 50% gains.")
    post_id = topic["posts"][0]["id"]
    no_days = await client.post(
        f"{API}/moderation/posts/{post_id}/decision",
        json={"decision": "suspend", "reason": "Repeated promises"},
        headers=auth(reviewer),
    )
    assert no_days.status_code == 422
    assert no_days.json()["errors"][0]["field"] == "days"
    suspended = await client.post(
        f"{API}/moderation/posts/{post_id}/decision",
        json={"decision": "suspend", "reason": "Repeated promises of returns.", "days": 3},
        headers=auth(reviewer),
    )
    assert suspended.status_code == 200, suspended.text
    assert suspended.json()["in_review"] is True  # the post still waits for its decision
    warn = await client.post(
        f"{API}/moderation/posts/{post_id}/decision",
        json={"decision": "warn", "reason": "Read the guidelines."},
        headers=auth(reviewer),
    )
    assert warn.status_code == 200, warn.text

    async def try_post() -> Any:
        return await client.post(
            f"{API}/topics",
            json={"space_id": space_id, "title": "Back again", "body": "Hello."},
            headers=auth(author),
        )

    clock.advance(timedelta(days=2, hours=23))
    refused = await try_post()
    assert refused.status_code == 403
    assert "suspended from posting until" in refused.json()["detail"]
    assert "Repeated promises of returns." in refused.json()["detail"]
    # Nor reply elsewhere, nor edit a post into something else meanwhile.
    other = await _post_topic(
        client, auth, await make_user(), space_id, "Another thread", "Anyone trading BTC?"
    )
    replied = await client.post(
        f"{API}/topics/{other['topic']['id']}/posts", json={"body": "Me."}, headers=auth(author)
    )
    assert replied.status_code == 403
    assert "suspended from posting until" in replied.json()["detail"]
    edited = await client.put(
        f"{API}/posts/{post_id}", json={"body": "Reworded."}, headers=auth(author)
    )
    assert edited.status_code == 403
    clock.advance(timedelta(hours=1, minutes=1))
    assert (await try_post()).status_code == 201
    trail = await audit_trail(platform.pool, "community.member_suspended")
    assert [(a, d["author_id"]) for a, _, d in trail] == [(reviewer.id, str(author.id))]
    assert [a for a, _, _ in await audit_trail(platform.pool, "community.member_warned")] == [
        reviewer.id
    ]


async def test_staff_keep_the_blocklist_each_change_audited_and_members_may_not(
    client: AppClient, auth: Auth, make_user: MakeUser, platform: Platform
) -> None:
    admin, member = await make_user(role=Role.ADMIN), await make_user()
    url = f"{API}/moderation/blocked-domains"
    assert (
        await client.put(f"{url}/spam.example", json={"reason": "x"}, headers=auth(member))
    ).status_code == 403
    bad = await client.put(f"{url}/not a domain", json={"reason": "x"}, headers=auth(admin))
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "domain"
    added = await client.put(
        f"{url}/WWW.Spam.Example", json={"reason": "Phishing"}, headers=auth(admin)
    )
    assert added.status_code == 200, added.text
    assert added.json()["domain"] == "spam.example"
    listed = await client.get(url, headers=auth(admin))
    assert [d["domain"] for d in listed.json()] == ["spam.example"]
    gone = await client.delete(f"{url}/spam.example", headers=auth(admin))
    assert gone.status_code == 204
    assert (await client.delete(f"{url}/spam.example", headers=auth(admin))).status_code == 404
    assert [(a, t) for a, t, _ in await audit_trail(platform.pool, "community.domain_blocked")] == [
        (admin.id, "domain:spam.example")
    ]
    assert [a for a, _, _ in await audit_trail(platform.pool, "community.domain_unblocked")] == [
        admin.id
    ]


async def test_deleting_an_accepted_answer_unsolves_the_question_and_takes_back_its_reputation(
    client: AppClient, auth: Auth, make_user: MakeUser, platform: Platform
) -> None:
    """A question whose accepted answer a moderator deleted is no longer shown (nor found)
    as solved, and the answer's author loses the 15 it earned; the asker may accept
    another."""
    reviewer = await make_user(role=Role.REVIEWER)
    asker, answerer = await make_user(), await make_user()
    flaggers = [await make_user() for _ in range(3)]
    for flagger in flaggers:
        await _at_level(platform, client, auth, flagger, "member")
    space_id = await _space_id(client, auth, asker, "crypto")
    made = await client.post(
        f"{API}/topics",
        json={"space_id": space_id, "title": "Staking yields?", "body": "Worth it?",
              "kind": "question"},
        headers=auth(asker),
    )  # fmt: skip
    assert made.status_code == 201, made.text
    topic_id = made.json()["topic"]["id"]
    answer = await client.post(
        f"{API}/topics/{topic_id}/posts",
        json={"body": "Yes, lock it all up."},
        headers=auth(answerer),
    )
    answer_id = answer.json()["id"]
    accepted = await client.post(f"{API}/topics/{topic_id}/accept/{answer_id}", headers=auth(asker))
    assert accepted.status_code == 200, accepted.text
    assert (await client.get(f"{API}/profile", headers=auth(answerer))).json()["reputation"] == 15
    for flagger in flaggers:
        flagged = await client.post(
            f"{API}/posts/{answer_id}/flag", json={"reason": "Bad advice"}, headers=auth(flagger)
        )
        assert flagged.status_code == 200, flagged.text
    deleted = await client.post(
        f"{API}/moderation/posts/{answer_id}/decision",
        json={"decision": "delete", "reason": "Reckless advice."},
        headers=auth(reviewer),
    )
    assert deleted.status_code == 200, deleted.text

    view = (await client.get(f"{API}/topics/{topic_id}", headers=auth(asker))).json()
    assert view["topic"]["solved"] is False
    solved = await client.get(
        f"{API}/search", params={"q": "staking", "solved": "true"}, headers=auth(asker)
    )
    assert solved.json() == []
    assert (await client.get(f"{API}/profile", headers=auth(answerer))).json()["reputation"] == 0


async def test_nobody_reacts_to_a_held_or_deleted_post_reached_by_its_id(
    client: AppClient, auth: Auth, make_user: MakeUser, platform: Platform
) -> None:
    """Reacting follows the rule of reading a post: a held or deleted reply is out of
    reach by its id for other members; its author, who still reads it with the reason,
    cannot react to it either. Nothing is recorded."""
    reviewer = await make_user(role=Role.REVIEWER)
    author, newcomer, reader = await make_user(), await make_user(), await make_user()
    space_id = await _space_id(client, auth, author, "options")
    topic = await _post_topic(client, auth, author, space_id, "Iron condors", "Wide wings.")
    held = await client.post(
        f"{API}/topics/{topic['topic']['id']}/posts",
        json={"body": THREE_LINKS},
        headers=auth(newcomer),
    )
    assert held.status_code == 201, held.text
    assert held.json()["status"] == "held"
    held_id = held.json()["id"]

    async def react(user: TestUser, post_id: str) -> Any:
        return await client.put(f"{API}/posts/{post_id}/reactions/like", headers=auth(user))

    for user, status in ((reader, 404), (newcomer, 403)):
        refused = await react(user, held_id)
        assert refused.status_code == status, refused.text
        assert refused.json()["errors"][0]["field"] == "post_id"
    deleted = await client.post(
        f"{API}/moderation/posts/{held_id}/decision",
        json={"decision": "delete", "reason": "Link farm."},
        headers=auth(reviewer),
    )
    assert deleted.status_code == 200, deleted.text
    gone = await react(reader, held_id)
    assert gone.status_code == 404, gone.text
    assert gone.json()["errors"][0]["field"] == "post_id"
    reactions = await platform.pool.fetchval(
        "SELECT count(*) FROM community_reactions WHERE post_id = $1", uuid.UUID(held_id)
    )
    assert reactions == 0
    shown = await react(reader, topic["posts"][0]["id"])
    assert shown.status_code == 200, shown.text
    assert shown.json()["reactions"] == {"like": 1}


async def test_deleting_a_post_takes_back_the_reputation_its_votes_gave(
    client: AppClient, auth: Auth, make_user: MakeUser, platform: Platform
) -> None:
    """Votes on a post a moderator deleted no longer count towards its author's
    reputation (as a deleted accepted answer's 15 does not); the author's other posts'
    votes still do."""
    reviewer = await make_user(role=Role.REVIEWER)
    author, kept_voter = await make_user(), await make_user()
    voters = [await make_user() for _ in range(3)]
    for voter in voters:
        await _at_level(platform, client, auth, voter, "member")
    space_id = await _space_id(client, auth, author, "futures")
    doomed = await _post_topic(client, auth, author, space_id, "Rollover dates", "Roll early.")
    kept = await _post_topic(client, auth, author, space_id, "Margin calls", "Keep a buffer.")
    doomed_id, kept_id = doomed["posts"][0]["id"], kept["posts"][0]["id"]
    for voter in voters:
        voted = await client.put(
            f"{API}/posts/{doomed_id}/vote", json={"value": 1}, headers=auth(voter)
        )
        assert voted.status_code == 200, voted.text
    voted = await client.put(
        f"{API}/posts/{kept_id}/vote", json={"value": 1}, headers=auth(kept_voter)
    )
    assert voted.status_code == 200, voted.text

    async def reputation() -> int:
        profile = await client.get(f"{API}/profile", headers=auth(author))
        value: int = profile.json()["reputation"]
        return value

    assert await reputation() == 4 * REPUTATION_PER_UPVOTE
    for voter in voters:
        flagged = await client.post(
            f"{API}/posts/{doomed_id}/flag", json={"reason": "Spam"}, headers=auth(voter)
        )
        assert flagged.status_code == 200, flagged.text
    assert flagged.json()["hidden"] is True
    deleted = await client.post(
        f"{API}/moderation/posts/{doomed_id}/decision",
        json={"decision": "delete", "reason": "Copied from a paid course."},
        headers=auth(reviewer),
    )
    assert deleted.status_code == 200, deleted.text
    assert await reputation() == REPUTATION_PER_UPVOTE
