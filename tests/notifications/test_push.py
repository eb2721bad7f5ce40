"""Issue 20 item 4: Web Push. Browsers subscribe with the platform's VAPID public key (made
once), notifications go by push where the person opted in, encrypted for each subscribed
device (RFC 8291) with a VAPID JWT (RFC 8292) that a local push service checks before it
decrypts what arrived; a subscription the push service calls gone is removed; other
failures are retried."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from dracarys.clock import ManualClock
from dracarys.crypto import unseal, vapid_key
from dracarys.db import transaction
from dracarys.errors import ServiceUnavailable
from dracarys.mentorship import SessionBooked
from dracarys.notifications import (
    deliver_push,
    ensure_vapid_keys,
    release_deferred,
    requeue_unsent_pushes,
)
from dracarys.notifications.push.service import MAX_REQUEUES, REQUEUE_AFTER
from dracarys.outbox import Event, emit_event
from dracarys.platform import Platform
from dracarys.settings import Settings
from dracarys.upgrade import upgrade_database
from dracarys.wallet import PaymentCaptured
from tests.conftest import make_settings
from tests.messaging.simulators import serve_http
from tests.notifications.conftest import deliver, event_of, mails
from tests.notifications.push_simulator import FakeBrowser, PushServiceSimulator, b64url
from tests.support import AppClient, TestUser
from workers.runtime import Worker

NOON = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
# The associated data the platform seals its VAPID private key with.
VAPID_AD = b"dracarys vapid private key"
PREFS = "/api/v1/notifications/preferences"
DEVICES = "/api/v1/notifications/push/devices"


@pytest.fixture(scope="module")
async def push_service() -> AsyncIterator[PushServiceSimulator]:
    simulator = PushServiceSimulator()
    async with serve_http(simulator.app(), simulator.port):
        yield simulator


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path, DRACARYS_OUTBOX_POLL_INTERVAL_S="0.05")


@pytest.fixture
async def worker(platform: Platform) -> AsyncIterator[Worker]:
    running = Worker(platform)
    await running.start()
    yield running
    await running.stop()


async def _browser(
    client: AppClient, push_service: PushServiceSimulator, user: TestUser
) -> FakeBrowser:
    """What the preferences page does: read the key, subscribe, post the subscription."""
    key = (await client.get("/api/v1/notifications/push/key", headers=user.headers)).json()
    browser = push_service.subscribe(key["public_key"])
    stored = await client.post(DEVICES, json=browser.subscription(), headers=user.headers)
    assert stored.status_code == 201, stored.text
    return browser


async def _opt_in(client: AppClient, user: TestUser, category: str, on: bool = True) -> None:
    saved = await client.put(
        PREFS,
        json={"switches": [{"category": category, "channel": "push", "enabled": on}]},
        headers=user.headers,
    )
    assert saved.status_code == 200, saved.text


async def _pushes_of(pool: asyncpg.Pool, user_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        """SELECT m.id, m.sent_at, n.kind FROM push_messages m
           JOIN notifications n ON n.id = m.notification_id WHERE n.user_id = $1""",
        user_id,
    )
    return [dict(r) for r in rows]


async def _until(check: Any, timeout_s: float = 15) -> None:
    for _ in range(int(timeout_s / 0.05)):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


async def test_a_booking_delivers_in_app_email_and_push_according_to_preferences(
    platform: Platform,
    worker: Worker,
    client: AppClient,
    make_user: Any,
    clock: ManualClock,
    push_service: PushServiceSimulator,
) -> None:
    clock.set(NOON)
    mentee, mentor = await make_user(), await make_user()
    mentee_browser = await _browser(client, push_service, mentee)
    mentor_browser = await _browser(client, push_service, mentor)
    await _opt_in(client, mentee, "sessions")  # the mentee wants push for sessions
    await _opt_in(client, mentor, "sessions", on=False)  # the mentor does not
    booked = SessionBooked(
        session_id=uuid.uuid4(),
        booking_id=uuid.uuid4(),
        mentee_id=mentee.id,
        mentor_id=mentor.id,
        starts_at=NOON + timedelta(days=2),
    )
    async with transaction(platform.pool) as conn:
        await emit_event(conn, booked)

    received = await push_service.wait_for(mentee_browser)
    assert received.payload["title"] == "Session booked"
    assert "Sunday, 6 December 2026, 12:00 UTC" in received.payload["body"]
    assert received.payload["link"] == "/sessions"
    assert received.payload["kind"] == "session_booked"
    assert received.claims["sub"].startswith("mailto:")
    assert received.ttl > 0
    inbox = (await client.get("/api/v1/notifications", headers=mentee.headers)).json()
    assert [(i["kind"], i["id"]) for i in inbox["items"]] == [
        ("session_booked", received.payload["id"])
    ]
    await _until(lambda: _has_mail(platform.pool, mentee.id))
    # The mentor got it in the app and by e-mail, and nothing by push: no push was even
    # planned (it would be a row, sent or not), so none is on its way.
    mentor_inbox = (await client.get("/api/v1/notifications", headers=mentor.headers)).json()
    assert [i["kind"] for i in mentor_inbox["items"]] == ["session_booked"]
    assert await mails(platform.pool, mentor.id) == ["notify.session_booked"]
    assert await _pushes_of(platform.pool, mentor.id) == []
    assert push_service.to(mentor_browser) == []
    [pushed] = await _pushes_of(platform.pool, mentee.id)
    await _until(lambda: _sent(platform.pool, pushed["id"]))
    devices = (await client.get(DEVICES, headers=mentee.headers)).json()["devices"]
    assert devices[0]["last_used_at"] is not None


async def _has_mail(pool: asyncpg.Pool, user_id: uuid.UUID) -> bool:
    return await mails(pool, user_id) == ["notify.session_booked"]


async def _sent(pool: asyncpg.Pool, push_id: uuid.UUID) -> bool:
    sent_at = await pool.fetchval("SELECT sent_at FROM push_messages WHERE id = $1", push_id)
    return sent_at is not None


async def test_the_push_simulator_decrypts_what_was_sent_and_a_404_or_410_removes_the_subscription(
    platform: Platform,
    worker: Worker,
    client: AppClient,
    make_user: Any,
    push_service: PushServiceSimulator,
) -> None:
    user = await make_user()
    laptop = await _browser(client, push_service, user)
    phone = await _browser(client, push_service, user)
    tablet = await _browser(client, push_service, user)
    await _opt_in(client, user, "payments")
    push_service.gone.add(push_service.token_of(phone))  # the phone's browser unsubscribed
    push_service.expired.add(push_service.token_of(tablet))  # the tablet's expired
    paid = PaymentCaptured(
        user_id=user.id,
        charge_id=uuid.uuid4(),
        purpose="session",
        reference="S-77",
        amount_minor=250_000,
        currency="KES",
        escrow_id=None,
    )
    async with transaction(platform.pool) as conn:
        await emit_event(conn, paid)

    received = await push_service.wait_for(laptop)
    assert received.payload["title"] == "Payment received: KES 2,500.00"
    assert "S-77" in received.payload["body"]
    assert received.payload["link"] == "/wallet"

    async def both_forgotten() -> bool:
        devices = (await client.get(DEVICES, headers=user.headers)).json()["devices"]
        return len(devices) == 1

    await _until(both_forgotten)
    rows = await platform.pool.fetch(
        "SELECT endpoint FROM push_subscriptions WHERE user_id = $1", user.id
    )
    assert [r["endpoint"] for r in rows] == [laptop.endpoint]
    assert push_service.to(phone) == []
    assert push_service.to(tablet) == []
    answers = {(r[0], r[1]) for r in push_service.refused}
    assert (push_service.token_of(phone), 410) in answers
    assert (push_service.token_of(tablet), 404) in answers


async def test_a_failing_push_service_is_retried_and_a_wrong_key_is_refused(
    platform: Platform, client: AppClient, make_user: Any, push_service: PushServiceSimulator
) -> None:
    """No worker here: the consumer is called as the outbox calls it, so each attempt is
    seen. A 503 and a JWT the push service refuses both raise (the task is retried) and
    change nothing; the attempt after the service recovers sends once."""
    user = await make_user()
    browser = await _browser(client, push_service, user)
    await _opt_in(client, user, "payments")
    token = push_service.token_of(browser)
    await deliver(
        platform,
        [
            event_of(
                platform,
                PaymentCaptured(
                    user_id=user.id,
                    charge_id=uuid.uuid4(),
                    purpose="course",
                    reference="C-1",
                    amount_minor=1000,
                    currency="USD",
                    escrow_id=None,
                ),
            )
        ],
    )
    [planned] = await _pushes_of(platform.pool, user.id)
    send = Event(
        id=uuid.uuid4(),
        topic="push.send",
        payload={"push_id": str(planned["id"])},
        created_at=platform.clock.now(),
    )

    async def attempt() -> None:
        async with transaction(platform.pool) as conn:
            await deliver_push(conn, platform, send)

    push_service.failing.add(token)
    with pytest.raises(ServiceUnavailable):
        await attempt()
    push_service.failing.discard(token)
    # The browser subscribed with another site's key: this service refuses our JWT.
    push_service.browsers[token] = (browser, push_service.browsers[token][1][::-1])
    with pytest.raises(ServiceUnavailable):
        await attempt()
    assert push_service.refused[-1][1] == 403
    assert push_service.to(browser) == []
    assert not await _sent(platform.pool, planned["id"])
    async with platform.pool.acquire() as conn:
        key = await ensure_vapid_keys(conn, platform.settings, platform.clock.now())
    push_service.browsers[token] = (browser, key)

    await attempt()
    await attempt()  # delivered again (a redelivered event): nothing more is sent

    assert len(push_service.to(browser)) == 1
    assert await _sent(platform.pool, planned["id"])


async def test_quiet_hours_hold_a_push_until_they_end(
    platform: Platform,
    client: AppClient,
    make_user: Any,
    clock: ManualClock,
    push_service: PushServiceSimulator,
) -> None:
    clock.set(NOON)
    user = await make_user()
    await _browser(client, push_service, user)
    await _opt_in(client, user, "payments")
    await platform.pool.execute(
        """INSERT INTO notification_quiet_hours (user_id, starts_at, ends_at, updated_at)
           VALUES ($1, $2, $3, now())""",
        user.id,
        time(11, 0),
        time(13, 0),
    )
    captured = PaymentCaptured(
        user_id=user.id,
        charge_id=uuid.uuid4(),
        purpose="course",
        reference="C-2",
        amount_minor=1000,
        currency="USD",
        escrow_id=None,
    )
    await deliver(platform, [event_of(platform, captured)])
    assert await _pushes_of(platform.pool, user.id) == []

    clock.set(NOON + timedelta(hours=1))
    await release_deferred(platform)

    assert [p["kind"] for p in await _pushes_of(platform.pool, user.id)] == ["payment_receipt"]


async def test_vapid_keys_are_made_once_and_the_private_half_is_sealed(
    platform: Platform,
) -> None:
    async def key() -> str:
        async with transaction(platform.pool) as conn:
            return await ensure_vapid_keys(conn, platform.settings, platform.clock.now())

    keys = await asyncio.gather(*(key() for _ in range(8)))
    assert len(set(keys)) == 1
    row = await platform.pool.fetchrow("SELECT * FROM push_vapid_keys")
    assert row is not None
    assert row["public_key"] == keys[0]
    # Sealed: opened only with the key derived from the secret key, and then it is the
    # private half of the public key browsers subscribe with.
    opened = unseal(vapid_key(platform.settings), row["private_key_sealed"], VAPID_AD)
    assert opened not in bytes(row["private_key_sealed"])
    private = serialization.load_der_private_key(opened, password=None)
    assert isinstance(private, ec.EllipticCurvePrivateKey)
    public = private.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    assert b64url(public) == keys[0]


async def test_subscriptions_are_checked_and_each_person_sees_and_removes_only_their_own(
    client: AppClient, make_user: Any, push_service: PushServiceSimulator
) -> None:
    owner, other = await make_user(), await make_user()
    browser = await _browser(client, push_service, owner)
    bad_key = browser.subscription()
    bad_key["keys"]["p256dh"] = "B" * 87  # base64url, but no point on P-256
    refused = await client.post(DEVICES, json=bad_key, headers=owner.headers)
    assert refused.status_code == 422
    assert "keys.p256dh" in refused.text
    short_auth = browser.subscription()
    short_auth["keys"]["auth"] = "c2hvcnQtc2VjcmV0LTE"  # 14 bytes
    refused = await client.post(DEVICES, json=short_auth, headers=owner.headers)
    assert refused.status_code == 422
    assert "keys.auth" in refused.text
    not_url = {**browser.subscription(), "endpoint": "javascript:alert(1)//x"}
    refused = await client.post(DEVICES, json=not_url, headers=owner.headers)
    assert refused.status_code == 422
    assert "endpoint" in refused.text
    anonymous = await client.post(DEVICES, json=browser.subscription())
    assert anonymous.status_code == 401

    [device] = (await client.get(DEVICES, headers=owner.headers)).json()["devices"]
    assert (await client.get(DEVICES, headers=other.headers)).json()["devices"] == []
    theirs = await client.delete(f"{DEVICES}/{device['id']}", headers=other.headers)
    assert theirs.status_code == 404
    other_gone = await client.post(
        "/api/v1/notifications/push/unsubscribe",
        json={"endpoint": browser.endpoint},
        headers=other.headers,
    )
    assert other_gone.status_code == 204
    assert len((await client.get(DEVICES, headers=owner.headers)).json()["devices"]) == 1
    mine = await client.delete(f"{DEVICES}/{device['id']}", headers=owner.headers)
    assert mine.status_code == 204
    assert (await client.get(DEVICES, headers=owner.headers)).json()["devices"] == []


async def test_a_push_still_unsent_after_its_retries_goes_back_on_the_outbox_a_few_times(
    platform: Platform,
    client: AppClient,
    make_user: Any,
    clock: ManualClock,
    push_service: PushServiceSimulator,
) -> None:
    clock.set(NOON)
    user = await make_user()
    await _browser(client, push_service, user)
    await _opt_in(client, user, "payments")
    captured = PaymentCaptured(
        user_id=user.id,
        charge_id=uuid.uuid4(),
        purpose="course",
        reference="C-3",
        amount_minor=1000,
        currency="USD",
        escrow_id=None,
    )
    await deliver(platform, [event_of(platform, captured)])
    [planned] = await _pushes_of(platform.pool, user.id)

    async def sends() -> int:
        count: int = await platform.pool.fetchval(
            "SELECT count(*) FROM outbox WHERE topic = 'push.send' AND payload->>'push_id' = $1",
            str(planned["id"]),
        )
        return count

    assert await sends() == 1
    assert await requeue_unsent_pushes(platform) == 0  # not yet: its own retries run first
    for round_ in range(1, MAX_REQUEUES + 2):
        clock.advance(REQUEUE_AFTER + timedelta(minutes=1))
        expected = 1 if round_ <= MAX_REQUEUES else 0
        assert await requeue_unsent_pushes(platform) == expected
    assert await sends() == 1 + MAX_REQUEUES


async def test_the_service_worker_is_served_from_the_site_root_as_javascript(
    client: AppClient,
) -> None:
    served = await client.get("/sw.js")
    assert served.status_code == 200
    assert served.headers["content-type"].startswith("text/javascript")
    assert served.headers["cache-control"] == "no-cache"
    assert "showNotification" in served.text
    assert "notificationclick" in served.text


async def test_the_vapid_key_pair_is_made_when_the_database_is_first_brought_up(
    platform: Platform, settings: Settings
) -> None:
    """`dracarys migrate` and the embedded start run `upgrade_database`: a new platform has
    its VAPID key before anyone asks for it, and a later start keeps the same one (devices
    subscribed with it)."""
    await platform.pool.execute("DELETE FROM push_vapid_keys")  # as a database never started
    async with platform.pool.acquire() as conn:
        await upgrade_database(conn, settings)
    first = await platform.pool.fetch("SELECT public_key FROM push_vapid_keys")
    assert len(first) == 1
    async with platform.pool.acquire() as conn:
        await upgrade_database(conn, settings)
        assert await ensure_vapid_keys(conn, settings, platform.clock.now()) == first[0][0]
    assert await platform.pool.fetchval("SELECT count(*) FROM push_vapid_keys") == 1


async def test_a_held_push_for_a_notification_read_meanwhile_is_not_sent(
    platform: Platform,
    client: AppClient,
    make_user: Any,
    clock: ManualClock,
    push_service: PushServiceSimulator,
) -> None:
    """Someone who opened the inbox during their quiet hours and read the notification
    gets no push about it when the quiet hours end; an unread one still goes."""
    clock.set(NOON)
    user = await make_user()
    await _browser(client, push_service, user)
    await _opt_in(client, user, "payments")
    await platform.pool.execute(
        """INSERT INTO notification_quiet_hours (user_id, starts_at, ends_at, updated_at)
           VALUES ($1, $2, $3, now())""",
        user.id,
        time(11, 0),
        time(13, 0),
    )
    for reference in ("C-read", "C-unread"):
        captured = PaymentCaptured(
            user_id=user.id,
            charge_id=uuid.uuid4(),
            purpose="course",
            reference=reference,
            amount_minor=1000,
            currency="USD",
            escrow_id=None,
        )
        await deliver(platform, [event_of(platform, captured)])
    inbox = (await client.get("/api/v1/notifications", headers=user.headers)).json()["items"]
    [read] = [item for item in inbox if "C-read" in item["body"]]
    marked = await client.post(
        "/api/v1/notifications/read", json={"ids": [read["id"]]}, headers=user.headers
    )
    assert marked.status_code == 200, marked.text

    clock.set(NOON + timedelta(hours=1))
    assert await release_deferred(platform) == 4  # two pushes and two e-mails

    pushed = await _pushes_of(platform.pool, user.id)
    assert len(pushed) == 1
    states = await platform.pool.fetch(
        """SELECT d.state, n.body LIKE '%C-read%' AS was_read FROM notification_deliveries d
           JOIN notifications n ON n.id = d.notification_id
           WHERE d.user_id = $1 AND d.channel = 'push'""",
        user.id,
    )
    assert sorted((r["was_read"], r["state"]) for r in states) == [
        (False, "sent"),
        (True, "dropped"),
    ]
