"""Issue 20 item 6, crash safety of chat's live frames: the API publishes a stored message
at once, but that publish is not the only one. The `notifications.chat_live` consumer
publishes every message again from the outbox, so a frame the API lost (it died after its
commit, or its Redis did not answer) still reaches the conversation's channel, and a
failed publish never turns a stored message into an error its sender would send again."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import msgspec
import pytest
from redis.asyncio import Redis

from dracarys.db import Connection
from dracarys.identity import CurrentUser, Role
from dracarys.notifications import publish_sent_messages
from dracarys.notifications.chat.models import SendInput
from dracarys.notifications.chat.service import send
from dracarys.outbox import Event, consume_batch
from dracarys.platform import Platform
from streams import channels
from streams.hub import RedisBackend, StreamHub
from tests.mentorship import conftest as mentorship_fixtures
from tests.messaging.simulators import free_port
from tests.notifications.chat.test_chat_notices import _open_pair, _send, _sent_events
from tests.support import AppClient, Auth, TestUser

auth = mentorship_fixtures.auth
MakeUser = Callable[..., Awaitable[TestUser]]
API = "/api/v1/chat"
CONSUMER = "notifications.chat_live"


async def _chat_frames(platform: Platform, conv: str) -> list[dict[str, Any]]:
    """The message frames on the conversation's channel of this platform's hub."""
    caught = await platform.streams.catch_up(channels.chat(uuid.UUID(conv)), 0)
    found = []
    for _, frame in caught.frames:
        data = msgspec.json.decode(frame)["data"]
        if data["type"] == "chat.message":
            found.append(data)
    return found


async def _publish(platform: Platform, events: Sequence[Event], consumer: str = CONSUMER) -> int:
    async def batch(conn: Connection, batch: Sequence[Event]) -> None:
        await publish_sent_messages(conn, platform, batch)

    async def one(conn: Connection, event: Event) -> None:
        await batch(conn, [event])

    return await consume_batch(platform.pool, consumer, events, one, batch_handler=batch)


async def test_a_frame_the_api_lost_goes_out_from_the_outbox_and_a_failed_batch_publishes_again(
    client: AppClient, auth: Auth, make_user: MakeUser, platform: Platform
) -> None:
    # The app's hub stands for an API process that died after its commits: nothing it
    # published reaches the worker's hub (`platform`), which the other member watches.
    mentor, mentee, conv = await _open_pair(client, auth, make_user)
    sent = await _send(client, auth, mentee, conv, "Where do I put my stop?")
    assert await _chat_frames(platform, conv) == []
    events = await _sent_events(platform.pool, conv)
    assert [e.payload["seq"] for e in events] == [1, 2]

    # A batch that published and then died before its commit is delivered again and
    # publishes again: at least once, the same seq each time (clients keep one by seq).
    async def dies_after_publishing(conn: Connection, batch: Sequence[Event]) -> None:
        await publish_sent_messages(conn, platform, batch)
        raise RuntimeError("the worker died before its commit")

    with pytest.raises(RuntimeError, match="before its commit"):
        await consume_batch(
            platform.pool,
            CONSUMER,
            events[1:],
            dies_after_publishing,
            batch_handler=dies_after_publishing,
        )
    assert await _publish(platform, events) == 2
    frames = await _chat_frames(platform, conv)
    assert [(f["seq"], f["body"]) for f in frames] == [
        (2, "Where do I put my stop?"),
        (1, "Hello, can you help with risk?"),
        (2, "Where do I put my stop?"),
    ]
    assert frames[-1]["id"] == sent["id"]
    assert frames[-1]["sender_id"] == str(mentee.id)
    # Once committed, a redelivery under the same consumer publishes nothing more.
    assert await _publish(platform, events) == 0
    assert len(await _chat_frames(platform, conv)) == 3

    # A message a moderator removed before its frame went out goes out removed.
    reviewer = await make_user(role=Role.REVIEWER)
    later = await _send(client, auth, mentor, conv, "something to remove")
    reported = await client.post(
        f"{API}/messages/{later['id']}/report", json={"reason": "spam"}, headers=auth(mentee)
    )
    assert reported.status_code == 201, reported.text
    removed = await client.post(
        f"{API}/reports/{reported.json()['id']}/resolve",
        json={"outcome": "removed", "note": "spam"},
        headers=auth(reviewer),
    )
    assert removed.status_code == 200, removed.text
    await _publish(platform, (await _sent_events(platform.pool, conv))[2:])
    last = (await _chat_frames(platform, conv))[-1]
    assert (last["seq"], last["removed"], last["body"]) == (3, True, "")


async def test_a_send_whose_live_publish_fails_is_stored_and_answered_and_the_outbox_publishes_it(
    client: AppClient, auth: Auth, make_user: MakeUser, platform: Platform
) -> None:
    mentor, mentee, conv = await _open_pair(client, auth, make_user)
    # An API process whose Redis does not answer: every publish it tries fails.
    unreachable = Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=1)
    settings = platform.settings
    cut_off = Platform(
        settings=settings,
        database=platform.database,
        clock=platform.clock,
        stream_hub=StreamHub(
            RedisBackend(
                unreachable,
                prefix=f"chat-live-{uuid.uuid4().hex}",
                history_size=settings.stream_history_size,
                history_ttl_s=settings.stream_history_ttl_s,
            )
        ),
    )
    caller = CurrentUser(id=mentee.id, role=mentee.role, session_id=mentee.session_id)
    try:
        view = await send(
            cut_off, caller, uuid.UUID(conv), SendInput(body="Are you there?"), "live-key-1"
        )
        # The sender's retry with its key gets the same message, still without a publish.
        again = await send(
            cut_off, caller, uuid.UUID(conv), SendInput(body="Are you there?"), "live-key-1"
        )
    finally:
        await unreachable.aclose()
    assert (view.seq, view.body) == (2, "Are you there?")
    assert again.id == view.id
    page = (await client.get(f"{API}/conversations/{conv}/messages", headers=auth(mentor))).json()
    assert [m["seq"] for m in page["messages"]] == [1, 2]

    await _publish(platform, await _sent_events(platform.pool, conv))
    assert [(f["seq"], f["id"]) for f in await _chat_frames(platform, conv)][-1] == (
        2,
        str(view.id),
    )
