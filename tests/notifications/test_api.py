"""The inbox and preferences over HTTP: list by category, unread counts, mark read, mark
all read, archive; channels per category with locked ones refused, quiet hours; every
refusal a problem naming the field, and a refused change changes nothing."""

from __future__ import annotations

import uuid
from datetime import timedelta

from dracarys.clock import ManualClock
from dracarys.mentorship import SessionBooked
from dracarys.platform import Platform
from dracarys.wallet import PayoutFailed
from tests.notifications.conftest import deliver, event_of
from tests.support import AppClient

INBOX = "/api/v1/notifications"
PREFERENCES = "/api/v1/notifications/preferences"


async def _two_notifications(
    platform: Platform, clock: ManualClock, user_id: uuid.UUID, other: uuid.UUID
) -> None:
    booked = SessionBooked(
        session_id=uuid.uuid4(),
        booking_id=uuid.uuid4(),
        mentee_id=user_id,
        mentor_id=other,
        starts_at=platform.clock.now(),
    )
    await deliver(platform, [event_of(platform, booked)])
    clock.advance(timedelta(minutes=1))
    failed = PayoutFailed(
        user_id=user_id,
        payout_id=uuid.uuid4(),
        amount_minor=5_000,
        currency="KES",
        reason="mpesa_refused",
    )
    await deliver(platform, [event_of(platform, failed)])


async def test_the_inbox_lists_by_category_counts_unread_marks_read_and_archives(
    client: AppClient, platform: Platform, make_user, clock: ManualClock
) -> None:
    user, mentor = await make_user(), await make_user()
    await _two_notifications(platform, clock, user.id, mentor.id)

    page = (await client.get(INBOX, headers=user.headers)).json()
    assert [i["kind"] for i in page["items"]] == ["payout_failed", "session_booked"]
    assert page["unread"] == 2
    assert page["unread_by_category"] == {"payment_problems": 1, "sessions": 1}
    by_category = {"category": "sessions"}
    sessions = (await client.get(INBOX, params=by_category, headers=user.headers)).json()
    assert [i["kind"] for i in sessions["items"]] == ["session_booked"]
    # Nobody else sees them, nor can read or archive them.
    assert (await client.get(INBOX, headers=mentor.headers)).json()["items"][0]["kind"] == (
        "session_booked"
    )
    theirs = page["items"][0]["id"]
    missing = await client.post(f"{INBOX}/{theirs}/archive", headers=mentor.headers)
    assert missing.status_code == 404

    read = await client.post(f"{INBOX}/read", json={"ids": [theirs]}, headers=user.headers)
    assert read.json() == {"changed": 1, "unread": 1}
    again = await client.post(f"{INBOX}/read", json={"ids": [theirs]}, headers=user.headers)
    assert again.json() == {"changed": 0, "unread": 1}
    all_read = await client.post(f"{INBOX}/read-all", json={}, headers=user.headers)
    assert all_read.json() == {"changed": 1, "unread": 0}
    assert (await client.get(f"{INBOX}/unread", headers=user.headers)).json()["unread"] == 0

    archived = await client.post(f"{INBOX}/{theirs}/archive", headers=user.headers)
    assert archived.status_code == 200
    left = (await client.get(INBOX, headers=user.headers)).json()["items"]
    assert [i["kind"] for i in left] == ["session_booked"]
    shelf = (await client.get(INBOX, params={"archived": "true"}, headers=user.headers)).json()
    assert [i["kind"] for i in shelf["items"]] == ["payout_failed"]

    bad = await client.get(INBOX, params={"category": "gossip"}, headers=user.headers)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "category"
    assert (await client.get(INBOX)).status_code == 401


async def test_preferences_refuse_turning_off_security_and_payment_problems_and_change_nothing(
    client: AppClient, make_user
) -> None:
    user = await make_user()
    shown = (await client.get(PREFERENCES, headers=user.headers)).json()
    account = next(c for c in shown["categories"] if c["category"] == "account")
    assert account["locked"] is True
    assert all(c["enabled"] and not c["editable"] for c in account["channels"][:3])
    push = account["channels"][3]
    # Push is opt-in everywhere, locked categories too: it goes only to devices asked for.
    assert (push["channel"], push["enabled"], push["editable"]) == ("push", False, True)
    assert shown["quiet_hours"] is None
    assert shown["timezone"] == "UTC"

    refused = await client.put(
        PREFERENCES,
        json={
            "switches": [
                {"category": "sessions", "channel": "email", "enabled": False},
                {"category": "payment_problems", "channel": "sms", "enabled": False},
            ],
            "quiet_hours": {"starts_at": "22:00", "ends_at": "07:00"},
        },
        headers=user.headers,
    )
    assert refused.status_code == 422
    problem = refused.json()
    assert problem["errors"][0]["field"] == "switches[1].enabled"
    assert "cannot be turned off" in problem["errors"][0]["message"]
    unchanged = (await client.get(PREFERENCES, headers=user.headers)).json()
    assert unchanged == shown

    saved = await client.put(
        PREFERENCES,
        json={
            "switches": [{"category": "sessions", "channel": "email", "enabled": False}],
            "quiet_hours": {"starts_at": "22:00", "ends_at": "07:00"},
        },
        headers=user.headers,
    )
    assert saved.status_code == 200
    sessions = next(c for c in saved.json()["categories"] if c["category"] == "sessions")
    assert {c["channel"]: c["enabled"] for c in sessions["channels"]} == {
        "in_app": True,
        "email": False,
        "sms": False,  # no session workflow sends SMS
        "push": False,
    }
    assert saved.json()["quiet_hours"] == {"starts_at": "22:00", "ends_at": "07:00"}

    bad_time = await client.put(
        PREFERENCES,
        json={"quiet_hours": {"starts_at": "25:00", "ends_at": "07:00"}},
        headers=user.headers,
    )
    assert bad_time.status_code == 422
    assert bad_time.json()["errors"][0]["field"] == "quiet_hours.starts_at"
    cleared = await client.put(PREFERENCES, json={"quiet_hours": None}, headers=user.headers)
    assert cleared.json()["quiet_hours"] is None
