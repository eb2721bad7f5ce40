"""Staff alerts from the real consumers: wallet, identity and points events handed to the
`admin.alerts` consumer through `consume_batch`, alerts told to every reviewer and admin
by the `notifications.workflows` consumer (in-app) and `messaging.deliver` (e-mail to the
SMTP simulator); the hourly points check against 14 days of history seeded in SQL, on
the platform's manual clock; acknowledgement in the hash-chained audit log."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import msgspec
import pytest
from taskiq import InMemoryBroker

from dracarys import admin
from dracarys.clock import ManualClock
from dracarys.db import transaction
from dracarys.identity import Role, UserLoggedIn, UserLoginFailed, verify_audit_chain
from dracarys.outbox import Event, EventPayload, consume_batch, emit_event
from dracarys.platform import Platform
from dracarys.points import PointsAwarded
from dracarys.settings import Settings
from dracarys.wallet import ChargebackOpened, PayoutCompleted, PayoutFailed
from tests.admin.conftest import drain
from tests.conftest import make_settings
from tests.messaging.simulators import SmtpSimulator
from tests.support import AppClient, TestUser
from workers.broker import Delivery
from workers.consumers import CONSUMERS
from workers.tasks import handlers_of

MakeUser = Callable[..., Awaitable[TestUser]]
ALERTS = "/api/v1/admin/alerts"
DETECTORS = frozenset({"admin.alerts"})
TOLD = frozenset({"admin.alerts", "notifications.workflows", "messaging.deliver"})


@pytest.fixture(scope="module")
def smtp_server() -> Iterator[SmtpSimulator]:
    server = SmtpSimulator()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def settings(database_url: str, tmp_path: Path, smtp_server: SmtpSimulator) -> Settings:
    return make_settings(database_url, tmp_path, DRACARYS_SMTP_PORT=str(smtp_server.port))


def event_of(payload: EventPayload, at: datetime, event_id: uuid.UUID | None = None) -> Event:
    return Event(
        id=event_id or uuid.uuid4(),
        topic=payload.topic,
        payload=msgspec.to_builtins(payload),
        created_at=at,
    )


async def consume(platform: Platform, events: Sequence[Event]) -> None:
    """Hand events to the `admin.alerts` consumer as the outbox relay would."""
    delivery = Delivery(platform=platform, broker=InMemoryBroker())
    consumer = next(c for c in CONSUMERS if c.name == "admin.alerts")
    handler, batch_handler = handlers_of(consumer, delivery)
    await consume_batch(platform.pool, consumer.name, events, handler, batch_handler=batch_handler)


async def redeliver(platform: Platform, events: Sequence[Event]) -> None:
    """The detectors again on events they already saw, past the consumer's dedupe (a
    second worker that had the batch before `processed_events` said so)."""
    async with transaction(platform.pool) as conn:
        await admin.watch_for_alerts(conn, platform, events)


async def alerts(client: AppClient, staff: TestUser, **query: Any) -> list[dict[str, Any]]:
    response = await client.get(ALERTS, params=query, headers=staff.headers)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()
    return found


async def staff_notices(pool: asyncpg.Pool, user_id: uuid.UUID) -> list[str]:
    rows = await pool.fetch(
        "SELECT title FROM notifications WHERE user_id = $1 AND kind = 'staff_alert'"
        " ORDER BY created_at",
        user_id,
    )
    return [r["title"] for r in rows]


def sign_in(user_id: uuid.UUID, ip: str, device: str, at: datetime) -> Event:
    return event_of(UserLoggedIn(user_id=user_id, source_ip=ip, device=device), at)


# ---- chargebacks and payouts ---------------------------------------------------------------


async def test_a_chargeback_alerts_every_reviewer_and_admin_in_app_and_by_email_once_even_when_redelivered(  # noqa: E501
    client: AppClient,
    pool: asyncpg.Pool,
    platform: Platform,
    make_user: MakeUser,
    smtp_server: SmtpSimulator,
) -> None:
    member = await make_user(kyc_level=1)
    mentee = await make_user()
    reviewer = await make_user(role=Role.REVIEWER)
    admin_user = await make_user(role=Role.ADMIN)
    async with transaction(pool) as conn:
        await emit_event(
            conn,
            ChargebackOpened(
                user_id=member.id,
                chargeback_id="dp_1QxAlert",
                deposit_id=uuid.uuid4(),
                amount_minor=25_000,
                currency="USD",
                held_minor=20_000,
            ),
        )
    await drain(platform, TOLD)

    listed = await alerts(client, reviewer)
    assert [(v["alert"]["kind"], v["alert"]["severity"], v["user_name"]) for v in listed] == [
        ("chargeback", "critical", "Test Mentee")
    ]
    assert listed[0]["alert"]["summary"] == (
        "A cardholder disputed a card deposit of USD 250.00; USD 200.00 of it is held in the "
        "wallet."
    )
    assert listed[0]["alert"]["details"]["chargeback_id"] == "dp_1QxAlert"
    for staff in (reviewer, admin_user):
        assert await staff_notices(pool, staff.id) == ["Alert: Chargeback opened"]
        (mail,) = await smtp_server.wait_for(staff.email)
        assert mail["Subject"] == "Alert: Chargeback opened"
        assert "USD 250.00" in mail.get_content()
        assert "/staff/alerts" in mail.get_content()
    assert await staff_notices(pool, mentee.id) == []
    assert smtp_server.to(mentee.email) == []

    # The same dispute again (Stripe retried its webhook: a second event) and the first
    # event redelivered past the consumer's dedupe: still one alert, one notice each.
    async with transaction(pool) as conn:
        await emit_event(
            conn,
            ChargebackOpened(
                user_id=member.id,
                chargeback_id="dp_1QxAlert",
                deposit_id=uuid.uuid4(),
                amount_minor=25_000,
                currency="USD",
                held_minor=20_000,
            ),
        )
    await drain(platform, TOLD)
    first = await pool.fetchrow(
        "SELECT * FROM outbox WHERE topic = 'chargeback.opened' ORDER BY created_at LIMIT 1"
    )
    assert first is not None
    await redeliver(
        platform,
        [
            Event(
                id=first["id"],
                topic=first["topic"],
                payload=first["payload"],
                created_at=first["created_at"],
            )
        ],
    )
    await drain(platform, TOLD)
    assert len(await alerts(client, reviewer)) == 1
    assert await staff_notices(pool, reviewer.id) == ["Alert: Chargeback opened"]
    assert len(smtp_server.to(reviewer.email)) == 1


async def test_a_failed_payout_alerts_and_a_completed_one_does_not(
    client: AppClient, platform: Platform, make_user: MakeUser, clock: ManualClock
) -> None:
    member = await make_user(kyc_level=2)
    reviewer = await make_user(role=Role.REVIEWER)
    payout_id = uuid.uuid4()
    completed = event_of(
        PayoutCompleted(
            user_id=member.id,
            payout_id=uuid.uuid4(),
            amount_minor=500_000,
            currency="KES",
            method="mpesa",
        ),
        clock.now(),
    )
    failed = event_of(
        PayoutFailed(
            user_id=member.id,
            payout_id=payout_id,
            amount_minor=500_000,
            currency="KES",
            reason="insufficient_funds_in_utility_account",
        ),
        clock.now(),
    )
    await consume(platform, [completed])
    assert await alerts(client, reviewer) == []

    await consume(platform, [failed])
    await redeliver(platform, [failed])
    listed = await alerts(client, reviewer)
    assert [(v["alert"]["kind"], v["alert"]["subject"]) for v in listed] == [
        ("payout_failed", str(member.id))
    ]
    assert listed[0]["alert"]["summary"] == (
        "A payout of KES 5,000.00 failed (insufficient funds in utility account); the money "
        "is back in the wallet."
    )
    assert listed[0]["alert"]["details"]["payout_id"] == str(payout_id)


# ---- sign-ins ------------------------------------------------------------------------------


async def test_a_sign_in_alerts_only_from_a_new_device_on_a_new_network(
    client: AppClient, platform: Platform, make_user: MakeUser, clock: ManualClock
) -> None:
    member = await make_user()
    reviewer = await make_user(role=Role.REVIEWER)
    now = clock.now()

    # The first sign-in seen is the account's baseline, not a stranger.
    await consume(platform, [sign_in(member.id, "198.51.100.7", "Firefox on Windows", now)])
    # A known device from a new network (the laptop on a trip).
    await consume(platform, [sign_in(member.id, "203.0.113.9", "Firefox on Windows", now)])
    # A new device on a known network (a new phone at home: the same /24).
    await consume(platform, [sign_in(member.id, "198.51.100.200", "Safari on iPhone", now)])
    assert await alerts(client, reviewer) == []

    stranger = sign_in(member.id, "192.0.2.44", "Chrome on Linux", now + timedelta(minutes=5))
    await consume(platform, [stranger])
    await redeliver(platform, [stranger])
    listed = await alerts(client, reviewer)
    assert [(v["alert"]["kind"], v["alert"]["user_id"]) for v in listed] == [
        ("suspicious_sign_in", str(member.id))
    ]
    assert listed[0]["alert"]["details"]["device"] == "Chrome on Linux"
    assert listed[0]["alert"]["details"]["network"] == "192.0.2.0/24"

    # Seen now: the same device and network again is not news.
    await consume(platform, [sign_in(member.id, "192.0.2.45", "Chrome on Linux", now)])
    assert len(await alerts(client, reviewer)) == 1


async def test_ipv6_sign_ins_compare_the_48_bit_site_network(
    client: AppClient, platform: Platform, make_user: MakeUser, clock: ManualClock
) -> None:
    member = await make_user()
    reviewer = await make_user(role=Role.REVIEWER)
    now = clock.now()
    await consume(platform, [sign_in(member.id, "2001:db8:aa:1::5", "Firefox on macOS", now)])
    # Another subnet of the same /48 with a new device: the same site.
    await consume(platform, [sign_in(member.id, "2001:db8:aa:ff::9", "Chrome on Android", now)])
    assert await alerts(client, reviewer) == []
    # Another /48, another device.
    await consume(platform, [sign_in(member.id, "2001:db8:bb:1::5", "Edge on Windows", now)])
    listed = await alerts(client, reviewer)
    assert [v["alert"]["details"]["network"] for v in listed] == ["2001:db8:bb::/48"]


async def test_a_burst_of_failed_sign_ins_from_one_network_across_accounts_alerts_once(
    client: AppClient, platform: Platform, make_user: MakeUser, clock: ManualClock
) -> None:
    reviewer = await make_user(role=Role.REVIEWER)
    start = clock.now()

    def failure(ip: str, account: str, minute: float) -> Event:
        return event_of(
            UserLoginFailed(account_key=account, source_ip=ip), start + timedelta(minutes=minute)
        )

    # Someone who forgot their password: ten failures, one account. Not a burst.
    await consume(platform, [failure("198.51.100.7", "owner", n) for n in range(10)])
    # Four accounts tried ten times from another network: under the five accounts.
    await consume(platform, [failure("203.0.113.5", f"acct-{n % 4}", n * 0.5) for n in range(10)])
    # Nine failures across nine accounts: under the ten failures.
    await consume(platform, [failure(f"192.0.2.{n}", f"stuffed-{n}", n * 0.5) for n in range(9)])
    assert await alerts(client, reviewer) == []

    # The tenth from the same /24 (another address in it): a burst.
    tenth = failure("192.0.2.200", "stuffed-9", 5)
    await consume(platform, [tenth])
    await redeliver(platform, [tenth])
    # The burst goes on: the same burst, no second alert.
    await consume(platform, [failure("192.0.2.201", f"stuffed-{n}", 6) for n in range(10, 14)])
    listed = await alerts(client, reviewer)
    assert [(v["alert"]["kind"], v["alert"]["subject"]) for v in listed] == [
        ("failed_login_burst", "192.0.2.0/24")
    ]
    assert listed[0]["alert"]["details"]["failures"] == 10
    assert listed[0]["alert"]["details"]["accounts"] == 10
    assert listed[0]["user_name"] is None

    # Failures spread wider than the window are not a burst either.
    await consume(
        platform,
        [failure("100.64.9.1", f"slow-{n}", n * 20) for n in range(12)],
    )
    assert len(await alerts(client, reviewer)) == 1


# ---- points issuance -----------------------------------------------------------------------


async def seed_hourly_history(pool: asyncpg.Pool, until: datetime, days: int) -> None:
    """`days` days of hourly points before `until`: 100 to 140 an hour, varying by day."""
    await pool.execute(
        """INSERT INTO staff_alert_points_hourly (hour, points, awards)
           SELECT h, 100 + (extract(day FROM h AT TIME ZONE 'UTC')::int % 5) * 10, 4
           FROM generate_series($1::timestamptz - make_interval(days => $2),
                                $1::timestamptz - interval '1 hour', interval '1 hour') AS h""",
        until,
        days,
    )


def award(delta: int, at: datetime) -> Event:
    return event_of(
        PointsAwarded(
            user_id=str(uuid.uuid4()),
            entry_id=str(uuid.uuid4()),
            delta=delta,
            reason_code="lesson_completed",
            balance=max(delta, 0),
        ),
        at,
    )


async def test_the_hourly_points_check_alerts_on_a_spike_above_its_baseline_once_and_not_on_a_normal_hour(  # noqa: E501
    client: AppClient,
    pool: asyncpg.Pool,
    platform: Platform,
    settings: Settings,
    make_user: MakeUser,
    clock: ManualClock,
) -> None:
    reviewer = await make_user(role=Role.REVIEWER)
    nine = datetime(2026, 1, 20, 9, 0, tzinfo=UTC)
    await seed_hourly_history(pool, nine, 15)

    # 09:00-10:00 issues 130 points in awards (a debit is not issuance): a normal hour.
    await consume(
        platform,
        [award(60, nine + timedelta(minutes=3)), award(70, nine + timedelta(minutes=40))],
    )
    await consume(platform, [award(-50, nine + timedelta(minutes=41))])
    clock.set(nine + timedelta(hours=1, minutes=5))
    assert await admin.check_points_issuance(platform) == []
    assert (
        await pool.fetchval("SELECT points FROM staff_alert_points_hourly WHERE hour = $1", nine)
        == 130
    )

    # 10:00-11:00 issues 6,000 (sixty awards of 100): far above 100-140.
    ten = nine + timedelta(hours=1)
    spike = [award(100, ten + timedelta(seconds=30 * n)) for n in range(60)]
    await consume(platform, spike)
    await redeliver(platform, spike[:1])  # an award counted twice would still be a spike
    clock.set(ten + timedelta(hours=1, minutes=5))
    raised = await admin.check_points_issuance(platform)
    assert len(raised) == 1
    # The scheduler ran twice for the hour (a retry, two schedulers): one alert.
    assert await admin.check_points_issuance(platform) == []

    listed = await alerts(client, reviewer.signed_in_again(settings, clock))
    assert [(v["alert"]["kind"], v["alert"]["subject"]) for v in listed] == [
        ("points_issuance", ten.isoformat())
    ]
    details = listed[0]["alert"]["details"]
    assert details["points"] >= 6_000
    assert 100 <= details["baseline_mean"] <= 140
    assert details["baseline_days"] == 14


async def test_the_points_check_stays_silent_without_fourteen_days_of_history(
    pool: asyncpg.Pool, platform: Platform, clock: ManualClock
) -> None:
    nine = datetime(2026, 1, 20, 9, 0, tzinfo=UTC)
    await seed_hourly_history(pool, nine, 5)
    await consume(platform, [award(100, nine + timedelta(seconds=n)) for n in range(60)])
    clock.set(nine + timedelta(hours=1, minutes=5))
    assert await admin.check_points_issuance(platform) == []


# ---- the API -------------------------------------------------------------------------------


async def test_acknowledging_records_who_and_when_in_the_audit_log_and_only_staff_may(
    client: AppClient,
    pool: asyncpg.Pool,
    platform: Platform,
    make_user: MakeUser,
    clock: ManualClock,
) -> None:
    member = await make_user()
    mentee = await make_user()
    reviewer = await make_user(role=Role.REVIEWER)
    admin_user = await make_user(role=Role.ADMIN)
    payout = PayoutFailed(
        user_id=member.id,
        payout_id=uuid.uuid4(),
        amount_minor=1_000,
        currency="USD",
        reason="rejected",
    )
    await consume(platform, [event_of(payout, clock.now())])
    (view,) = await alerts(client, reviewer)
    alert_id = view["alert"]["id"]

    refused = await client.get(ALERTS, headers=mentee.headers)
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    refused = await client.post(f"{ALERTS}/{alert_id}/acknowledge", headers=mentee.headers)
    assert refused.status_code == 403

    missing = await client.post(f"{ALERTS}/{uuid.uuid4()}/acknowledge", headers=reviewer.headers)
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert missing.json()["errors"][0]["field"] == "alert_id"

    clock.advance(timedelta(minutes=7))
    done = await client.post(f"{ALERTS}/{alert_id}/acknowledge", headers=reviewer.headers)
    assert done.status_code == 200, done.text
    assert done.json()["acknowledged_by"] == str(reviewer.id)
    # The admin acknowledging after: it stays the reviewer's, and is logged once.
    again = await client.post(f"{ALERTS}/{alert_id}/acknowledge", headers=admin_user.headers)
    assert again.status_code == 200
    assert again.json()["acknowledged_by"] == str(reviewer.id)

    assert await alerts(client, reviewer, unacknowledged="true") == []
    (view,) = await alerts(client, reviewer)
    assert view["acknowledged_by_name"] == "Test Reviewer"
    assert view["alert"]["acknowledged_at"].startswith(clock.now().isoformat()[:16])
    entries = await pool.fetch(
        "SELECT actor_id, target, details FROM audit_log WHERE action = 'staff_alert.acknowledged'"
    )
    assert [(e["actor_id"], e["target"], e["details"]["kind"]) for e in entries] == [
        (reviewer.id, f"staff_alert:{alert_id}", "payout_failed")
    ]
    assert (await verify_audit_chain(platform)).ok


async def test_alerts_are_listed_newest_first_and_filtered_to_unacknowledged(
    client: AppClient, platform: Platform, make_user: MakeUser, clock: ManualClock
) -> None:
    member = await make_user()
    reviewer = await make_user(role=Role.REVIEWER)
    ids = []
    for n in range(3):
        clock.advance(timedelta(minutes=1))
        payout = PayoutFailed(
            user_id=member.id,
            payout_id=uuid.uuid4(),
            amount_minor=100 * (n + 1),
            currency="USD",
            reason="rejected",
        )
        await consume(platform, [event_of(payout, clock.now())])
        ids.append((await alerts(client, reviewer))[0]["alert"]["id"])
    assert [v["alert"]["id"] for v in await alerts(client, reviewer)] == ids[::-1]
    acked = await client.post(f"{ALERTS}/{ids[1]}/acknowledge", headers=reviewer.headers)
    assert acked.status_code == 200
    pending = await alerts(client, reviewer, unacknowledged="true")
    assert [v["alert"]["id"] for v in pending] == [ids[2], ids[0]]
    bad = await client.get(ALERTS, params={"limit": 0}, headers=reviewer.headers)
    assert bad.status_code == 400 or bad.status_code == 422


async def test_twenty_failed_sign_ins_judged_at_once_from_one_network_raise_one_alert(
    client: AppClient, platform: Platform, make_user: MakeUser, clock: ManualClock
) -> None:
    reviewer = await make_user(role=Role.REVIEWER)
    start = clock.now()
    failures = [
        event_of(
            UserLoginFailed(account_key=f"target-{n}", source_ip=f"198.18.7.{n}"),
            start + timedelta(seconds=n),
        )
        for n in range(20)
    ]
    # Each its own delivery and transaction, all at once (many workers).
    await asyncio.gather(*(consume(platform, [failure]) for failure in failures))
    listed = await alerts(client, reviewer)
    assert [(v["alert"]["kind"], v["alert"]["subject"]) for v in listed] == [
        ("failed_login_burst", "198.18.7.0/24")
    ]
