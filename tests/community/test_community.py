"""Community (issue 21): seeded channels and mentors' groups (a cohort's members join and
leave with the cohort), topics and posts (sanitised Markdown, mentions that notify,
quotes, reactions, edit history, unread positions), Q&A (one vote per member never on
one's own post, under concurrency; one accepted answer; sorting; reputation and trust
levels that gate links and posts a day), full-text search, and posts and votes published
on the space's stream channel once committed."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec

from dracarys.app import platform_channel_policies
from dracarys.community import recompute_trust_levels
from dracarys.community.members.models import TRUST_RULES, TrustLevel, trust_level_for
from dracarys.identity import CurrentUser, Role
from dracarys.outbox import Event
from dracarys.platform import Platform
from dracarys.realtime import ChannelAccess, ChannelPolicies
from streams.channels import parse_channel
from tests.curriculum.conftest import build_course, enrol
from tests.mentorship import conftest as mentorship_fixtures
from tests.notifications.conftest import deliver
from tests.support import AppClient, Auth, TestUser, events_of

auth = mentorship_fixtures.auth
MakeUser = Callable[..., Awaitable[TestUser]]
API = "/api/v1/community"


def _field(response: Any) -> str:
    field: str = response.json()["errors"][0]["field"]
    return field


async def _space(client: AppClient, auth: Auth, user: TestUser, slug: str) -> dict[str, Any]:
    response = await client.get(f"{API}/spaces/{slug}", headers=auth(user))
    assert response.status_code == 200, response.text
    space: dict[str, Any] = response.json()
    return space


async def _topic(
    client: AppClient,
    auth: Auth,
    user: TestUser,
    space_id: str,
    title: str,
    body: str,
    **extra: Any,
) -> dict[str, Any]:
    response = await client.post(
        f"{API}/topics",
        json={"space_id": space_id, "title": title, "body": body, **extra},
        headers=auth(user),
    )
    assert response.status_code == 201, response.text
    topic: dict[str, Any] = response.json()
    return topic


async def _reply(
    client: AppClient, auth: Auth, user: TestUser, topic_id: str, body: str, **extra: Any
) -> dict[str, Any]:
    response = await client.post(
        f"{API}/topics/{topic_id}/posts", json={"body": body, **extra}, headers=auth(user)
    )
    assert response.status_code == 201, response.text
    post: dict[str, Any] = response.json()
    return post


async def _handle(client: AppClient, auth: Auth, user: TestUser, handle: str) -> None:
    response = await client.put(f"{API}/profile", json={"handle": handle}, headers=auth(user))
    assert response.status_code == 200, response.text


async def test_the_six_topic_channels_are_seeded_and_open_to_every_member(
    client: AppClient, auth: Auth, make_user: MakeUser
) -> None:
    member = await make_user()
    response = await client.get(f"{API}/spaces", headers=auth(member))
    assert response.status_code == 200, response.text
    channels = {s["title"] for s in response.json() if s["kind"] == "channel"}
    assert channels == {
        "Options", "Futures", "Forex", "Crypto", "Risk Management", "Psychology"
    }  # fmt: skip
    assert all(s["member"] for s in response.json() if s["kind"] == "channel")


async def test_a_mentor_hosts_a_private_group_adds_members_and_outsiders_see_nothing_of_it(
    client: AppClient, auth: Auth, make_user: MakeUser, platform: Platform
) -> None:
    mentor = await make_user(role=Role.MENTOR)
    member, outsider = await make_user(), await make_user()
    refused = await client.post(
        f"{API}/groups", json={"slug": "my-group", "title": "Mine"}, headers=auth(member)
    )
    assert refused.status_code == 403
    made = await client.post(
        f"{API}/groups",
        json={"slug": "swing-club", "title": "Swing club", "visibility": "private"},
        headers=auth(mentor),
    )
    assert made.status_code == 201, made.text
    group = made.json()
    await _handle(client, auth, member, "swing_member")
    added = await client.post(
        f"{API}/groups/{group['id']}/members", json={"handle": "swing_member"}, headers=auth(mentor)
    )
    assert added.status_code == 200, added.text
    assert [(m["handle"], m["source"]) for m in added.json()][1:] == [("swing_member", "joined")]
    unknown = await client.post(
        f"{API}/groups/{group['id']}/members", json={"handle": "nobody_here"}, headers=auth(mentor)
    )
    assert unknown.status_code == 404
    assert _field(unknown) == "handle"

    await _handle(client, auth, outsider, "outside_person")
    topic = await _topic(
        client,
        auth,
        member,
        group["id"],
        "Holding swings overnight",
        "gapfear @outside_person @swing_member",
    )
    # A mention never reaches someone who may not read the group (nor the author).
    (created,) = await events_of(platform.pool, "community.post_created")
    assert created["mentioned_ids"] == []
    assert "outside_person</span>" not in topic["posts"][0]["html"]
    listed = await client.get(f"{API}/spaces", headers=auth(outsider))
    assert "swing-club" not in {s["slug"] for s in listed.json()}
    hidden = await client.get(f"{API}/topics/{topic['topic']['id']}", headers=auth(outsider))
    assert hidden.status_code == 403
    searched = await client.get(f"{API}/search", params={"q": "gapfear"}, headers=auth(outsider))
    assert searched.json() == []
    found = await client.get(f"{API}/search", params={"q": "gapfear"}, headers=auth(member))
    assert [h["topic_title"] for h in found.json()] == ["Holding swings overnight"]
    posted = await client.post(
        f"{API}/topics",
        json={"space_id": group["id"], "title": "Let me in", "body": "hi"},
        headers=auth(outsider),
    )
    assert posted.status_code == 403
    assert _field(posted) == "space_id"

    # The stream channel follows the same rule, as the stream server asks on subscribe.
    async def verdict(user: TestUser) -> str | None:
        access = ChannelAccess(
            platform=platform,
            user=CurrentUser(id=user.id, role=user.role, session_id=user.session_id),
            channel=parse_channel(f"community:{group['id']}"),
        )
        return await ChannelPolicies(platform_channel_policies()).authorize(access)

    assert await verdict(mentor) is None
    assert await verdict(member) is None
    assert await verdict(outsider) == "this group is visible to its members only"


async def test_a_cohort_group_members_join_and_leave_with_the_cohort(
    client: AppClient, auth: Auth, make_user: MakeUser
) -> None:
    mentor = await make_user(role=Role.MENTOR)
    course = await build_course(client, auth, mentor)
    other_mentor = await make_user(role=Role.MENTOR)
    foreign = await client.post(
        f"{API}/groups",
        json={"slug": "not-mine", "title": "Not mine", "cohort_id": course.cohort},
        headers=auth(other_mentor),
    )
    assert foreign.status_code == 422
    assert _field(foreign) == "cohort_id"
    made = await client.post(
        f"{API}/groups",
        json={"slug": "cohort-one", "title": "Cohort one", "cohort_id": course.cohort},
        headers=auth(mentor),
    )
    assert made.status_code == 201, made.text
    group = made.json()
    student = await make_user()
    assert (await client.get(f"{API}/spaces/cohort-one", headers=auth(student))).status_code == 403

    assert (await enrol(client, auth, student, course.cohort)).status_code in (200, 201)
    members = await client.get(f"{API}/groups/{group['id']}/members", headers=auth(student))
    assert members.status_code == 200, members.text
    assert [(m["user_id"], m["source"]) for m in members.json()] == [
        (str(mentor.id), "mentor"),
        (str(student.id), "cohort"),
    ]
    await _topic(client, auth, student, group["id"], "Week one questions", "Where is the deck?")

    left = await client.post(f"/api/v1/cohorts/{course.cohort}/leave", headers=auth(student))
    assert left.status_code == 200, left.text
    assert (await client.get(f"{API}/spaces/cohort-one", headers=auth(student))).status_code == 403
    members = await client.get(f"{API}/groups/{group['id']}/members", headers=auth(mentor))
    assert [m["source"] for m in members.json()] == ["mentor"]


async def test_posts_are_sanitised_quoted_reacted_to_edited_with_history_and_tracked_unread(
    client: AppClient, auth: Auth, make_user: MakeUser
) -> None:
    author, reader = await make_user(), await make_user()
    space = await _space(client, auth, author, "options")
    opened = await _topic(
        client,
        auth,
        author,
        space["id"],
        "Covered calls in a falling market",
        "**Bold** <script>alert(1)</script> <img src=x onerror=alert(2)>",
        tags=["covered-calls"],
    )
    topic_id = opened["topic"]["id"]
    html = opened["posts"][0]["html"]
    assert "<strong>Bold</strong>" in html
    assert "<script" not in html
    assert "onerror" not in html.replace("onerror=alert", "")
    assert "<img" not in html

    first = opened["posts"][0]
    reply = await _reply(client, auth, reader, topic_id, "Agreed.", quote_post_id=first["id"])
    assert reply["seq"] == 2
    assert reply["quote"]["author_handle"] == first["author_handle"]
    other = await _topic(client, auth, reader, space["id"], "Another topic here", "Elsewhere")
    bad_quote = await _reply(client, auth, reader, other["topic"]["id"], "x", quote_post_id=None)
    assert bad_quote["quote"] is None
    wrong = await client.post(
        f"{API}/topics/{topic_id}/posts",
        json={"body": "quoting elsewhere", "quote_post_id": other["posts"][0]["id"]},
        headers=auth(author),
    )
    assert wrong.status_code == 422
    assert _field(wrong) == "quote_post_id"

    reacted = await client.put(
        f"{API}/posts/{reply['id']}/reactions/insightful", headers=auth(author)
    )
    assert reacted.json()["reactions"] == {"insightful": 1}
    again = await client.put(
        f"{API}/posts/{reply['id']}/reactions/insightful", headers=auth(author)
    )
    assert again.json()["reactions"] == {"insightful": 1}
    undone = await client.delete(
        f"{API}/posts/{reply['id']}/reactions/insightful", headers=auth(author)
    )
    assert undone.json()["reactions"] == {}

    not_mine = await client.put(
        f"{API}/posts/{reply['id']}", json={"body": "mine now"}, headers=auth(author)
    )
    assert not_mine.status_code == 403
    for text in ("Agreed, mostly.", "Agreed, with a hedge."):
        edited = await client.put(
            f"{API}/posts/{reply['id']}", json={"body": text}, headers=auth(reader)
        )
        assert edited.status_code == 200, edited.text
    assert edited.json()["edits"] == 2
    assert "with a hedge" in edited.json()["html"]
    history = await client.get(f"{API}/posts/{reply['id']}/edits", headers=auth(author))
    assert [e["source"] for e in history.json()] == ["Agreed.", "Agreed, mostly."]

    # The author read up to their own post 1; the reader's reply is unread for them.
    listed = await client.get(f"{API}/spaces/{space['id']}/topics", headers=auth(author))
    unread = {t["id"]: t["unread"] for t in listed.json()}
    assert unread[topic_id] == 1
    marked = await client.post(
        f"{API}/topics/{topic_id}/read", json={"seq": 2}, headers=auth(author)
    )
    assert marked.json() == {"last_read_seq": 2}
    back = await client.post(f"{API}/topics/{topic_id}/read", json={"seq": 1}, headers=auth(author))
    assert back.json() == {"last_read_seq": 2}
    listed = await client.get(f"{API}/spaces/{space['id']}/topics", headers=auth(author))
    assert {t["id"]: t["unread"] for t in listed.json()}[topic_id] == 0
    tagged = await client.get(
        f"{API}/spaces/{space['id']}/topics", params={"tag": "covered-calls"}, headers=auth(author)
    )
    assert [t["id"] for t in tagged.json()] == [topic_id]


async def test_mentions_and_replies_notify_through_the_inbox(
    client: AppClient, auth: Auth, make_user: MakeUser, platform: Platform
) -> None:
    asker, helper, watcher = await make_user(), await make_user(), await make_user()
    await _handle(client, auth, watcher, "watcher_one")
    space = await _space(client, auth, asker, "forex")
    topic = await _topic(client, auth, asker, space["id"], "Carry trade in 2026", "Thoughts?")
    await _handle(client, auth, asker, "asker_code")
    reply = await _reply(
        client,
        auth,
        helper,
        topic["topic"]["id"],
        "@watcher_one see this; `@asker_code` is code, @nobody_known is nobody",
    )
    assert '<span class="mention">@watcher_one</span>' in reply["html"]
    assert "<code>@asker_code</code>" in reply["html"]
    assert '<span class="mention">@nobody_known' not in reply["html"]
    rows = await platform.pool.fetch(
        "SELECT id, topic, payload, created_at FROM outbox WHERE topic = 'community.post_created' "
        "ORDER BY created_at"
    )
    events = [
        Event(
            id=r["id"],
            topic=r["topic"],
            payload=r["payload"],
            created_at=r["created_at"],
        )
        for r in rows
    ]
    assert len(events) == 2  # the opening post and the reply
    await deliver(platform, events)
    inbox = await platform.pool.fetch(
        "SELECT user_id, kind, link FROM notifications ORDER BY created_at, kind"
    )
    got = {(r["user_id"], r["kind"]) for r in inbox}
    assert got == {(watcher.id, "community_mention"), (asker.id, "community_reply")}
    assert all(r["link"].startswith(f"/community/t/{topic['topic']['id']}#post-") for r in inbox)


async def test_an_edit_that_adds_a_mention_notifies_only_the_member_newly_mentioned(
    client: AppClient, auth: Auth, make_user: MakeUser, platform: Platform
) -> None:
    asker, helper = await make_user(), await make_user()
    first, second = await make_user(), await make_user()
    await _handle(client, auth, first, "first_called")
    await _handle(client, auth, second, "second_called")
    space = await _space(client, auth, asker, "options")
    topic = await _topic(client, auth, asker, space["id"], "Skew on earnings", "Why?")
    reply = await _reply(client, auth, helper, topic["topic"]["id"], "Ask @first_called.")

    async def edit(body: str) -> None:
        response = await client.put(
            f"{API}/posts/{reply['id']}", json={"body": body}, headers=auth(helper)
        )
        assert response.status_code == 200, response.text

    await edit("Ask @first_called or @second_called.")
    await edit("Ask @second_called or @first_called, both trade it.")  # nobody new
    rows = await platform.pool.fetch(
        "SELECT id, topic, payload, created_at FROM outbox WHERE topic LIKE 'community.post_%' "
        "ORDER BY created_at"
    )
    events = [
        Event(id=r["id"], topic=r["topic"], payload=r["payload"], created_at=r["created_at"])
        for r in rows
    ]
    await deliver(platform, events)
    inbox = await platform.pool.fetch("SELECT user_id, kind, link FROM notifications")
    assert sorted((r["user_id"], r["kind"]) for r in inbox) == sorted(
        [
            (first.id, "community_mention"),  # in the reply as written
            (asker.id, "community_reply"),  # once: the edits are no new reply
            (second.id, "community_mention"),  # added by the first edit
        ]
    )
    assert {r["link"] for r in inbox} == {f"/community/t/{topic['topic']['id']}#post-2"}


async def test_two_hundred_concurrent_votes_on_one_answer_count_exactly_once_each(
    client: AppClient, auth: Auth, make_user: MakeUser
) -> None:
    """200 members vote up one answer at once, each twice (the second a duplicate in
    flight with the first): the score is 200 and there are 200 votes."""
    asker, answerer = await make_user(), await make_user()
    space = await _space(client, auth, asker, "crypto")
    topic = await _topic(
        client, auth, asker, space["id"], "Funding rates explained?", "How?", kind="question"
    )
    answer = await _reply(client, auth, answerer, topic["topic"]["id"], "Perps pay funding.")
    voters = await asyncio.gather(*(make_user() for _ in range(200)))

    async def vote(voter: TestUser) -> int:
        response = await client.put(
            f"{API}/posts/{answer['id']}/vote", json={"value": 1}, headers=auth(voter)
        )
        assert response.status_code == 200, response.text
        return int(response.json()["score"])

    await asyncio.gather(*(vote(v) for v in voters for _ in range(2)))
    view = await client.get(f"{API}/topics/{topic['topic']['id']}", headers=auth(asker))
    scored = {p["id"]: p["score"] for p in view.json()["posts"]}
    assert scored[answer["id"]] == 200
    profile = await client.get(f"{API}/profile", headers=auth(answerer))
    assert profile.json()["reputation"] == 200 * 10


async def test_no_vote_on_ones_own_post_and_only_the_asker_or_mentor_accepts_one_answer(
    client: AppClient, auth: Auth, make_user: MakeUser
) -> None:
    asker, first, second, stranger = [await make_user() for _ in range(4)]
    space = await _space(client, auth, asker, "futures")
    topic = await _topic(
        client, auth, asker, space["id"], "When to roll ES?", "Which week?", kind="question"
    )
    topic_id = topic["topic"]["id"]
    a1 = await _reply(client, auth, first, topic_id, "Roll week.")
    a2 = await _reply(client, auth, second, topic_id, "Eight days before expiry.")
    own = await client.put(f"{API}/posts/{a1['id']}/vote", json={"value": 1}, headers=auth(first))
    assert own.status_code == 403
    assert _field(own) == "post_id"
    down = await client.put(
        f"{API}/posts/{a1['id']}/vote", json={"value": -1}, headers=auth(second)
    )
    assert down.json()["score"] == -1
    up = await client.put(f"{API}/posts/{a1['id']}/vote", json={"value": 1}, headers=auth(second))
    assert up.json()["score"] == 1
    gone = await client.delete(f"{API}/posts/{a1['id']}/vote", headers=auth(second))
    assert gone.json() == {"post_id": a1["id"], "score": 0, "my_vote": 0}
    bad = await client.put(f"{API}/posts/{a1['id']}/vote", json={"value": 2}, headers=auth(second))
    assert bad.status_code == 422

    by_stranger = await client.post(
        f"{API}/topics/{topic_id}/accept/{a1['id']}", headers=auth(stranger)
    )
    assert by_stranger.status_code == 403
    question = topic["posts"][0]["id"]
    opening = await client.post(f"{API}/topics/{topic_id}/accept/{question}", headers=auth(asker))
    assert opening.status_code == 422
    assert _field(opening) == "post_id"
    for answer in (a1, a2):
        accepted = await client.post(
            f"{API}/topics/{topic_id}/accept/{answer['id']}", headers=auth(asker)
        )
        assert accepted.status_code == 200, accepted.text
    view = (await client.get(f"{API}/topics/{topic_id}", headers=auth(stranger))).json()
    assert [p["accepted"] for p in view["posts"]] == [False, False, True]
    assert view["topic"]["solved"] is True
    # An accepted answer is worth 15 to its author (a1's votes came and went: 0).
    assert (await client.get(f"{API}/profile", headers=auth(second))).json()["reputation"] == 15


async def test_an_asker_who_accepts_their_own_answer_earns_no_reputation_for_it(
    client: AppClient, auth: Auth, make_user: MakeUser, platform: Platform
) -> None:
    """As on Stack Overflow: an asker may mark their own answer as the one that solved it,
    but reputation (and so trust, which unlocks moderation) comes from others' judgement;
    otherwise asking and answering oneself would buy 15 a time."""
    asker, helper = await make_user(), await make_user()
    space = await _space(client, auth, asker, "forex")
    topic = await _topic(
        client, auth, asker, space["id"], "Why did my stop slip?", "News spike?", kind="question"
    )
    topic_id = topic["topic"]["id"]
    own = await _reply(client, auth, asker, topic_id, "Found it: the NFP release gapped it.")
    accepted = await client.post(f"{API}/topics/{topic_id}/accept/{own['id']}", headers=auth(asker))
    assert accepted.status_code == 200, accepted.text
    view = (await client.get(f"{API}/topics/{topic_id}", headers=auth(helper))).json()
    assert view["topic"]["solved"] is True
    assert (await client.get(f"{API}/profile", headers=auth(asker))).json()["reputation"] == 0
    assert await recompute_trust_levels(platform) == 0

    # Moved to someone else's answer, it is worth 15 to them as usual.
    answer = await _reply(client, auth, helper, topic_id, "Stops are not guaranteed fills.")
    moved = await client.post(f"{API}/topics/{topic_id}/accept/{answer['id']}", headers=auth(asker))
    assert moved.status_code == 200, moved.text
    assert (await client.get(f"{API}/profile", headers=auth(helper))).json()["reputation"] == 15


async def test_the_groups_mentor_accepts_an_answer_and_another_mentor_may_not(
    client: AppClient, auth: Auth, make_user: MakeUser
) -> None:
    host, other_mentor = await make_user(role=Role.MENTOR), await make_user(role=Role.MENTOR)
    asker, answerer = await make_user(), await make_user()
    made = await client.post(
        f"{API}/groups",
        json={"slug": "theta-desk", "title": "Theta desk", "visibility": "public"},
        headers=auth(host),
    )
    assert made.status_code == 201, made.text
    group = made.json()
    for user in (asker, answerer, other_mentor):
        joined = await client.post(f"{API}/groups/{group['id']}/join", headers=auth(user))
        assert joined.status_code == 200, joined.text
    topic = await _topic(
        client, auth, asker, group["id"], "Which expiry for theta?", "30 or 45 DTE?",
        kind="question",
    )  # fmt: skip
    topic_id = topic["topic"]["id"]
    answer = await _reply(client, auth, answerer, topic_id, "45 DTE, managed at 21.")
    url = f"{API}/topics/{topic_id}/accept/{answer['id']}"
    seen_by = {
        who: (await client.get(f"{API}/topics/{topic_id}", headers=auth(user))).json()
        for who, user in (("host", host), ("other", other_mentor), ("answerer", answerer))
    }
    assert {who: view["may_accept"] for who, view in seen_by.items()} == {
        "host": True, "other": False, "answerer": False
    }  # fmt: skip
    refused = await client.post(url, headers=auth(other_mentor))
    assert refused.status_code == 403
    assert _field(refused) == "topic_id"
    accepted = await client.post(url, headers=auth(host))
    assert accepted.status_code == 200, accepted.text
    view = (await client.get(f"{API}/topics/{topic_id}", headers=auth(asker))).json()
    assert view["topic"]["solved"] is True
    assert [p["accepted"] for p in view["posts"]] == [False, True]


async def test_topics_sort_by_votes_new_and_unanswered(
    client: AppClient, auth: Auth, make_user: MakeUser, clock: Any
) -> None:
    from datetime import timedelta

    author, voter = await make_user(), await make_user()
    space = await _space(client, auth, author, "psychology")
    titles = ["Revenge trading again", "Journaling templates", "Sizing after a loss"]
    made = []
    for title in titles:
        made.append(await _topic(client, auth, author, space["id"], title, "?", kind="question"))
        clock.advance(timedelta(minutes=1))
    await client.put(
        f"{API}/posts/{made[1]['posts'][0]['id']}/vote", json={"value": 1}, headers=auth(voter)
    )
    await _reply(client, auth, voter, made[0]["topic"]["id"], "Step away.")

    async def order(sort: str) -> list[str]:
        response = await client.get(
            f"{API}/spaces/{space['id']}/topics", params={"sort": sort}, headers=auth(author)
        )
        return [t["title"] for t in response.json()]

    assert (await order("votes"))[0] == "Journaling templates"
    assert await order("new") == list(reversed(titles))
    assert await order("unanswered") == ["Journaling templates", "Sizing after a loss"]


async def test_trust_levels_recomputed_on_schedule_gate_posts_per_day_and_hold_newcomers_links(
    client: AppClient, auth: Auth, make_user: MakeUser, platform: Platform
) -> None:
    newcomer = await make_user()
    space = await _space(client, auth, newcomer, "risk-management")
    linked = await client.post(
        f"{API}/topics",
        json={
            "space_id": space["id"],
            "title": "Great sizing tool",
            "body": "[x](https://x.example)",
        },
        headers=auth(newcomer),
    )
    # A newcomer's link is not refused: moderation holds the post for review.
    assert linked.status_code == 201, linked.text
    assert linked.json()["posts"][0]["status"] == "held"
    topic = await _topic(client, auth, newcomer, space["id"], "Kelly sizing basics", "How much?")
    for n in range(8):
        await _reply(client, auth, newcomer, topic["topic"]["id"], f"Note {n}")
    over = await client.post(
        f"{API}/topics/{topic['topic']['id']}/posts",
        json={"body": "one more"},
        headers=auth(newcomer),
    )
    assert over.status_code == 429
    assert "10 posts" in over.json()["detail"]

    # Votes on their posts earn reputation; the scheduled recomputation raises the level.
    voters = [await make_user() for _ in range(2)]
    for voter in voters:
        await client.put(
            f"{API}/posts/{topic['posts'][0]['id']}/vote", json={"value": 1}, headers=auth(voter)
        )
    assert (await client.get(f"{API}/profile", headers=auth(newcomer))).json()[
        "trust_level"
    ] == "new"
    assert await recompute_trust_levels(platform) >= 1
    profile = (await client.get(f"{API}/profile", headers=auth(newcomer))).json()
    assert profile["trust_level"] == "basic"
    assert profile["may_post_links"] is True
    assert profile["posts_per_day"] == 30
    assert await recompute_trust_levels(platform) == 0


def test_each_trust_level_needs_its_reputation_posts_and_active_days_all_at_once() -> None:
    """As Discourse's levels: reputation alone does not lift a member who posts on too few
    days (or too little), and each level from basic to leader is reached at its minimums."""
    reached = {
        level: trust_level_for(rule.min_reputation, rule.min_posts, rule.min_active_days)
        for level, rule in TRUST_RULES.items()
    }
    assert reached == {level: level for level in TrustLevel}
    leader = TRUST_RULES[TrustLevel.LEADER]
    assert trust_level_for(leader.min_reputation, leader.min_posts, 2) is TrustLevel.BASIC
    assert trust_level_for(leader.min_reputation, 9, leader.min_active_days) is TrustLevel.BASIC
    assert trust_level_for(9, leader.min_posts, leader.min_active_days) is TrustLevel.NEW
    assert [TRUST_RULES[level].moderates for level in TrustLevel] == [False] * 4 + [True]


async def test_the_schedule_counts_the_days_a_member_posted_not_only_their_reputation(
    client: AppClient, auth: Auth, make_user: MakeUser, platform: Platform, clock: Any
) -> None:
    """Two members with the same reputation (250) and 30 published posts: the one who
    posted on ten days of the last hundred becomes a regular, the one who posted it all on
    two days stays basic."""
    steady, burst = await make_user(), await make_user()
    space = await _space(client, auth, steady, "psychology")
    voters = await asyncio.gather(*(make_user() for _ in range(25)))
    # The opening post today, 29 more at noon (less a minute each) on `earlier` other days.
    for member, earlier in ((steady, 9), (burst, 1)):
        topic = await _topic(client, auth, member, space["id"], f"Journal {earlier}", "Day 1")
        async with platform.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                """
                INSERT INTO community_posts (id, topic_id, seq, author_id, source, html,
                                             created_at)
                SELECT gen_random_uuid(), $1, n + 1, $2, 'Entry ' || n, '<p>Entry</p>',
                       date_trunc('day', $3::timestamptz AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
                       + interval '12 hours'
                       - make_interval(days => 1 + n % $4, mins => n)
                  FROM generate_series(1, 29) AS n
                """,
                uuid.UUID(topic["topic"]["id"]),
                member.id,
                clock.now(),
                earlier,
            )
            await conn.execute(
                "UPDATE community_topics SET last_seq = 30 WHERE id = $1",
                uuid.UUID(topic["topic"]["id"]),
            )
            await conn.executemany(
                "INSERT INTO community_votes (post_id, voter_id, value, created_at) "
                "VALUES ($1, $2, 1, $3)",
                [(uuid.UUID(topic["posts"][0]["id"]), v.id, clock.now()) for v in voters],
            )
    await recompute_trust_levels(platform)
    levels = {}
    for member in (steady, burst):
        profile = (await client.get(f"{API}/profile", headers=auth(member))).json()
        assert profile["reputation"] == 250
        levels[member.id] = profile["trust_level"]
    assert levels == {steady.id: "regular", burst.id: "basic"}


async def test_search_finds_a_post_by_a_stemmed_word_and_ranks_the_title_match_first(
    client: AppClient, auth: Auth, make_user: MakeUser
) -> None:
    author, other = await make_user(), await make_user()
    await _handle(client, auth, author, "hedge_writer")
    space = await _space(client, auth, author, "options")
    in_body = await _topic(
        client,
        auth,
        author,
        space["id"],
        "Weekly income ideas",
        "I keep hedging my calls.",
        tags=["income"],
    )
    in_title = await _topic(
        client, auth, author, space["id"], "Hedges for short puts", "Protective structures."
    )
    await _topic(client, auth, author, space["id"], "Unrelated topic", "Nothing to see.")
    response = await client.get(f"{API}/search", params={"q": "hedged"}, headers=auth(author))
    assert response.status_code == 200, response.text
    hits = response.json()
    assert [h["topic_id"] for h in hits] == [in_title["topic"]["id"], in_body["topic"]["id"]]
    assert "\u00abhedging\u00bb" in hits[1]["snippet"].lower()
    solved = await client.get(
        f"{API}/search", params={"q": "hedged", "solved": "true"}, headers=auth(author)
    )
    assert solved.json() == []
    by_space = await client.get(
        f"{API}/search", params={"q": "hedged", "space": "forex"}, headers=auth(author)
    )
    assert by_space.json() == []
    by_tag = await client.get(
        f"{API}/search", params={"q": "hedged", "tag": "income"}, headers=auth(author)
    )
    assert [h["topic_id"] for h in by_tag.json()] == [in_body["topic"]["id"]]
    await _reply(client, auth, other, in_title["topic"]["id"], "Hedging costs premium.")
    by_author = await client.get(
        f"{API}/search", params={"q": "hedged", "author": "@hedge_writer"}, headers=auth(other)
    )
    assert len(by_author.json()) == 2
    assert {h["author_handle"] for h in by_author.json()} == {"hedge_writer"}
    everyone = await client.get(f"{API}/search", params={"q": "hedged"}, headers=auth(other))
    assert len(everyone.json()) == 3
    empty = await client.get(f"{API}/search", params={"q": "   "}, headers=auth(other))
    assert empty.status_code == 422
    assert _field(empty) == "q"


async def test_a_new_post_and_a_vote_are_published_on_the_space_channel_and_a_held_post_is_not(
    client: AppClient, auth: Auth, make_user: MakeUser, platform: Platform
) -> None:
    from dracarys.community.topics import service as topics_service
    from dracarys.community.topics.models import PostInput, TopicInput
    from dracarys.community.votes import service as votes_service
    from dracarys.community.votes.models import VoteInput

    author, voter = await make_user(), await make_user()
    space = await _space(client, auth, author, "crypto")

    def current(user: TestUser) -> CurrentUser:
        return CurrentUser(id=user.id, role=user.role, session_id=user.session_id)

    view = await topics_service.create_topic(
        platform,
        current(author),
        TopicInput(space_id=uuid.UUID(space["id"]), title="Live topic here", body="first"),
    )
    await votes_service.vote(platform, current(voter), view.posts[0].id, VoteInput(value=1))
    linked = PostInput(body="[link](https://x.example)")  # a newcomer's link: held
    held = await topics_service.reply(platform, current(voter), view.topic.id, linked)
    assert held.status == "held"
    caught = await platform.streams.catch_up(f"community:{space['id']}", 0)
    frames = [msgspec.json.decode(f)["data"] for _, f in caught.frames]
    assert [(f["type"], f.get("seq"), f.get("score")) for f in frames] == [
        ("community.post", 1, None),
        ("community.vote", None, 1),
    ]


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


async def test_pictures_are_checked_by_their_bytes_gated_by_trust_and_posts_show_no_other(
    client: AppClient, auth: Auth, make_user: MakeUser, platform: Platform
) -> None:
    member = await make_user()

    async def upload(content: bytes, name: str = "chart.png") -> Any:
        return await client.post(
            f"{API}/images", files={"file": (name, content, "image/png")}, headers=auth(member)
        )

    too_new = await upload(PNG)
    assert too_new.status_code == 422
    assert "member trust level" in too_new.json()["detail"]
    # The scheduled recomputation is what raises levels; here the member has reached it.
    assert (await client.get(f"{API}/profile", headers=auth(member))).status_code == 200
    await platform.pool.execute(
        "UPDATE community_profiles SET trust_level = 'member' WHERE user_id = $1", member.id
    )
    text = await upload(b"not a picture at all", "chart.png")
    assert text.status_code == 422
    assert _field(text) == "file"
    svg = await upload(b"<svg xmlns='http://www.w3.org/2000/svg'><script/></svg>", "x.svg")
    assert svg.status_code == 422
    uploaded = await upload(PNG)
    assert uploaded.status_code == 201, uploaded.text
    image = uploaded.json()
    # Below the member level a post may not show a picture either, even one uploaded by
    # someone who may (the post is refused, so the author is told, not silently changed).
    basic = await make_user()
    await client.get(f"{API}/profile", headers=auth(basic))
    await platform.pool.execute(
        "UPDATE community_profiles SET trust_level = 'basic' WHERE user_id = $1", basic.id
    )
    crypto = await _space(client, auth, basic, "crypto")
    pictured = await client.post(
        f"{API}/topics",
        json={"space_id": crypto["id"], "title": "Borrowed chart", "body": image["markdown"]},
        headers=auth(basic),
    )
    assert pictured.status_code == 422, pictured.text
    assert _field(pictured) == "body"
    assert "member trust level" in pictured.json()["detail"]
    served = await client.get(image["url"])  # an <img> sends no token
    assert served.status_code == 200
    assert served.content == PNG
    assert served.headers["content-type"] == "image/png"
    assert served.headers["x-content-type-options"] == "nosniff"

    space = await _space(client, auth, member, "crypto")
    topic = await _topic(
        client,
        auth,
        member,
        space["id"],
        "My BTC chart today",
        f"{image['markdown']} and ![tracker](https://tracker.example/pixel.png)",
    )
    html = topic["posts"][0]["html"]
    assert f'src="{image["url"]}"' in html
    assert "tracker.example" not in html


async def test_the_demo_seeds_an_answered_question_once_however_often_it_runs(
    platform: Platform,
) -> None:
    from dracarys.community import seed_community_demo
    from dracarys.identity import DEMO_MENTEE, seed_identity_demo

    await seed_identity_demo(platform)
    await seed_community_demo(platform)
    await seed_community_demo(platform)
    rows = await platform.pool.fetch(
        "SELECT t.title, t.accepted_post_id IS NOT NULL AS solved, t.last_seq, p.handle "
        "FROM community_topics t JOIN community_profiles p ON p.user_id = t.author_id"
    )
    assert [(r["solved"], r["last_seq"], r["handle"]) for r in rows] == [(True, 2, "amina")]
    votes = await platform.pool.fetchval(
        "SELECT count(*) FROM community_votes WHERE voter_id = $1", DEMO_MENTEE.id
    )
    assert votes == 1


async def test_twenty_concurrent_posts_by_a_new_member_make_exactly_their_ten_a_day(
    client: AppClient, auth: Auth, make_user: MakeUser
) -> None:
    newcomer = await make_user()
    space = await _space(client, auth, newcomer, "futures")
    topic = await _topic(client, auth, newcomer, space["id"], "Margin calls explained", "Go")

    async def post(n: int) -> int:
        response = await client.post(
            f"{API}/topics/{topic['topic']['id']}/posts",
            json={"body": f"Reply {n}"},
            headers=auth(newcomer),
        )
        return response.status_code

    codes = await asyncio.gather(*(post(n) for n in range(20)))
    assert sorted(codes) == [201] * 9 + [429] * 11  # the opening post was the first of ten
    view = await client.get(f"{API}/topics/{topic['topic']['id']}", headers=auth(newcomer))
    assert [p["seq"] for p in view.json()["posts"]] == list(range(1, 11))


async def test_staff_watch_the_channel_of_every_group_they_read_private_and_premium(
    client: AppClient, auth: Auth, make_user: MakeUser, platform: Platform
) -> None:
    """Staff read private and premium groups over the API; the stream channel admits them
    by the same rule (and keeps refusing a plain outsider)."""
    mentor = await make_user(role=Role.MENTOR)
    admin, reviewer, outsider = (
        await make_user(role=Role.ADMIN),
        await make_user(role=Role.REVIEWER),
        await make_user(),
    )
    private = await client.post(
        f"{API}/groups",
        json={"slug": "closed-desk", "title": "Closed desk", "visibility": "private"},
        headers=auth(mentor),
    )
    assert private.status_code == 201, private.text
    premium = await client.post(
        f"{API}/groups",
        json={"slug": "paid-desk", "title": "Paid desk", "visibility": "public"},
        headers=auth(mentor),
    )
    assert premium.status_code == 201, premium.text
    priced = await client.put(
        f"{API}/groups/{premium.json()['id']}/premium",
        json={"monthly_price_minor": 1_500, "currency": "USD"},
        headers=auth(mentor),
    )
    assert priced.status_code == 200, priced.text

    async def verdict(user: TestUser, space_id: str) -> str | None:
        access = ChannelAccess(
            platform=platform,
            user=CurrentUser(id=user.id, role=user.role, session_id=user.session_id),
            channel=parse_channel(f"community:{space_id}"),
        )
        return await ChannelPolicies(platform_channel_policies()).authorize(access)

    for space_id in (private.json()["id"], premium.json()["id"]):
        for staff in (admin, reviewer):
            read = await client.get(f"{API}/spaces/{space_id}/topics", headers=auth(staff))
            assert read.status_code == 200, read.text
            assert await verdict(staff, space_id) is None
        assert await verdict(outsider, space_id) == "this group is visible to its members only"
