"""Community search at scale (issue 21): a query ranks a bounded set of candidates (the
newest `RECENT_MATCHES` text matches and the newest title matches), so these tests put
more than that bound of newer matches in front of the posts they look for: an old title
match still ranks first, a strong recent match inside the bound ranks above newer weaker
ones, and every filter (space, tag, author, solved) narrows before the bound is taken."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from dracarys.clock import ManualClock
from dracarys.community.search.service import RESULTS
from dracarys.community.search.store import RECENT_MATCHES
from dracarys.platform import Platform
from tests.mentorship import conftest as mentorship_fixtures
from tests.support import AppClient, Auth, TestUser

auth = mentorship_fixtures.auth
MakeUser = Callable[..., Awaitable[TestUser]]
API = "/api/v1/community"
NEWER = RECENT_MATCHES + 30


async def _topic(
    client: AppClient, auth: Auth, user: TestUser, slug: str, title: str, body: str, **extra: Any
) -> dict[str, Any]:
    space = await client.get(f"{API}/spaces/{slug}", headers=auth(user))
    response = await client.post(
        f"{API}/topics",
        json={"space_id": space.json()["id"], "title": title, "body": body, **extra},
        headers=auth(user),
    )
    assert response.status_code == 201, response.text
    topic: dict[str, Any] = response.json()
    return topic


async def _newer_replies(
    platform: Platform, clock: ManualClock, topic_id: str, author: TestUser, bodies: list[str]
) -> list[uuid.UUID]:
    """Replies to `topic_id`, one a second after the clock's now, oldest first; written in
    one statement (as the benchmark fills its million) since the posting path allows a new
    member ten posts a day. Their ids, oldest first."""
    ids = [uuid.uuid4() for _ in bodies]
    async with platform.pool.acquire() as conn, conn.transaction():
        last_seq = await conn.fetchval(
            "UPDATE community_topics SET last_seq = last_seq + $2 WHERE id = $1 "
            "RETURNING last_seq - $2",
            uuid.UUID(topic_id),
            len(bodies),
        )
        await conn.execute(
            """
            INSERT INTO community_posts (id, topic_id, seq, author_id, source, html, created_at)
            SELECT id, $1, $2 + n, $3, body, '<p>' || body || '</p>',
                   $4::timestamptz + make_interval(secs => n)
              FROM unnest($5::uuid[], $6::text[]) WITH ORDINALITY AS made (id, body, n)
            """,
            uuid.UUID(topic_id),
            last_seq,
            author.id,
            clock.now(),
            ids,
            bodies,
        )
    clock.advance(timedelta(seconds=len(bodies) + 1))
    return ids


async def _search(client: AppClient, auth: Auth, user: TestUser, **params: str) -> list[Any]:
    response = await client.get(f"{API}/search", params=params, headers=auth(user))
    assert response.status_code == 200, response.text
    hits: list[Any] = response.json()
    return hits


async def test_an_old_title_match_ranks_first_and_a_strong_recent_match_above_newer_ones(
    client: AppClient, auth: Auth, make_user: MakeUser, platform: Platform, clock: ManualClock
) -> None:
    author, chatter, reader = await make_user(), await make_user(), await make_user()
    titled = await _topic(
        client, auth, author, "options", "Hedges for short puts", "Protective structures."
    )
    clock.advance(timedelta(days=400))
    busy = await _topic(client, auth, chatter, "crypto", "Weekly funding notes", "Notes.")
    bodies = ["Still hedging the basis this week."] * NEWER
    # Inside the bound (the 11th newest) but not the newest: the best text match.
    strong = NEWER - 11
    bodies[strong] = "Hedging, hedged, hedges: a zero cost collar on the hedging book."
    replies = await _newer_replies(platform, clock, busy["topic"]["id"], chatter, bodies)

    hits = await _search(client, auth, reader, q="hedged")
    assert len(hits) == RESULTS
    # The title match is older than every text match and more than the bound of them.
    assert (hits[0]["topic_id"], hits[0]["seq"]) == (titled["topic"]["id"], 1)
    assert hits[1]["post_id"] == str(replies[strong])
    assert "\u00abzero\u00bb" not in hits[1]["snippet"]
    assert "\u00abhedging\u00bb" in hits[1]["snippet"].lower()
    # Then the rest by recency (equal rank): the newest replies, none of the oldest.
    assert [h["post_id"] for h in hits[2:5]] == [str(i) for i in replies[::-1][:3]]
    assert str(replies[0]) not in {h["post_id"] for h in hits}
    exact = await _search(client, auth, reader, q='"zero cost collar"')
    assert [h["post_id"] for h in exact] == [str(replies[strong])]
    assert "\u00abzero\u00bb \u00abcost\u00bb \u00abcollar\u00bb" in exact[0]["snippet"].lower()


async def test_every_filter_narrows_before_the_candidate_bound_is_taken(
    client: AppClient, auth: Auth, make_user: MakeUser, platform: Platform, clock: ManualClock
) -> None:
    asker, answerer, chatter, reader = [await make_user() for _ in range(4)]
    handle = await client.put(
        f"{API}/profile", json={"handle": "patient_asker"}, headers=auth(asker)
    )
    assert handle.status_code == 200, handle.text
    old = await _topic(
        client,
        auth,
        asker,
        "options",
        "Covered calls in a range",
        "I keep hedging my calls.",
        kind="question",
        tags=["income"],
    )
    old_id = old["topic"]["id"]
    answer = await client.post(
        f"{API}/topics/{old_id}/posts", json={"body": "Sell further out."}, headers=auth(answerer)
    )
    accepted = await client.post(
        f"{API}/topics/{old_id}/accept/{answer.json()['id']}", headers=auth(asker)
    )
    assert accepted.status_code == 200, accepted.text
    clock.advance(timedelta(days=30))
    busy = await _topic(client, auth, chatter, "crypto", "Weekly funding notes", "Notes.")
    await _newer_replies(
        platform, clock, busy["topic"]["id"], chatter, ["Still hedging the basis."] * NEWER
    )

    # Unfiltered, more than the bound of newer text matches crowd the old post out...
    everyone = await _search(client, auth, reader, q="hedged")
    assert len(everyone) == RESULTS
    assert old_id not in {h["topic_id"] for h in everyone}
    # ...and each filter, applied before the bound, finds it (and only what it allows).
    for params in (
        {"space": "options"},
        {"tag": "income"},
        {"author": "@patient_asker"},
        {"solved": "true"},
    ):
        hits = await _search(client, auth, reader, q="hedged", **params)
        assert [(h["topic_id"], h["seq"]) for h in hits] == [(old_id, 1)], params
    unsolved = await _search(client, auth, reader, q="hedged", solved="false")
    assert len(unsolved) == RESULTS
    assert old_id not in {h["topic_id"] for h in unsolved}
    assert await _search(client, auth, reader, q="hedged", space="forex") == []
