"""Issue 20 item 1, "new chat message": a member who is not reading a conversation hears
of new messages there through the workflow — in the inbox and by push at once, by e-mail
only in the daily digest — once per burst until they read it, never the sender, nothing
to a member who blocked the conversation, in the recipient's language, and once however
often the outbox delivers the event."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from dracarys.identity import Role
from dracarys.outbox import Event
from dracarys.platform import Platform
from tests.mentorship import conftest as mentorship_fixtures
from tests.notifications.conftest import deliver, mails, set_language
from tests.support import AppClient, Auth, TestUser

auth = mentorship_fixtures.auth
MakeUser = Callable[..., Awaitable[TestUser]]
API = "/api/v1/chat"


async def _sent_events(pool: asyncpg.Pool, conv: str) -> list[Event]:
    """The `chat.message_sent` events chat wrote for the conversation, oldest first."""
    rows = await pool.fetch(
        """SELECT id, topic, payload, created_at FROM outbox
           WHERE topic = 'chat.message_sent' AND payload->>'conversation_id' = $1
           ORDER BY (payload->>'seq')::int""",
        conv,
    )
    return [
        Event(id=r["id"], topic=r["topic"], payload=dict(r["payload"]), created_at=r["created_at"])
        for r in rows
    ]


async def _notices(pool: asyncpg.Pool, user_id: uuid.UUID) -> list[tuple[str, str, str | None]]:
    rows = await pool.fetch(
        """SELECT kind, title, link FROM notifications
           WHERE user_id = $1 AND kind LIKE 'chat_%' AND in_app ORDER BY created_at""",
        user_id,
    )
    return [(r["kind"], r["title"], r["link"]) for r in rows]


async def _written(pool: asyncpg.Pool, user_id: uuid.UUID) -> int:
    """Chat notifications written for the person on any channel (push and e-mail hang off
    the row, so none written means none sent)."""
    count: int = await pool.fetchval(
        "SELECT count(*) FROM notifications WHERE user_id = $1 AND kind LIKE 'chat_%'",
        user_id,
    )
    return count


async def _send(client: AppClient, auth: Auth, sender: TestUser, conv: str, body: str) -> Any:
    sent = await client.post(
        f"{API}/conversations/{conv}/messages",
        json={"body": body},
        headers={**auth(sender), "Idempotency-Key": f"send-{uuid.uuid4()}"},
    )
    assert sent.status_code == 201, sent.text
    return sent.json()


async def _open_pair(
    client: AppClient, auth: Auth, make_user: MakeUser
) -> tuple[TestUser, TestUser, str]:
    mentor = await make_user(role=Role.MENTOR)
    mentee = await make_user()
    started = await client.post(
        f"{API}/conversations",
        json={"with_user_id": str(mentor.id), "body": "Hello, can you help with risk?"},
        headers={**auth(mentee), "Idempotency-Key": f"start-{uuid.uuid4()}"},
    )
    assert started.status_code == 201, started.text
    conv: str = started.json()["conversation_id"]
    accepted = await client.post(f"{API}/conversations/{conv}/accept", headers=auth(mentor))
    assert accepted.status_code == 200, accepted.text
    return mentor, mentee, conv


async def test_a_burst_notifies_the_recipient_once_until_read_and_never_the_sender(
    client: AppClient, auth: Auth, make_user: MakeUser, platform: Platform
) -> None:
    mentor, mentee, conv = await _open_pair(client, auth, make_user)
    await client.post(f"{API}/conversations/{conv}/read", json={"seq": 1}, headers=auth(mentor))
    for body in ("Before we start", "what does a 2R target mean?", "and where is my stop?"):
        await _send(client, auth, mentee, conv, body)
    burst = (await _sent_events(platform.pool, conv))[1:]  # the request was read above
    assert len(burst) == 3

    await deliver(platform, burst)

    link = f"/chat?c={conv}"
    [(kind, title, at)] = await _notices(platform.pool, mentor.id)
    assert (kind, at) == ("chat_message", link)
    assert title.startswith("New message from ")
    assert await _notices(platform.pool, mentee.id) == []  # the sender hears nothing
    # Low priority: no e-mail now (the daily digest gathers it).
    assert await mails(platform.pool, mentor.id) == []

    # Delivered again (a retried batch, or one event at a time): nothing more.
    await deliver(platform, burst, consumer="notifications.workflows.retry")
    for event in burst:
        await deliver(platform, [event], consumer=f"notifications.workflows.one.{event.id}")
    assert len(await _notices(platform.pool, mentor.id)) == 1

    # Once the mentor has read them, the next message is news again; the mentor's answer
    # notifies the mentee, never the mentor.
    await client.post(f"{API}/conversations/{conv}/read", json={"seq": 4}, headers=auth(mentor))
    await _send(client, auth, mentee, conv, "one more thing")
    await deliver(platform, (await _sent_events(platform.pool, conv))[4:])
    # (Answering marks what the mentor answered read: had the notice not gone out yet,
    # it would not now.)
    await _send(client, auth, mentor, conv, "Ask away")
    await deliver(platform, (await _sent_events(platform.pool, conv))[5:])
    assert [n[0] for n in await _notices(platform.pool, mentor.id)] == [
        "chat_message",
        "chat_message",
    ]
    assert [n[0] for n in await _notices(platform.pool, mentee.id)] == ["chat_message"]


async def test_a_message_read_before_its_notice_went_out_notifies_nobody(
    client: AppClient, auth: Auth, make_user: MakeUser, platform: Platform
) -> None:
    """Someone reading the conversation live reads each message as it comes: no notice."""
    mentor, mentee, conv = await _open_pair(client, auth, make_user)
    sent = await _send(client, auth, mentee, conv, "quick one")
    await client.post(
        f"{API}/conversations/{conv}/read", json={"seq": sent["seq"]}, headers=auth(mentor)
    )

    await deliver(platform, await _sent_events(platform.pool, conv))

    assert await _notices(platform.pool, mentor.id) == []
    assert await _written(platform.pool, mentor.id) == 0


async def test_a_member_who_blocked_the_conversation_is_not_notified(
    client: AppClient, auth: Auth, make_user: MakeUser, platform: Platform
) -> None:
    mentor, mentee, conv = await _open_pair(client, auth, make_user)
    await client.post(f"{API}/conversations/{conv}/read", json={"seq": 1}, headers=auth(mentor))
    await _send(client, auth, mentee, conv, "are you there?")
    blocked = await client.post(f"{API}/conversations/{conv}/block", headers=auth(mentor))
    assert blocked.status_code == 200, blocked.text

    await deliver(platform, await _sent_events(platform.pool, conv))

    assert await _notices(platform.pool, mentor.id) == []
    assert await _written(platform.pool, mentor.id) == 0


async def test_a_request_tells_the_mentor_in_their_language_and_chat_can_be_switched_off(
    client: AppClient, auth: Auth, make_user: MakeUser, platform: Platform
) -> None:
    mentor, mentee = await make_user(role=Role.MENTOR), await make_user()
    await set_language(platform.pool, mentor.id, "sw")
    started = await client.post(
        f"{API}/conversations",
        json={"with_user_id": str(mentor.id), "body": "Habari, naomba msaada"},
        headers={**auth(mentee), "Idempotency-Key": f"start-{uuid.uuid4()}"},
    )
    conv = started.json()["conversation_id"]

    await deliver(platform, await _sent_events(platform.pool, conv))

    [(kind, title, _)] = await _notices(platform.pool, mentor.id)
    assert kind == "chat_request"
    assert title.startswith("Ombi la ujumbe kutoka kwa ")

    # The mentee switches chat off in the app: the mentor's answer shows in no inbox.
    await platform.pool.execute(
        """INSERT INTO notification_preferences (user_id, category, channel, enabled, updated_at)
           VALUES ($1, 'chat', 'in_app', false, now())""",
        mentee.id,
    )
    await client.post(f"{API}/conversations/{conv}/accept", headers=auth(mentor))
    await _send(client, auth, mentor, conv, "Karibu")
    await deliver(platform, (await _sent_events(platform.pool, conv))[1:])
    assert await _notices(platform.pool, mentee.id) == []


async def _unread(client: AppClient, auth: Auth, user: TestUser) -> int:
    count = await client.get("/api/v1/notifications/unread", headers=auth(user))
    assert count.status_code == 200, count.text
    unread: int = count.json()["unread"]
    return unread


async def test_reading_or_answering_the_conversation_reads_its_notice_in_the_inbox(
    client: AppClient, auth: Auth, make_user: MakeUser, platform: Platform
) -> None:
    """A member who reads the messages on the chat page has read what the inbox's "New
    message" notice told them of: the Inbox count goes down with it (and a push held
    through quiet hours about it is not sent). Answering counts as reading."""
    mentor, mentee, conv = await _open_pair(client, auth, make_user)
    await client.post(f"{API}/conversations/{conv}/read", json={"seq": 1}, headers=auth(mentor))
    await _send(client, auth, mentee, conv, "Is a 2R target enough?")
    await deliver(platform, (await _sent_events(platform.pool, conv))[1:])
    await platform.pool.execute(
        "UPDATE notifications SET read_at = now() WHERE user_id = $1 AND kind <> 'chat_message'",
        mentor.id,
    )  # the mentor's other notices are not what this is about
    assert await _unread(client, auth, mentor) == 1

    read = await client.post(
        f"{API}/conversations/{conv}/read", json={"seq": 2}, headers=auth(mentor)
    )
    assert read.status_code == 200, read.text
    assert await _unread(client, auth, mentor) == 0

    # The next burst is news again; the mentor answers it without marking it read first.
    await _send(client, auth, mentee, conv, "And where does my stop go?")
    await deliver(platform, (await _sent_events(platform.pool, conv))[2:])
    assert await _unread(client, auth, mentor) == 1
    await _send(client, auth, mentor, conv, "Below the swing low.")
    assert await _unread(client, auth, mentor) == 0
    # Only this conversation's notices: the mentee's own notice of the answer stays unread.
    await deliver(platform, (await _sent_events(platform.pool, conv))[3:])
    assert [n[0] for n in await _notices(platform.pool, mentee.id)] == ["chat_message"]
    assert (
        await platform.pool.fetchval(
            "SELECT count(*) FROM notifications WHERE user_id = $1 AND read_at IS NULL", mentee.id
        )
        >= 1
    )
