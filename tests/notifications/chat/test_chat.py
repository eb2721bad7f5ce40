"""Chat (issue 20 item 6): who may talk (a cohort links a pair; anyone else asks a mentor,
who accepts or declines), messages numbered per conversation with no gap or double under
concurrent sends and retries, resume by seq, read positions, typing, attachments checked
by their bytes and size, pinned lessons the mentee can open, blocks, reports to the
moderators, rate limits, and search."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import asyncpg
import pytest

from dracarys.clock import ManualClock
from dracarys.identity import Role
from dracarys.notifications import conversation_members
from dracarys.platform import Platform
from dracarys.settings import Settings
from tests.conftest import make_settings
from tests.curriculum.conftest import build_course, enrol
from tests.mentorship import conftest as mentorship_fixtures
from tests.support import AppClient, Auth, TestUser, audit_trail, events_of

auth = mentorship_fixtures.auth
MakeUser = Callable[..., Awaitable[TestUser]]
API = "/api/v1/chat"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
LIMIT = 2048


@pytest.fixture
def settings(database_url: str, tmp_path: Any) -> Settings:
    return make_settings(
        database_url,
        tmp_path,
        DRACARYS_CHAT_ATTACHMENT_MAX_BYTES=str(LIMIT),
        DRACARYS_CHAT_MESSAGES_PER_MINUTE="500",
    )


def _field(response: Any) -> str:
    """The field a problem response names."""
    field: str = response.json()["errors"][0]["field"]
    return field


async def _start(
    client: AppClient, auth: Auth, sender: TestUser, other: TestUser, body: str, key: str = ""
) -> Any:
    return await client.post(
        f"{API}/conversations",
        json={"with_user_id": str(other.id), "body": body},
        headers={**auth(sender), "Idempotency-Key": key or f"start-{uuid.uuid4()}"},
    )


async def _send(
    client: AppClient, auth: Auth, sender: TestUser, conv: str, body: str, key: str = ""
) -> Any:
    return await client.post(
        f"{API}/conversations/{conv}/messages",
        json={"body": body},
        headers={**auth(sender), "Idempotency-Key": key or f"send-{uuid.uuid4()}"},
    )


async def _open_pair(
    client: AppClient, auth: Auth, make_user: MakeUser
) -> tuple[TestUser, TestUser, str]:
    """A mentee's request a mentor accepted: an open conversation."""
    mentor = await make_user(role=Role.MENTOR)
    mentee = await make_user()
    started = await _start(client, auth, mentee, mentor, "Hello, can you help with risk?")
    assert started.status_code == 201, started.text
    conv = started.json()["conversation_id"]
    accepted = await client.post(f"{API}/conversations/{conv}/accept", headers=auth(mentor))
    assert accepted.status_code == 200, accepted.text
    return mentor, mentee, conv


async def test_a_request_waits_for_the_mentor_and_opens_when_accepted(
    client: AppClient, auth: Auth, make_user: MakeUser
) -> None:
    mentor = await make_user(role=Role.MENTOR)
    mentee = await make_user()
    other_mentee = await make_user()
    # A mentee can only be messaged by someone a booking, feed or cohort links to them.
    refused = await _start(client, auth, mentor, mentee, "hi")
    assert refused.status_code == 403
    assert _field(refused) == "with_user_id"
    refused = await _start(client, auth, other_mentee, mentee, "hi")
    assert refused.status_code == 403

    started = await _start(client, auth, mentee, mentor, "Hello!")
    assert started.status_code == 201, started.text
    first = started.json()
    assert first["seq"] == 1
    conv = first["conversation_id"]
    view = (await client.get(f"{API}/conversations/{conv}", headers=auth(mentee))).json()
    assert view["status"] == "requested"
    assert view["opened_by"] == "request"
    assert view["can_send"] is False
    # One message until the mentor answers, from either side.
    assert (await _send(client, auth, mentee, conv, "again?")).status_code == 403
    assert (await _send(client, auth, mentor, conv, "hi")).status_code == 403
    # Only the mentor answers.
    assert (
        await client.post(f"{API}/conversations/{conv}/accept", headers=auth(mentee))
    ).status_code == 403
    listed = (await client.get(f"{API}/conversations", headers=auth(mentor))).json()
    assert [c["id"] for c in listed] == [conv]
    assert listed[0]["unread"] == 1
    assert listed[0]["my_role"] == "mentor"

    accepted = await client.post(f"{API}/conversations/{conv}/accept", headers=auth(mentor))
    assert accepted.json()["status"] == "open"
    assert (await _send(client, auth, mentor, conv, "Sure")).json()["seq"] == 2
    assert (await _send(client, auth, mentee, conv, "Thanks")).json()["seq"] == 3
    page = (
        await client.get(f"{API}/conversations/{conv}/messages?after_seq=1", headers=auth(mentee))
    ).json()
    assert [m["seq"] for m in page["messages"]] == [2, 3]
    assert [m["body"] for m in page["messages"]] == ["Sure", "Thanks"]
    # Strangers see nothing.
    assert (
        await client.get(f"{API}/conversations/{conv}/messages", headers=auth(other_mentee))
    ).status_code == 404


async def test_a_declined_request_takes_no_more_messages(
    client: AppClient, auth: Auth, make_user: MakeUser
) -> None:
    mentor = await make_user(role=Role.MENTOR)
    mentee = await make_user()
    conv = (await _start(client, auth, mentee, mentor, "Hello")).json()["conversation_id"]
    declined = await client.post(f"{API}/conversations/{conv}/decline", headers=auth(mentor))
    assert declined.json()["status"] == "declined"
    again = await _start(client, auth, mentee, mentor, "Please?")
    assert again.status_code == 403
    assert "declined" in again.json()["detail"]


async def test_a_retried_send_never_doubles_and_concurrent_sends_number_without_gaps(
    client: AppClient, auth: Auth, make_user: MakeUser, platform: Platform
) -> None:
    mentor, mentee, conv = await _open_pair(client, auth, make_user)
    first = await _send(client, auth, mentee, conv, "once", key="retry-key-1")
    again = await _send(client, auth, mentee, conv, "once", key="retry-key-1")
    assert first.json()["id"] == again.json()["id"]
    assert again.json()["seq"] == first.json()["seq"]
    changed = await _send(client, auth, mentee, conv, "twice?", key="retry-key-1")
    assert changed.status_code == 422
    assert _field(changed) == "idempotency_key"

    # Twenty senders at once on both sides, each send retried concurrently with its key.
    sends = [
        _send(client, auth, mentee if i % 2 else mentor, conv, f"m{i}", key=f"concurrent-{i}")
        for i in range(20)
        for _ in range(2)
    ]
    results = await asyncio.gather(*sends)
    assert all(r.status_code == 201 for r in results), [
        r.text for r in results if r.status_code != 201
    ]
    page = (
        await client.get(f"{API}/conversations/{conv}/messages?limit=200", headers=auth(mentor))
    ).json()
    seqs = [m["seq"] for m in page["messages"]]
    assert seqs == list(range(1, 23))  # the request, "once", then 20: no gap, no double
    assert sorted(m["body"] for m in page["messages"][2:]) == sorted(f"m{i}" for i in range(20))
    assert page["last_seq"] == 22


async def test_an_attachment_is_checked_by_its_bytes_and_its_size(
    client: AppClient, auth: Auth, make_user: MakeUser
) -> None:
    mentor, mentee, conv = await _open_pair(client, auth, make_user)
    url = f"{API}/conversations/{conv}/attachments"

    async def upload(name: str, content: bytes, key: str) -> Any:
        return await client.post(
            url,
            files={"file": (name, content, "image/png")},
            data={"idempotency_key": key, "caption": "my chart"},
            headers=auth(mentee),
        )

    wrong = await upload("chart.png", b"<svg onload=alert(1)>not a picture</svg>", "attach-wrong")
    assert wrong.status_code == 422
    assert _field(wrong) == "file"
    assert "not a PDF" in wrong.json()["detail"]
    too_big = await upload("chart.png", PNG + b"\x00" * LIMIT, "attach-big")
    assert too_big.status_code == 422
    assert "limit" in too_big.json()["detail"]
    page = (await client.get(f"{API}/conversations/{conv}/messages", headers=auth(mentor))).json()
    assert page["last_seq"] == 1  # nothing half-applied

    sent = await upload("chart.exe", PNG, "attach-good")
    assert sent.status_code == 201, sent.text
    message = sent.json()
    assert message["kind"] == "attachment"
    assert message["attachment"]["content_type"] == "image/png"
    assert message["attachment"]["file_name"] == "chart.png"  # named by what the bytes are
    assert (await upload("chart.exe", PNG, "attach-good")).json()["id"] == message["id"]
    got = await client.get(message["attachment"]["url"], headers=auth(mentor))
    assert got.status_code == 200
    assert got.content == PNG
    assert got.headers["content-type"] == "image/png"
    stranger = await make_user()
    assert (
        await client.get(message["attachment"]["url"], headers=auth(stranger))
    ).status_code == 404


async def test_a_cohort_links_a_pair_and_the_mentor_pins_a_lesson_the_mentee_can_open(
    client: AppClient, auth: Auth, make_user: MakeUser
) -> None:
    mentor = await make_user(role=Role.MENTOR, kyc_level=2)
    course = await build_course(client, auth, mentor)
    mentee = await make_user()
    assert (await enrol(client, auth, mentee, course.cohort)).status_code == 201
    contacts = (await client.get(f"{API}/contacts", headers=auth(mentor))).json()
    assert [(c["user_id"], c["linked_by"], c["their_role"]) for c in contacts] == [
        (str(mentee.id), "cohort", "mentee")
    ]
    # Linked: the mentor may write first, and the conversation is open at once.
    started = await _start(client, auth, mentor, mentee, "Welcome to the cohort")
    assert started.status_code == 201, started.text
    conv = started.json()["conversation_id"]
    view = (await client.get(f"{API}/conversations/{conv}", headers=auth(mentee))).json()
    assert (view["status"], view["opened_by"]) == ("open", "cohort")

    pinned = await client.post(
        f"{API}/conversations/{conv}/messages",
        json={"lesson_id": course.lessons[0], "body": "Start here"},
        headers={**auth(mentor), "Idempotency-Key": "pin-lesson-1"},
    )
    assert pinned.status_code == 201, pinned.text
    assert pinned.json()["lesson"]["title"] == "Calls and puts"
    view = (await client.get(f"{API}/conversations/{conv}", headers=auth(mentee))).json()
    assert [p["lesson_id"] for p in view["pinned_lessons"]] == [course.lessons[0]]

    other_course = await build_course(client, auth, await make_user(role=Role.MENTOR, kyc_level=2))
    refused = await client.post(
        f"{API}/conversations/{conv}/messages",
        json={"lesson_id": other_course.lessons[0]},
        headers={**auth(mentor), "Idempotency-Key": "pin-lesson-2"},
    )
    assert refused.status_code == 422
    assert _field(refused) == "lesson_id"


async def test_a_block_stops_both_sides_until_the_blocker_unblocks(
    client: AppClient, auth: Auth, make_user: MakeUser
) -> None:
    mentor, mentee, conv = await _open_pair(client, auth, make_user)
    blocked = await client.post(f"{API}/conversations/{conv}/block", headers=auth(mentee))
    assert blocked.json()["blocked_by_me"] is True
    assert (await _send(client, auth, mentor, conv, "hello?")).status_code == 403
    assert (await _send(client, auth, mentee, conv, "hello?")).status_code == 403
    assert (
        await client.post(f"{API}/conversations/{conv}/unblock", headers=auth(mentor))
    ).status_code == 403
    assert (
        await client.post(f"{API}/conversations/{conv}/unblock", headers=auth(mentee))
    ).status_code == 200
    assert (await _send(client, auth, mentor, conv, "hello again")).status_code == 201


async def test_a_reported_message_reaches_the_moderators_who_may_remove_it(
    client: AppClient, auth: Auth, make_user: MakeUser, platform: Platform
) -> None:
    mentor, mentee, conv = await _open_pair(client, auth, make_user)
    rude = (await _send(client, auth, mentee, conv, "buy my pump coin")).json()
    own = await client.post(
        f"{API}/messages/{rude['id']}/report", json={"reason": "spam"}, headers=auth(mentee)
    )
    assert own.status_code == 422
    stranger = await make_user()
    assert (
        await client.post(
            f"{API}/messages/{rude['id']}/report", json={"reason": "spam"}, headers=auth(stranger)
        )
    ).status_code == 404
    reported = await client.post(
        f"{API}/messages/{rude['id']}/report", json={"reason": "spam"}, headers=auth(mentor)
    )
    assert reported.status_code == 201, reported.text
    again = await client.post(
        f"{API}/messages/{rude['id']}/report", json={"reason": "spam!"}, headers=auth(mentor)
    )
    assert again.json()["id"] == reported.json()["id"]

    assert (await client.get(f"{API}/reports", headers=auth(mentor))).status_code == 403
    reviewer = await make_user(role=Role.REVIEWER)
    queue = (await client.get(f"{API}/reports", headers=auth(reviewer))).json()
    assert [(r["body"], r["reason"], r["status"]) for r in queue] == [
        ("buy my pump coin", "spam", "open")
    ]
    resolved = await client.post(
        f"{API}/reports/{queue[0]['id']}/resolve",
        json={"outcome": "removed", "note": "scam"},
        headers=auth(reviewer),
    )
    assert resolved.json()["status"] == "removed"
    [(actor, target, details)] = await audit_trail(platform.pool, "chat.report_resolved")
    assert (actor, target) == (reviewer.id, f"chat_report:{queue[0]['id']}")
    assert (details["outcome"], details["message_id"]) == ("removed", rude["id"])
    assert (await client.get(f"{API}/reports", headers=auth(reviewer))).json() == []
    page = (await client.get(f"{API}/conversations/{conv}/messages", headers=auth(mentor))).json()
    removed = next(m for m in page["messages"] if m["id"] == rude["id"])
    assert (removed["removed"], removed["body"]) == (True, "")


async def test_history_search_covers_only_the_callers_conversations(
    client: AppClient, auth: Auth, make_user: MakeUser
) -> None:
    mentor, mentee, conv = await _open_pair(client, auth, make_user)
    await _send(client, auth, mentor, conv, "Keep your stop loss below the swing low")
    await _send(client, auth, mentee, conv, "What about trailing stops?")
    _, other_mentee, other_conv = await _open_pair(client, auth, make_user)
    await _send(client, auth, other_mentee, other_conv, "stop loss question from someone else")

    hits = (
        await client.get(f"{API}/search", params={"q": "stop loss"}, headers=auth(mentee))
    ).json()
    assert [h["message"]["body"] for h in hits] == ["Keep your stop loss below the swing low"]
    assert hits[0]["conversation_id"] == conv
    quoted = (
        await client.get(
            f"{API}/search", params={"q": '"trailing stops" -loss'}, headers=auth(mentor)
        )
    ).json()
    assert [h["message"]["body"] for h in quoted] == ["What about trailing stops?"]
    empty = await client.get(f"{API}/search", params={"q": " "}, headers=auth(mentor))
    assert empty.status_code == 422
    assert _field(empty) == "q"


async def test_read_positions_move_forward_only_and_typing_is_rate_limited(
    client: AppClient, auth: Auth, make_user: MakeUser
) -> None:
    mentor, mentee, conv = await _open_pair(client, auth, make_user)
    await _send(client, auth, mentee, conv, "one")
    await _send(client, auth, mentee, conv, "two")
    read = await client.post(
        f"{API}/conversations/{conv}/read", json={"seq": 2}, headers=auth(mentor)
    )
    assert (read.json()["my_read_seq"], read.json()["unread"]) == (2, 1)
    back = await client.post(
        f"{API}/conversations/{conv}/read", json={"seq": 1}, headers=auth(mentor)
    )
    assert back.json()["my_read_seq"] == 2
    past = await client.post(
        f"{API}/conversations/{conv}/read", json={"seq": 99}, headers=auth(mentor)
    )
    assert past.json()["my_read_seq"] == 3
    mine = (await client.get(f"{API}/conversations/{conv}", headers=auth(mentee))).json()
    assert mine["other_read_seq"] == 3

    assert (
        await client.post(f"{API}/conversations/{conv}/typing", headers=auth(mentee))
    ).status_code == 204
    again = await client.post(f"{API}/conversations/{conv}/typing", headers=auth(mentee))
    assert again.status_code == 429


async def test_first_message_requests_are_rate_limited_per_day(
    database_url: str, tmp_path: Any, make_user: MakeUser, auth: Auth
) -> None:
    from dracarys.app import create_app
    from dracarys.clock import ManualClock

    settings = make_settings(database_url, tmp_path, DRACARYS_CHAT_REQUESTS_PER_DAY="2")
    async with AppClient(create_app(settings, clock=ManualClock())) as client:
        mentee = await make_user()
        mentors = [await make_user(role=Role.MENTOR) for _ in range(3)]
        assert (await _start(client, auth, mentee, mentors[0], "hi")).status_code == 201
        assert (await _start(client, auth, mentee, mentors[1], "hi")).status_code == 201
        limited = await _start(client, auth, mentee, mentors[2], "hi")
        assert limited.status_code == 429
        assert "too many message requests" in limited.json()["detail"]
        assert int(limited.headers["retry-after"]) > 3600


async def test_sending_is_rate_limited(
    database_url: str, tmp_path: Any, make_user: MakeUser, auth: Auth
) -> None:
    from dracarys.app import create_app
    from dracarys.clock import ManualClock

    settings = make_settings(database_url, tmp_path, DRACARYS_CHAT_MESSAGES_PER_MINUTE="3")
    async with AppClient(create_app(settings, clock=ManualClock())) as client:
        mentor, mentee, conv = await _open_pair(client, auth, make_user)  # the request: 1
        assert (await _send(client, auth, mentee, conv, "a")).status_code == 201
        assert (await _send(client, auth, mentee, conv, "b")).status_code == 201
        limited = await _send(client, auth, mentee, conv, "c")
        assert limited.status_code == 429
        assert "too fast" in limited.json()["detail"]
        assert (await _send(client, auth, mentor, conv, "mentor still can")).status_code == 201


async def test_only_the_two_members_may_watch_the_conversation_channel(
    client: AppClient, auth: Auth, make_user: MakeUser, platform: Platform
) -> None:
    mentor, mentee, conv = await _open_pair(client, auth, make_user)
    stranger = await make_user()
    async with platform.pool.acquire() as conn:
        allowed = await conversation_members(
            conn, [mentor.id, mentee.id, stranger.id], uuid.UUID(conv)
        )
        nobody = await conversation_members(conn, [mentor.id], uuid.uuid4())
    assert allowed == {mentor.id, mentee.id}
    assert nobody == set()

    # The app's policy for `chat:` channels, as the stream server asks it on subscribe.
    from dracarys.app import platform_channel_policies
    from dracarys.identity import CurrentUser
    from dracarys.realtime import ChannelAccess, ChannelPolicies
    from streams.channels import parse_channel

    async def verdict(user: TestUser, channel: str) -> str | None:
        access = ChannelAccess(
            platform=platform,
            user=CurrentUser(id=user.id, role=user.role, session_id=user.session_id),
            channel=parse_channel(channel),
        )
        return await ChannelPolicies(platform_channel_policies()).authorize(access)

    assert await verdict(mentor, f"chat:{conv}") is None
    assert await verdict(mentee, f"chat:{conv}") is None
    refusal = "this conversation is visible to its two members only"
    assert await verdict(stranger, f"chat:{conv}") == refusal
    assert await verdict(mentor, f"chat:{uuid.uuid4()}") == refusal


make_mentor = mentorship_fixtures.make_mentor
make_mentee = mentorship_fixtures.make_mentee


async def test_a_booking_links_a_pair_so_either_may_write_first(
    client: AppClient, auth: Auth, make_mentor: Any, make_mentee: Any
) -> None:
    from datetime import UTC, datetime

    mentor = await make_mentor(price_minor=200_000)
    mentee = await make_mentee()
    booked = await mentorship_fixtures.book(
        client, auth(mentee), mentor.types["one_on_one"], datetime(2026, 1, 7, 6, 0, tzinfo=UTC)
    )
    assert booked.status_code == 201, booked.text
    contacts = (await client.get(f"{API}/contacts", headers=auth(mentee))).json()
    assert [(c["user_id"], c["linked_by"], c["their_role"]) for c in contacts] == [
        (str(mentor.id), "booking", "mentor")
    ]
    started = await _start(client, auth, mentor.user, mentee, "See you Wednesday")
    assert started.status_code == 201, started.text
    view = (
        await client.get(
            f"{API}/conversations/{started.json()['conversation_id']}", headers=auth(mentee)
        )
    ).json()
    assert (view["status"], view["opened_by"], view["my_role"]) == ("open", "booking", "mentee")


async def test_only_a_paid_feed_that_grants_access_links_a_pair(
    make_user: MakeUser, platform: Platform
) -> None:
    """Trading's `paid_feed_pairs` over subscription rows as its subscribe and renewal
    flows leave them: paid and active, or cancelled with the paid period running, link;
    a free feed or one past due does not."""
    from datetime import UTC, datetime

    from dracarys.trading import paid_feed_pairs

    mentor = await make_user(role=Role.MENTOR)
    paid, cancelled, free, past_due = [await make_user() for _ in range(4)]
    rows = [
        (paid, 1000, "active", "paid"),
        (cancelled, 1000, "cancelled", "paid"),
        (free, 0, "active", "free"),
        (past_due, 1000, "active", "past_due"),
    ]
    async with platform.pool.acquire() as conn:
        for user, price, status, billing in rows:
            await conn.execute(
                """INSERT INTO signal_subscriptions (id, subscriber_id, mentor_id,
                       monthly_price_minor, currency, status, billing_status, started_at,
                       paid_until)
                   VALUES ($1, $2, $3, $4, 'KES', $5, $6, $7,
                           CASE WHEN $6 <> 'free' THEN $7::timestamptz + interval '30 days' END)""",
                uuid.uuid4(),
                user.id,
                mentor.id,
                price,
                status,
                billing,
                datetime(2026, 1, 1, tzinfo=UTC),
            )
        pairs = await paid_feed_pairs(conn, mentor.id)
        mine = await paid_feed_pairs(conn, paid.id)
    assert pairs == {(mentor.id, paid.id), (mentor.id, cancelled.id)}
    assert mine == {(mentor.id, paid.id)}


async def test_mentor_answers_are_timed_for_analytics_per_kind_of_request(
    client: AppClient, auth: Auth, make_user: MakeUser, clock: ManualClock, pool: asyncpg.Pool
) -> None:
    mentor = await make_user(role=Role.MENTOR)
    mentee = await make_user()
    asked = clock.now()
    started = await _start(client, auth, mentee, mentor, "Can you look at my journal?")
    conv = started.json()["conversation_id"]
    # The request is answered by accepting it, 30 minutes later.
    clock.advance(timedelta(minutes=30))
    await client.post(f"{API}/conversations/{conv}/accept", headers=auth(mentor))
    # The mentor's first message answers nothing more: the request was answered.
    assert (await _send(client, auth, mentor, conv, "Sure, send it")).status_code == 201
    # Two messages from the mentee, 10 minutes apart; the mentor answers 25 minutes after
    # the first; a second message of theirs answers nothing new.
    clock.advance(timedelta(minutes=5))
    first_unanswered = clock.now()
    await _send(client, auth, mentee, conv, "Here it is")
    clock.advance(timedelta(minutes=10))
    await _send(client, auth, mentee, conv, "And the chart")
    clock.advance(timedelta(minutes=15))
    await _send(client, auth, mentor, conv, "Looking")
    await _send(client, auth, mentor, conv, "Your stops are too tight")

    answers = await events_of(pool, "mentor.responded")

    assert [(a["kind"], a["requested_at"], a["seconds"]) for a in answers] == [
        ("message_request", asked.isoformat().replace("+00:00", "Z"), 1_800),
        ("message", first_unanswered.isoformat().replace("+00:00", "Z"), 1_500),
    ]
    assert {(a["mentor_id"], a["mentee_id"]) for a in answers} == {(str(mentor.id), str(mentee.id))}
