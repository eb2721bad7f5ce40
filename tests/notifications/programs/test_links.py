"""The links inside drip e-mails, over HTTP: the click token earns the blueprint's 2
points once, for its own member's signed-in session, and a scanner's request earns none;
the open pixel counts for statistics only; RFC 8058 one-click unsubscribe stops marketing
but not security mail (seen at the SMTP simulator); the provider's signed bounce and
complaint webhook suppresses an address, and a bad signature is refused."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg

from dracarys.clock import ManualClock
from dracarys.curriculum import CohortJoined
from dracarys.identity import Role, UserSignedUp
from dracarys.notifications import advance_drips
from dracarys.platform import Platform
from dracarys.settings import Settings
from tests.messaging.simulators import SmtpSimulator
from tests.notifications.programs.conftest import (
    MakeUser,
    click_token,
    deliver,
    drip_mails,
    enrolment,
)
from tests.notifications.programs.simulators import MailProviderSimulator
from tests.support import AppClient, audit_trail
from workers.runtime import Worker

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0"
SCANNER = "Mozilla/5.0 (compatible; Proofpoint URL Defense)"


async def _email_click_points(pool: asyncpg.Pool, user_id: uuid.UUID) -> int:
    total = await pool.fetchval(
        """SELECT coalesce(sum(delta), 0) FROM points_ledger
           WHERE user_id = $1 AND reason_code = 'email_click'""",
        user_id,
    )
    return int(total)


async def _points_settled(pool: asyncpg.Pool) -> None:
    """Until the outbox holds no event a consumer has yet to take (the award included)."""
    for _ in range(200):
        pending = await pool.fetchval(
            """SELECT count(*) FROM outbox e WHERE e.topic = 'email.clicked'
               AND NOT EXISTS (SELECT 1 FROM processed_events p
                               WHERE p.event_id = e.id AND p.consumer = 'points.award')"""
        )
        if pending == 0:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the email.clicked award was not applied")


async def _first_step_sent(platform: Platform, clock: ManualClock, user_id: uuid.UUID) -> str:
    await deliver(platform, UserSignedUp(user_id=user_id))
    clock.advance(timedelta(minutes=61))
    assert await advance_drips(platform) == 1
    return await click_token(platform, user_id, "drip.onboarding.1")


async def test_a_click_token_awards_2_points_once_and_a_scanners_request_none(
    platform: Platform,
    client: AppClient,
    worker: Worker,
    make_user: MakeUser,
    clock: ManualClock,
    pool: asyncpg.Pool,
) -> None:
    clock.set(START)
    member, stranger = await make_user(), await make_user()
    token = await _first_step_sent(platform, clock, member.id)
    link = f"/e/c/{token}"

    # Scanners: a HEAD request, and a GET from a known scanner, are sent on and count nothing.
    probe = await client.head(link, follow_redirects=False)
    assert probe.status_code == 302
    assert probe.headers["location"] == "/onboarding"
    scanned = await client.get(link, headers={"user-agent": SCANNER}, follow_redirects=False)
    assert scanned.status_code == 302
    assert scanned.headers["location"] == "/onboarding"
    member = member.signed_in_again(platform.settings, clock)
    early = await client.post(
        "/api/v1/points/email-clicks/confirm", json={"token": token}, headers=member.headers
    )
    assert early.status_code == 409  # no person followed the link yet
    assert await pool.fetchval("SELECT count(*) FROM drip_sends WHERE clicked_at IS NOT NULL") == 0

    # A person follows it: the landing page confirms for the signed-in member.
    page = await client.get(link, headers={"user-agent": BROWSER})
    assert page.status_code == 200
    assert 'data-target="/onboarding"' in page.text
    stranger = stranger.signed_in_again(platform.settings, clock)
    foreign = await client.post(
        "/api/v1/points/email-clicks/confirm", json={"token": token}, headers=stranger.headers
    )
    assert foreign.status_code == 404  # another member's session earns nothing from it
    for expected in ("confirmed", "already_confirmed", "already_confirmed"):
        confirmed = await client.post(
            "/api/v1/points/email-clicks/confirm", json={"token": token}, headers=member.headers
        )
        assert confirmed.json()["status"] == expected
    await client.get(link, headers={"user-agent": BROWSER})  # a second visit changes nothing
    await _points_settled(pool)
    assert await _email_click_points(pool, member.id) == 2
    assert await _email_click_points(pool, stranger.id) == 0

    # The open pixel: a GIF, counted for statistics only.
    pixel = await client.get(f"/e/o/{token}")
    assert pixel.status_code == 200
    assert pixel.headers["content-type"] == "image/gif"
    assert pixel.content.startswith(b"GIF89a")
    row = await pool.fetchrow("SELECT open_count, clicked_at FROM drip_sends")
    assert row is not None
    assert row["open_count"] == 1
    assert row["clicked_at"] is not None
    assert await _email_click_points(pool, member.id) == 2


async def test_one_click_unsubscribe_stops_marketing_but_not_security_mail(
    platform: Platform,
    client: AppClient,
    worker: Worker,
    make_user: MakeUser,
    clock: ManualClock,
    pool: asyncpg.Pool,
    smtp_server: SmtpSimulator,
) -> None:
    clock.set(START)
    member = await make_user(email=f"drip-{uuid.uuid4().hex[:10]}@example.test")
    await _first_step_sent(platform, clock, member.id)
    [marketing] = await smtp_server.wait_for(member.email)
    assert marketing["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe_url = marketing["List-Unsubscribe"].strip("<>")
    assert unsubscribe_url.startswith(f"{platform.settings.public_url}/e/u/")
    path = unsubscribe_url.removeprefix(platform.settings.public_url)

    page = await client.get(path)  # the confirmation page unsubscribes nobody by itself
    assert page.status_code == 200
    assert ">Unsubscribe</button>" in page.text
    assert await pool.fetchval("SELECT count(*) FROM mail_suppressions") == 0
    tampered = await client.post(path[:-2] + "AA", data={"List-Unsubscribe": "One-Click"})
    assert tampered.status_code == 404
    # RFC 8058: the mail client posts `List-Unsubscribe=One-Click`, no sign-in, no cookie.
    done = await client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200
    assert "You are unsubscribed" in done.text

    # Marketing stops: onboarding ended, and a new program finds the address suppressed.
    await deliver(
        platform,
        CohortJoined(
            user_id=member.id,
            cohort_id=uuid.uuid4(),
            program_id=uuid.uuid4(),
            amount_minor=0,
            currency="KES",
        ),
    )
    clock.advance(timedelta(days=30))
    await advance_drips(platform)
    assert await drip_mails(pool, member.id) == ["drip.onboarding.1"]
    assert (await enrolment(pool, member.id, "onboarding"))["end_reason"] == "unsubscribed"
    assert (await enrolment(pool, member.id, "course_nudges"))["end_reason"] == "suppressed"

    # Security mail still goes out to the same address.
    forgot = await client.post("/api/v1/password/forgot", json={"email": member.email})
    assert forgot.status_code == 202
    mails = await smtp_server.wait_for(member.email, count=2)
    assert [m["List-Unsubscribe"] for m in mails][1] is None
    assert "password" in mails[1]["Subject"].lower()
    assert len([m for m in smtp_server.to(member.email) if m["List-Unsubscribe"]]) == 1


async def test_a_signed_hard_bounce_suppresses_the_address_and_a_bad_signature_is_refused(
    platform: Platform,
    client: AppClient,
    make_user: MakeUser,
    clock: ManualClock,
    pool: asyncpg.Pool,
    mail_provider: MailProviderSimulator,
    settings: Settings,
) -> None:
    clock.set(START)
    bounced, complained, fine = await make_user(), await make_user(), await make_user()
    now = int(clock.now().timestamp())
    body = mail_provider.body("Bounce", bounced.email.upper(), "HardBounce")

    forged = mail_provider.signature(body, now, secret="whsec_not-ours")
    refused = await mail_provider.post(client, body, now, signature=forged)
    assert refused.status_code == 401
    stale = await mail_provider.post(client, body, now - 3600)
    assert stale.status_code == 401
    unsigned = await client.post("/api/v1/webhooks/mail", content=body)
    assert unsigned.status_code == 401
    unreadable = await mail_provider.post(client, b'{"RecordType": "Bounce"}', now)
    assert unreadable.status_code == 422  # signed, but no address: nothing to apply
    assert await pool.fetchval("SELECT count(*) FROM mail_suppressions") == 0

    soft = mail_provider.body("Bounce", fine.email, "SoftBounce")
    assert (await mail_provider.post(client, soft, now)).json() == {"status": "ignored"}
    hard = await mail_provider.post(client, body, now)
    assert hard.status_code == 200
    assert hard.json() == {"status": "suppressed"}
    complaint = mail_provider.body("SpamComplaint", complained.email)
    assert (await mail_provider.post(client, complaint, now)).json() == {"status": "suppressed"}
    reasons = await pool.fetch("SELECT reason FROM mail_suppressions ORDER BY reason")
    assert [r["reason"] for r in reasons] == ["complaint", "hard_bounce"]

    await deliver(platform, *(UserSignedUp(user_id=u.id) for u in (bounced, complained, fine)))
    clock.advance(timedelta(hours=2))
    await advance_drips(platform)
    assert await drip_mails(pool, bounced.id) == []
    assert await drip_mails(pool, complained.id) == []
    assert await drip_mails(pool, fine.id) == ["drip.onboarding.1"]
    assert (await enrolment(pool, bounced.id, "onboarding"))["end_reason"] == "suppressed"
    assert settings.mail_webhook_secret == mail_provider.secret


async def test_admins_see_step_counts_pause_resume_and_edit_steps_with_checked_texts(
    platform: Platform,
    client: AppClient,
    make_user: MakeUser,
    clock: ManualClock,
    pool: asyncpg.Pool,
) -> None:
    clock.set(START)
    admin, member = await make_user(role=Role.ADMIN), await make_user()
    api = "/api/v1/staff/drips"
    assert (await client.get(api, headers=member.headers)).status_code == 403

    paused = await client.post(f"{api}/onboarding/pause", headers=admin.headers)
    assert paused.json()["paused"] is True
    await deliver(platform, UserSignedUp(user_id=member.id))
    clock.advance(timedelta(hours=2))
    assert await advance_drips(platform) == 0  # paused: nothing goes
    admin = admin.signed_in_again(platform.settings, clock)
    await client.post(f"{api}/onboarding/resume", headers=admin.headers)
    assert await advance_drips(platform) == 1  # the due step goes once resumed

    programs = {p["code"]: p for p in (await client.get(api, headers=admin.headers)).json()}
    assert set(programs) == {"onboarding", "course_nudges", "re_engagement"}
    onboarding = programs["onboarding"]
    assert onboarding["enrolments"] == {"running": 1, "finished": 0, "exited": 0}
    assert [(s["position"], s["sent"]) for s in onboarding["steps"]] == [(1, 1), (2, 0), (3, 0)]
    assert "first_booking" in onboarding["exit_conditions"]

    step = {
        "delay_minutes": 30,
        "subject_en": "Hello $name",
        "body_en": "Welcome, $name. Costs $$0.",
        "subject_sw": "Habari $name",
        "body_sw": "Karibu, $name.",
    }
    bad = await client.put(
        f"{api}/onboarding/steps/2", json={**step, "body_en": "Hi $first"}, headers=admin.headers
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "body_en"
    broken = await client.put(
        f"{api}/onboarding/steps/2", json={**step, "subject_sw": "50$"}, headers=admin.headers
    )
    assert broken.json()["errors"][0]["field"] == "subject_sw"
    negative = await client.put(
        f"{api}/onboarding/steps/2", json={**step, "delay_minutes": -1}, headers=admin.headers
    )
    assert negative.status_code in (400, 422)
    assert "delay_minutes" in negative.text
    missing = await client.put(f"{api}/onboarding/steps/9", json=step, headers=admin.headers)
    assert missing.status_code == 404
    saved = await client.put(f"{api}/onboarding/steps/2", json=step, headers=admin.headers)
    assert saved.status_code == 200
    assert saved.json()["steps"][1]["subject_en"] == "Hello $name"
    # Each admin change is audited with its actor; the refused edits are not.
    for action, details in (
        ("drip_program.paused", {}),
        ("drip_program.resumed", {}),
        ("drip_step.edited", {"position": 2, "delay_minutes": 30}),
    ):
        assert await audit_trail(pool, action) == [(admin.id, "drip_program:onboarding", details)]

    # The new, shorter wait applies to the member already waiting for step 2.
    clock.advance(timedelta(minutes=31))
    assert await advance_drips(platform) == 1
    assert await drip_mails(pool, member.id) == ["drip.onboarding.1", "drip.onboarding.2"]
