"""The award e-mail of blueprint section 14 (its text from a `points.awarded` payload) and
the notifications workflow that queues it and sends the same text live, once."""

from __future__ import annotations

import uuid

from dracarys.messaging import list_messages
from dracarys.notifications import notify
from dracarys.outbox import Event, consume_batch
from dracarys.platform import Platform
from dracarys.points.notifications import render_award_email
from streams import channels
from tests.points.conftest import outbox_topics, send


def test_award_email_renders_the_blueprint_lesson_text() -> None:
    email = render_award_email(
        {
            "user_id": str(uuid.uuid4()),
            "entry_id": str(uuid.uuid4()),
            "delta": 10,
            "reason_code": "lesson_completed",
            "balance": 1240,
            "context": {"lesson_title": "Reading candles"},
        }
    )
    assert email.text == "Nice — 10 points for completing Reading candles. Your balance: 1,240."
    generic = render_award_email(
        {
            "user_id": str(uuid.uuid4()),
            "entry_id": str(uuid.uuid4()),
            "delta": 20,
            "reason_code": "mentor_rating",
            "balance": 20,
        }
    )
    assert generic.text == "You earned 20 points (mentor rating left). Your balance: 20."


async def test_awards_emit_points_awarded_with_what_the_email_needs(
    platform: Platform, user_factory
) -> None:
    user = await user_factory()
    await send(platform, "lesson.completed", user_id=user, lesson_id="l1", lesson_title="Risk 101")
    [awarded] = await outbox_topics(platform.pool, "points.awarded")
    assert (awarded["user_id"], awarded["delta"], awarded["reason_code"], awarded["balance"]) == (
        str(user),
        10,
        "lesson_completed",
        10,
    )
    assert render_award_email(awarded).text.startswith("Nice — 10 points for completing Risk 101.")


async def test_award_queues_the_section_14_email_and_a_live_notification(
    platform: Platform, user_factory
) -> None:
    user = await user_factory()
    await send(platform, "lesson.completed", user_id=user, lesson_id="l1", lesson_title="Risk 101")
    await send(platform, "social.post_shared", user_id=user, share_id="p1")  # no e-mail for shares
    rows = await platform.pool.fetch(
        "SELECT id, topic, payload, created_at FROM outbox WHERE topic = 'points.awarded'"
    )
    batch = [
        Event(id=r["id"], topic=r["topic"], payload=r["payload"], created_at=r["created_at"])
        for r in rows
    ]

    async def unused(conn, event) -> None:
        raise AssertionError

    async def workflows(conn, events) -> None:
        await notify(conn, platform, events)

    for consumer in ("first", "second"):  # delivered twice: no second e-mail, no second frame
        await consume_batch(platform.pool, consumer, batch, unused, batch_handler=workflows)
    async with platform.pool.acquire() as conn:
        [mail] = await list_messages(conn, platform.settings, user_id=user)
    assert mail.template == "points.lesson_completed"
    assert mail.content is not None
    assert mail.content.text.startswith(
        "Nice — 10 points for completing Risk 101. Your balance: 10."
    )
    assert len(await outbox_topics(platform.pool, "email.send")) == 1
    live = await platform.streams.catch_up(channels.notifications(user), 0)
    assert str(live).count("Nice — 10 points for completing Risk 101") == 1
